"""Messages the referral workflow sends by itself (registered on its reactions, so a
lower app never imports this one; docs/architecture.md).

Rule (message template)              fires when                          sends
- referral_scheduled                 a referral is scheduled or moved    at once
- appointment_reminder               the same                            2 days before
- survey_invitation                  a referral is closed                at once, in the
                                     (at most one survey per patient      patient's hours
                                     in 30 days: ``messaging.surveys``)
A reminder for an appointment that was moved or is no longer scheduled is cancelled
while still queued. Each message's occasion is the appointment, so scheduling again
for the same time sends nothing new. When the contact policy refuses, the message is
recorded as refused and the referral's coordinator gets a follow-up to reach the
patient another way.
"""

import datetime

from django.db.models import prefetch_related_objects

from crm.choices import Department
from crm.roles import Actor
from messaging.choices import Sender, Template
from messaging.services import cancel_moot, message_queue
from messaging.surveys import survey_send
from patients.choices import ConsentPurpose
from referrals.choices import ReferralStatus
from referrals.models import Referral
from referrals.rules import appointment_key
from referrals.workflow import REFERRAL_WORKFLOW

REMIND_BEFORE = datetime.timedelta(days=2)
# A reminder due this soon after the booking confirmation adds nothing to it.
REMINDER_MIN_GAP = datetime.timedelta(hours=12)


def _values(referral: Referral) -> dict:
    provider = referral.receiving_practitioner or referral.receiving_organization
    at = referral.appointment_at
    return {"at": at.isoformat() if at else "", "provider": str(provider or "")}


# The steps that can leave something queued moot: a reschedule, or leaving scheduled.
MAY_MOOT = {"schedule", "no_show", "seen", "cancel"}
RULES = (Template.APPOINTMENT_REMINDER, Template.REFERRAL_SCHEDULED)


@REFERRAL_WORKFLOW.react
def referral_messages(
    referral: Referral, *, actor: Actor, at: datetime.datetime, action: str
) -> None:
    scheduled = referral.status == ReferralStatus.SCHEDULED and referral.appointment_at is not None
    if action in MAY_MOOT:
        cancel_moot(
            rules=RULES,
            still_applies=[appointment_key(referral)] if scheduled else [],
            referral=referral,
            actor=actor,
            reason=f"The referral is now {referral.get_status_display().lower()}.",
        )
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
    if not scheduled:
        return
    appointment = referral.appointment_at
    assert appointment is not None
    # Both messages ask the contact policy about the same patient: load once.
    prefetch_related_objects([referral.patient], "consents", "contact_points", "languages")
    _queue(referral, Template.REFERRAL_SCHEDULED, actor=actor, at=at)
    if appointment - REMIND_BEFORE > at + REMINDER_MIN_GAP:
        _queue(
            referral,
            Template.APPOINTMENT_REMINDER,
            actor=actor,
            at=at,
            send_after=appointment - REMIND_BEFORE,
        )


def _queue(
    referral: Referral,
    template: str,
    *,
    actor: Actor,
    at: datetime.datetime,
    send_after: datetime.datetime | None = None,
) -> None:
    message_queue(
        actor=actor,
        patient=referral.patient,
        purpose=ConsentPurpose.APPOINTMENT_REMINDERS,
        department=Department.CARE_COORDINATION,
        template=template,
        values=_values(referral),
        sender=Sender.RULE,
        rule=template,
        occasion=appointment_key(referral),
        send_after=send_after,
        referral=referral,
        at=at,
    )
