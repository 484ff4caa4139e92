"""Messages the workflows send by themselves (registered on their reactions, so a
lower app never imports this one; docs/architecture.md).

Rule (message template)     fires when                              sends
- referral_scheduled        a referral's appointment is booked      at once
                            or moved
- appointment_reminder      an appointment is booked or moved       before it, by its service
                                                                    type's reminders (7 days,
                                                                    2 days, 2 hours...)
- appointment_missed        a no-show is recorded                   at once, in the patient's
                                                                    hours: an offer to book
                                                                    again
- survey_invitation         a referral is closed, or a visit        at once, in the patient's
                            that is not a referral's is fulfilled   hours (at most one survey
                                                                    per patient in 30 days:
                                                                    ``messaging.surveys``)
A reminder for an appointment that was moved or no longer happens is cancelled while
still queued; one that the patient's hours would hold until after the visit is
cancelled at once. Each message's occasion is the appointment and its time, so booking
the same time again sends nothing new. When the contact policy refuses, the message is
recorded as refused and a person gets a follow-up to reach the patient another way.
"""

import datetime

from django.db.models import prefetch_related_objects

from appointments.choices import WILL_HAPPEN, AppointmentAction
from appointments.models import Appointment
from appointments.workflow import APPOINTMENT_WORKFLOW
from crm.choices import Department
from crm.roles import Actor
from messaging.choices import MessageAction, MessageStatus, Sender, Template
from messaging.models import Message
from messaging.services import PageLink, cancel_moot, message_queue
from messaging.surveys import survey_send
from messaging.workflow import MESSAGE_WORKFLOW
from patients.choices import ConsentPurpose, LinkPurpose
from referrals.choices import ReferralStatus
from referrals.models import Referral
from referrals.workflow import REFERRAL_WORKFLOW

# A reminder due this soon after the booking confirmation adds nothing to it.
REMINDER_MIN_GAP = datetime.timedelta(hours=12)
RULES = (Template.APPOINTMENT_REMINDER, Template.REFERRAL_SCHEDULED)
# The steps after which an appointment's queued messages may be moot.
MAY_MOOT = {
    AppointmentAction.RESCHEDULE,
    AppointmentAction.CANCEL,
    AppointmentAction.NO_SHOW,
    AppointmentAction.ARRIVE,
    AppointmentAction.FULFIL,
}
BOOKING = {"create", AppointmentAction.BOOK, AppointmentAction.RESCHEDULE}


@REFERRAL_WORKFLOW.react
def referral_messages(
    referral: Referral, *, actor: Actor, at: datetime.datetime, action: str
) -> None:
    if referral.status == ReferralStatus.CLOSED and action == "close":
        survey_send(
            actor=actor,
            patient=referral.patient,
            referral=referral,
            sender=Sender.RULE,
            rule=Template.SURVEY_INVITATION,
            occasion=f"{referral.pk}:{at.isoformat()}",
            at=at,
        )


def occasion(appointment: Appointment, before: datetime.timedelta | None = None) -> str:
    """Names a message about an appointment at its time: a moved visit is a new occasion."""
    key = f"appointment:{appointment.pk}:{appointment.start.isoformat()}"
    return f"{key}:{int(before.total_seconds())}" if before else key


@APPOINTMENT_WORKFLOW.react
def appointment_messages(
    appointment: Appointment, *, actor: Actor, at: datetime.datetime, action: str
) -> None:
    will_happen = appointment.status in WILL_HAPPEN
    reminders = list(appointment.service_type.reminders.all()) if will_happen else []
    if action in MAY_MOOT:
        current = [occasion(appointment)] + [occasion(appointment, r.before) for r in reminders]
        cancel_moot(
            rules=RULES,
            still_applies=current if will_happen else [],
            of=appointment,
            actor=actor,
            reason=f"The appointment is now {appointment.get_status_display().lower()}.",
        )
    if (
        action == AppointmentAction.FULFIL
        and appointment.referral_id is None  # the referral's report closes its loop
        and appointment.service_type.survey_after_visit
    ):
        survey_send(
            actor=actor,
            patient=appointment.patient,
            sender=Sender.RULE,
            department=Department.CLINICAL,  # the visit is what it rates
            appointment=appointment,
            rule=Template.SURVEY_INVITATION,
            occasion=f"appointment:{appointment.pk}",
            at=at,
        )
    if action == AppointmentAction.NO_SHOW:
        prefetch_related_objects([appointment.patient], "consents", "contact_points", "languages")
        _queue(
            appointment,
            Template.APPOINTMENT_MISSED,
            f"{occasion(appointment)}:missed",
            actor=actor,
            at=at,
        )
    if action not in BOOKING or not will_happen or appointment.start <= at:
        return
    # The messages ask the contact policy about the same patient: load once.
    prefetch_related_objects([appointment.patient], "consents", "contact_points", "languages")
    quiet_until = at
    if appointment.referral_id is not None:
        _queue(appointment, Template.REFERRAL_SCHEDULED, occasion(appointment), actor=actor, at=at)
        quiet_until = at + REMINDER_MIN_GAP
    for reminder in reminders:
        due = appointment.start - reminder.before
        if due > quiet_until:
            _queue(
                appointment,
                Template.APPOINTMENT_REMINDER,
                occasion(appointment, reminder.before),
                actor=actor,
                at=at,
                send_after=due,
            )


def _queue(
    appointment: Appointment,
    template: str,
    key: str,
    *,
    actor: Actor,
    at: datetime.datetime,
    send_after: datetime.datetime | None = None,
) -> None:
    provider = appointment.practitioner or appointment.organization
    values = {"at": appointment.start.isoformat(), "provider": str(provider or "")}
    message = message_queue(
        actor=actor,
        patient=appointment.patient,
        purpose=ConsentPurpose.APPOINTMENT_REMINDERS,
        department=Department.CARE_COORDINATION
        if appointment.referral_id
        else Department.FRONT_DESK,
        template=template,
        values=values,
        sender=Sender.RULE,
        rule=template,
        occasion=key,
        send_after=send_after,
        referral=appointment.referral,
        appointment=appointment,
        link=_answer_page(appointment) if template == Template.APPOINTMENT_REMINDER else None,
        at=at,
    )
    if (
        message.status == MessageStatus.QUEUED
        and template in RULES
        and message.send_after >= appointment.start  # before or never
    ):
        _cancel_late(message)


def _answer_page(appointment: Appointment) -> PageLink:
    """The reminder's page, where the patient answers it, open until the visit ends."""
    return PageLink(LinkPurpose.APPOINTMENT, expires_at=appointment.end, subject_id=appointment.pk)


def _cancel_late(message: Message) -> None:
    MESSAGE_WORKFLOW.apply(
        message,
        MessageAction.CANCEL,
        actor=None,
        reason="The patient's contact hours open only after the appointment.",
    )
