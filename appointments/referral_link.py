"""A referral's appointment is an appointment (``source`` "referral"), kept in step
with the referral both ways. Scheduling the referral books (or moves) it; a no-show,
a visit or a cancellation recorded on the referral is recorded on it. The other way,
an appointment moved, fulfilled or missed in the scheduling system moves the referral
(its ``appointment_at`` follows the appointment's start). Each side acts only when the
other is not already there, so a change made on one side stops after one round."""

import datetime

from appointments import services
from appointments.choices import UPCOMING, AppointmentAction, ChangedBy
from appointments.models import Appointment, ServiceType
from appointments.workflow import APPOINTMENT_WORKFLOW
from crm.roles import Actor
from referrals import services as referral_services
from referrals.choices import ReferralAction, ReferralStatus
from referrals.models import Referral
from referrals.workflow import REFERRAL_WORKFLOW

# The service type of a referral's appointment (created by a migration, editable).
REFERRAL_SERVICE_TYPE = "specialist-visit"
BY = ChangedBy.REFERRAL
# The referral's steps its appointment follows.
FOLLOWED = {
    ReferralAction.SCHEDULE,
    ReferralAction.NO_SHOW,
    ReferralAction.SEEN,
    ReferralAction.CANCEL,
}


def _referral_service_type() -> ServiceType:
    """Made by a migration with its reminders; made again, without them, if it was
    deleted: scheduling a referral never fails for want of it."""
    service_type, _ = ServiceType.objects.get_or_create(
        code=REFERRAL_SERVICE_TYPE,
        defaults={"name": "Specialist visit", "survey_after_visit": False},
    )
    return service_type


def upcoming(referral: Referral) -> Appointment | None:
    return (
        referral.appointments.filter(status__in=UPCOMING)
        .select_related(*APPOINTMENT_WORKFLOW.related)
        .order_by("-start", "-id")
        .first()
    )


@REFERRAL_WORKFLOW.react
def referral_to_appointment(
    referral: Referral, *, actor: Actor, at: datetime.datetime, action: str
) -> None:
    if action not in FOLLOWED:
        return
    current = upcoming(referral)
    if action == ReferralAction.SCHEDULE:
        start = referral.appointment_at
        assert start is not None
        if current is None:
            services.appointment_create(
                actor=actor,
                patient=referral.patient,
                service_type=_referral_service_type(),
                start=start,
                practitioner=referral.receiving_practitioner,
                organization=referral.receiving_organization,
                department=referral.specialty,
                source="referral",
                referral=referral,
                at=at,
                by=BY,
            )
        elif current.start != start:
            services.appointment_reschedule(
                appointment=current, actor=actor, start=start, at=at, by=BY
            )
    elif current is None:
        return
    elif action == ReferralAction.NO_SHOW:
        services.appointment_no_show(appointment=current, actor=actor, at=at, by=BY)
    elif action == ReferralAction.SEEN:
        services.appointment_fulfil(appointment=current, actor=actor, at=at, by=BY)
    elif action == ReferralAction.CANCEL:
        services.appointment_cancel(
            appointment=current,
            actor=actor,
            at=at,
            reason="The referral was cancelled.",
            by=BY,
        )


@APPOINTMENT_WORKFLOW.react
def appointment_to_referral(
    appointment: Appointment, *, actor: Actor, at: datetime.datetime, action: str
) -> None:
    referral = appointment.referral
    if referral is None or referral.status != ReferralStatus.SCHEDULED:
        return
    if action == AppointmentAction.RESCHEDULE and referral.appointment_at != appointment.start:
        referral_services.referral_schedule(
            referral=referral,
            actor=actor,
            appointment_at=appointment.start,
            at=at,
            reason="Moved in the scheduling system.",
        )
    elif action == AppointmentAction.FULFIL:
        referral_services.referral_seen(referral=referral, actor=actor, at=at)
    elif action == AppointmentAction.NO_SHOW:
        referral_services.referral_no_show(referral=referral, actor=actor, at=at)
