"""The appointment state machine, as a table (docs/domain.md, appointments).

proposed -> booked -> confirmed -> arrived -> fulfilled, with cancelled (from any state
before the visit, with a reason) and no-show (after the start time). A reschedule
moves the time and returns a confirmed appointment to booked: the new time needs its
own confirmation. Guards refuse what the state allows but the clock does not: a no-show
before the start, a check-in or a visit before the day.
"""

import datetime
import zoneinfo

from django.utils import timezone

from appointments.choices import AppointmentAction as A
from appointments.choices import AppointmentStatus as S
from appointments.models import Appointment, AppointmentEvent
from crm.workflow import Input, Transition, Workflow, reason

BEFORE_VISIT = frozenset({S.PROPOSED, S.BOOKED, S.CONFIRMED})


def local_day(appointment: Appointment, at: datetime.datetime) -> datetime.date:
    """The date at ``at`` where the visit is (the clinic's zone when it names none)."""
    zone = (
        zoneinfo.ZoneInfo(appointment.time_zone)
        if appointment.time_zone
        else timezone.get_current_timezone()
    )
    return at.astimezone(zone).date()


def _started(appointment: Appointment, at: datetime.datetime, changes: dict) -> str | None:
    if at < appointment.start:
        return (
            "A no-show can be recorded only after the start time "
            f"({timezone.localtime(appointment.start):%Y-%m-%d %H:%M})."
        )
    return None


def _day_came(appointment: Appointment, at: datetime.datetime, changes: dict) -> str | None:
    day = local_day(appointment, appointment.start)
    if local_day(appointment, at) < day:
        return f"This can be recorded from the day of the appointment ({day:%Y-%m-%d}) on."
    return None


def _moved_target(appointment: Appointment, transition: Transition) -> str:
    return S.PROPOSED if appointment.status == S.PROPOSED else S.BOOKED


APPOINTMENT_WORKFLOW = Workflow(
    name="appointment",
    model=Appointment,
    event_model=AppointmentEvent,
    event_link="appointment",
    changed_at_field="status_changed_at",
    related=("patient", "service_type", "practitioner", "organization", "referral"),
    target_of=_moved_target,
    transitions=[
        Transition(A.BOOK, "Book", frozenset({S.PROPOSED}), S.BOOKED),
        Transition(
            A.RESCHEDULE,
            "Reschedule",
            BEFORE_VISIT,
            None,
            inputs=(
                Input("start", "datetime", "New start"),
                Input("end", "datetime", "New end", required=False),
                reason(False),
            ),
            help="Move the appointment. Its reminders follow the new time; a confirmed "
            "appointment needs confirming again.",
        ),
        Transition(
            A.CONFIRM,
            "Confirm",
            frozenset({S.BOOKED}),
            S.CONFIRMED,
            help="Record that the patient confirmed they will come.",
        ),
        Transition(
            A.ARRIVE,
            "Check in",
            frozenset({S.BOOKED, S.CONFIRMED}),
            S.ARRIVED,
            guard=_day_came,
            help="The patient is here.",
        ),
        Transition(
            A.FULFIL,
            "Record visit",
            frozenset({S.BOOKED, S.CONFIRMED, S.ARRIVED}),
            S.FULFILLED,
            guard=_day_came,
            help="The patient was seen. A survey and, where the service type asks, a "
            "check-in call follow.",
        ),
        Transition(
            A.CANCEL,
            "Cancel",
            BEFORE_VISIT,
            S.CANCELLED,
            inputs=(reason(True, "Who cancelled and why."),),
        ),
        Transition(
            A.NO_SHOW,
            "Record no-show",
            frozenset({S.BOOKED, S.CONFIRMED}),
            S.NO_SHOW,
            guard=_started,
            inputs=(reason(False),),
            help="The patient did not come. A rebooking follow-up is created.",
        ),
    ],
)
