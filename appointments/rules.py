"""What an appointment's steps ask of people: after a no-show, rebook; after a visit
whose service type asks for it, or any visit of a patient the care team flagged high
risk, a check-in call. A referral's appointment leaves
these to the referral's own rules (``referrals.rules``), which it follows."""

import datetime

from appointments.choices import WILL_HAPPEN, AppointmentAction
from appointments.models import Appointment
from appointments.workflow import APPOINTMENT_WORKFLOW
from crm.choices import Department
from crm.periods import next_business_day
from crm.roles import Actor
from crm.services import save_attributed
from patients.choices import ConsentPurpose
from referrals.choices import FollowUpKind, FollowUpPriority, FollowUpStatus
from referrals.models import FollowUp
from referrals.rules import Need, contact_plan, create_once


def rebook(appointment: Appointment, at: datetime.datetime) -> Need:
    contact, note = contact_plan(appointment.patient, ConsentPurpose.APPOINTMENT_REMINDERS, at)
    return Need(
        rule=FollowUpKind.REBOOK,
        key=f"appointment:{appointment.pk}",
        patient=appointment.patient,
        title=f"Rebook the missed {appointment.what}",
        due_at=next_business_day(at),
        priority=FollowUpPriority.HIGH,
        queue=Department.FRONT_DESK,
        contact=contact,
        note=note,
    )


def check_in(appointment: Appointment, at: datetime.datetime) -> Need:
    contact, note = contact_plan(appointment.patient, ConsentPurpose.CARE_COORDINATION, at)
    person = appointment.patient.care_coordinator
    return Need(
        rule=FollowUpKind.POST_VISIT_CHECK_IN,
        key=f"appointment:{appointment.pk}",
        patient=appointment.patient,
        title=f"Check-in call after the {appointment.what}",
        due_at=next_business_day(at),
        contact=contact,
        note=note,
        **({"assigned_to": person} if person else {"queue": Department.CARE_COORDINATION}),
    )


@APPOINTMENT_WORKFLOW.react
def appointment_follow_ups(
    appointment: Appointment, *, actor: Actor, at: datetime.datetime, action: str
) -> None:
    if appointment.referral_id is not None:
        return
    if action == AppointmentAction.NO_SHOW:
        create_once(rebook(appointment, at), actor=actor, at=at)
    elif action == AppointmentAction.FULFIL and (
        appointment.service_type.check_in_call or appointment.patient.high_risk
    ):
        create_once(check_in(appointment, at), actor=actor, at=at)
    elif action == "create" and appointment.status in WILL_HAPPEN:
        # Booked again after a no-show: the rebooking is done.
        for follow_up in FollowUp.objects.filter(
            patient=appointment.patient,
            rule=FollowUpKind.REBOOK,
            rule_key__startswith="appointment:",
            status=FollowUpStatus.OPEN,
            created_at__lte=at,
        ):
            follow_up.finish(
                FollowUpStatus.DONE,
                by=actor,
                outcome=f"Resolved automatically: booked the {appointment.what}.",
                at=at,
            )
            save_attributed(follow_up, actor=actor, reason="rule: resolved")
