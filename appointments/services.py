"""Writes for appointments: book one here, take one pushed in by the clinic's scheduling
system (an idempotent upsert by source and external id), and move one through its
steps (``appointments.workflow``). Every step is an event saying who made it and, for
a person outside the staff, on whose behalf (``by``: the patient, an integration, the
referral it belongs to)."""

import datetime
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from appointments.choices import (
    UPCOMING,
    AppointmentAction,
    AppointmentStatus,
    ChangedBy,
    PatientAnswer,
)
from appointments.models import Appointment, ServiceType
from appointments.workflow import APPOINTMENT_WORKFLOW
from crm.choices import Department
from crm.errors import InvalidInput, StaleUpdate
from crm.roles import Actor
from crm.services import full_clean, lock_for_update, save_attributed, update_record
from referrals.choices import FollowUpKind, FollowUpPriority
from referrals.models import FollowUp
from referrals.rules import Need, create_once

S = AppointmentStatus
A = AppointmentAction
# The step that leads to each status, for a push that names the status it is now in.
STEP_TO: dict[str, str] = {
    S.BOOKED: A.BOOK,
    S.CONFIRMED: A.CONFIRM,
    S.ARRIVED: A.ARRIVE,
    S.FULFILLED: A.FULFIL,
    S.CANCELLED: A.CANCEL,
    S.NO_SHOW: A.NO_SHOW,
}
# What the time stamps each step sets.
STAMPS: dict[str, str] = {A.BOOK: "booked_at", A.CONFIRM: "confirmed_at"}


def _end(
    service_type: ServiceType, start: datetime.datetime, end: datetime.datetime | None
) -> datetime.datetime:
    return end or start + datetime.timedelta(minutes=service_type.minutes)


@transaction.atomic
def appointment_create(
    *,
    actor: Actor,
    patient: Any,
    service_type: ServiceType,
    start: datetime.datetime,
    end: datetime.datetime | None = None,
    status: str = S.BOOKED,
    by: str = ChangedBy.STAFF,
    at: datetime.datetime | None = None,
    **fields: Any,
) -> Appointment:
    """A new appointment. One that arrives already past (fulfilled, a no-show) is
    history being loaded: it is recorded, and nothing is sent or asked for it."""
    at = at or timezone.now()
    appointment = Appointment(
        patient=patient,
        service_type=service_type,
        start=start,
        end=_end(service_type, start, end),
        status=status,
        status_changed_at=at,
        booked_at=at if status in (S.BOOKED, S.CONFIRMED) else None,
        confirmed_at=at if status == S.CONFIRMED else None,
        **fields,
    )
    full_clean(appointment)
    save_attributed(appointment, actor=actor)
    APPOINTMENT_WORKFLOW.start(appointment, actor=actor, at=at, react=True, details={"by": by})
    return appointment


@transaction.atomic
def appointment_upsert(
    *,
    actor: Actor,
    source: str,
    external_id: str,
    expected_version: int | None = None,
    **fields: Any,
) -> tuple[Appointment, bool]:
    """The scheduling system's push, by its ``source`` and ``external_id``: creates the
    appointment the first time, and afterwards applies what changed (a new time is a
    reschedule, a new status the step that leads to it, refused with 409 when the
    appointment cannot take it). Pushing the same thing twice changes nothing. With
    ``expected_version`` (If-Match), only that version of a known appointment changes.
    Returns the appointment and whether it was created."""
    if not external_id:
        raise InvalidInput(
            "An integration names its appointment.", errors={"external_id": ["Required."]}
        )
    existing = Appointment.objects.filter(source=source, external_id=external_id).first()
    if existing is None and expected_version is not None:
        raise StaleUpdate("There is no such appointment to change; it was never sent.")
    if existing is None:
        try:
            with transaction.atomic():  # a savepoint: a concurrent push may win the id
                created = appointment_create(
                    actor=actor,
                    source=source,
                    external_id=external_id,
                    by=ChangedBy.INTEGRATION,
                    **fields,
                )
            return created, True
        except IntegrityError:
            existing = Appointment.objects.get(source=source, external_id=external_id)
    return _apply_push(existing, actor=actor, fields=fields, version=expected_version), False


def _apply_push(
    appointment: Appointment, *, actor: Actor, fields: dict, version: int | None
) -> Appointment:
    appointment = lock_for_update(appointment, version, related=APPOINTMENT_WORKFLOW.related)
    status = fields.pop("status", None)
    start, end = fields.pop("start", appointment.start), fields.pop("end", None)
    end = end or start + (appointment.end - appointment.start)
    fields.pop("patient", None)  # an appointment does not change patients (merge does)
    update_record(appointment, actor=actor, fields=fields, reason="pushed by integration")
    by = {"by": ChangedBy.INTEGRATION}
    if (start, end) != (appointment.start, appointment.end):
        appointment = appointment_reschedule(
            appointment=appointment, actor=actor, start=start, end=end, **by
        )
    if status and status != appointment.status:
        step = STEP_TO.get(status)
        if step is None:  # proposed again: not a step an appointment takes back
            raise APPOINTMENT_WORKFLOW.refuse(appointment, status)
        reason = "Cancelled in the scheduling system." if step == A.CANCEL else ""
        appointment = TRANSITION_SERVICES[step](
            appointment=appointment, actor=actor, reason=reason, **by
        )
    return appointment


@transaction.atomic
def appointment_update(
    *,
    appointment: Appointment,
    actor: Actor,
    expected_version: int | None = None,
    **fields: Any,
) -> Appointment:
    """Change what is not a step: the practitioner, place, department, service type.
    The time moves by :func:`appointment_reschedule`, the status by its steps."""
    appointment = lock_for_update(
        appointment, expected_version, related=APPOINTMENT_WORKFLOW.related
    )
    update_record(appointment, actor=actor, fields=fields)
    return appointment


def _step(action: str) -> Callable[..., Appointment]:
    @transaction.atomic
    def service(
        *,
        appointment: Appointment,
        actor: Actor,
        expected_version: int | None = None,
        at: datetime.datetime | None = None,
        reason: str = "",
        by: str = ChangedBy.STAFF,
        **inputs: Any,
    ) -> Appointment:
        at = at or timezone.now()
        changes: dict[str, Any] = {}
        if action == A.RESCHEDULE:
            start = inputs["start"]
            end = inputs.get("end") or start + (appointment.end - appointment.start)
            if end <= start:
                raise InvalidInput(
                    "The appointment must end after it starts.",
                    errors={"end": ["Must be after the start."]},
                )
            changes = {"start": start, "end": end, "confirmed_at": None}
        if action in STAMPS:
            changes[STAMPS[action]] = at
        details = {"by": by} | ({"start": changes["start"]} if "start" in changes else {})
        return APPOINTMENT_WORKFLOW.apply(
            appointment,
            action,
            actor=actor,
            expected_version=expected_version,
            at=at,
            reason=reason,
            changes=changes,
            details=details,
        )

    service.__name__ = f"appointment_{action}"
    service.__doc__ = (
        APPOINTMENT_WORKFLOW.table[action].help or APPOINTMENT_WORKFLOW.table[action].label
    )
    return service


TRANSITION_SERVICES: dict[str, Callable[..., Appointment]] = {
    action: _step(action) for action in APPOINTMENT_WORKFLOW.table
}
appointment_book = TRANSITION_SERVICES[A.BOOK]
appointment_reschedule = TRANSITION_SERVICES[A.RESCHEDULE]
appointment_confirm = TRANSITION_SERVICES[A.CONFIRM]
appointment_arrive = TRANSITION_SERVICES[A.ARRIVE]
appointment_fulfil = TRANSITION_SERVICES[A.FULFIL]
appointment_cancel = TRANSITION_SERVICES[A.CANCEL]
appointment_no_show = TRANSITION_SERVICES[A.NO_SHOW]


@transaction.atomic
def appointment_answer(
    *,
    appointment: Appointment,
    answer: str,
    said: str,
    key: str,
    at: datetime.datetime,
    note: str = "",
    interaction: Any = None,
    channel: str = "",
) -> FollowUp | None:
    """The patient's own answer about an upcoming appointment (a text, its page), as
    the patient's step: confirming confirms it; cancelling cancels it and asks the
    front desk to offer another time; asking to reschedule asks the front desk to call.
    Returns the front desk's follow-up, if one was asked for. ``key`` names the answer
    (one follow-up per key); ``said`` is the reason recorded on the step. An
    appointment no longer upcoming (another answer or a person got there first) is a
    409, changing nothing."""
    appointment = lock_for_update(appointment, None, related=APPOINTMENT_WORKFLOW.related)
    if appointment.status not in UPCOMING:
        raise APPOINTMENT_WORKFLOW.refuse(appointment, answer)
    by = {"actor": None, "at": at, "by": ChangedBy.PATIENT, "reason": said}
    if answer == PatientAnswer.CONFIRM:
        if appointment.status != S.CONFIRMED:
            appointment_confirm(appointment=appointment, **by)
        return None
    if answer == PatientAnswer.CANCEL:
        appointment_cancel(appointment=appointment, **by)
        title = f"Offer the patient another time: they cancelled the {appointment.what}"
    else:
        title = f"The patient asks to reschedule the {appointment.what}"
    return create_once(
        Need(
            rule=FollowUpKind.REBOOK,
            key=key,
            patient=appointment.patient,
            title=title,
            due_at=at + settings.MESSAGE_ANSWER_WITHIN,
            queue=Department.FRONT_DESK,
            priority=FollowUpPriority.HIGH,
            note=note,
            referral=appointment.referral,
            interaction=interaction,
            contact={"contact_channel": channel} if channel else {},
        ),
        actor=None,
        at=at,
    )
