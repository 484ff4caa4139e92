"""Reads for appointments (the access policy's "appointments" section)."""

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from appointments.choices import UPCOMING, AppointmentStatus
from appointments.models import Appointment, AppointmentEvent, ServiceType
from crm.access import Section, can, rows_q
from crm.roles import StaffUser
from patients.models import Patient

# What an appointment shows besides its row and its patient.
RELATED = ("service_type", "practitioner", "organization")


def appointment_rows(*, user: StaffUser) -> QuerySet[Appointment]:
    """The appointments the user may read, with what they show but their patient."""
    return Appointment.objects.filter(rows_q(user, Section.APPOINTMENTS)).select_related(*RELATED)


def appointment_list(*, user: StaffUser) -> QuerySet[Appointment]:
    return appointment_rows(user=user).select_related("patient").order_by("start", "id")


def appointment_history_sources(
    *, patient_id: int, user: StaffUser
) -> list[tuple[str, QuerySet, tuple[str, ...]]]:
    """The patient's appointments' change history, for the record's history
    (``interactions.selectors.patient_record_history``), when the user may read them."""
    if not can(user, Section.APPOINTMENTS):
        return []
    history = Appointment.history.filter(patient_id=patient_id)
    return [("appointment", history.filter(rows_q(user, Section.APPOINTMENTS)), ())]


def appointment_events(appointment: Appointment) -> QuerySet[AppointmentEvent]:
    return appointment.events.select_related("actor").order_by("occurred_at", "id")


def service_type_list() -> QuerySet[ServiceType]:
    return ServiceType.objects.prefetch_related("reminders").order_by("name", "id")


# How many of each the 360 shows.
UPCOMING_SHOWN = 10
RECENT_SHOWN = 5


def patient_appointments(
    queryset: QuerySet[Appointment], *, patient: Patient, now: datetime.datetime
) -> tuple[list[Appointment], list[Appointment]]:
    """For the 360: the patient's next appointments of ``queryset`` (rows without their
    patient: it is ``patient``), soonest first (those of earlier today still to be
    recorded, and a visit in progress, among them), and the latest past or cancelled
    ones."""
    mine = queryset.filter(patient=patient)
    today = now - datetime.timedelta(hours=12)
    coming = (*UPCOMING, AppointmentStatus.ARRIVED)
    is_upcoming = Q(status__in=coming, start__gte=today)
    is_recent = (Q(start__lt=now) | Q(status=AppointmentStatus.CANCELLED)) & ~is_upcoming
    # One query: the ids of each kind, limited, then their rows.
    upcoming_ids = mine.filter(is_upcoming).order_by("start", "id").values("pk")
    recent_ids = mine.filter(is_recent).order_by("-start", "-id").values("pk")
    shown = list(
        mine.filter(
            Q(pk__in=upcoming_ids[:UPCOMING_SHOWN]) | Q(pk__in=recent_ids[:RECENT_SHOWN])
        ).order_by("start", "id")
    )
    upcoming: list[Appointment] = []
    recent: list[Appointment] = []
    for appointment in shown:  # in the order of start
        appointment.patient = patient
        is_coming = appointment.status in coming and appointment.start >= today
        (upcoming if is_coming else recent).append(appointment)
    return upcoming, recent[::-1]


# The front desk's day shows at most this many (a clinic's day is well under it).
DAY_LIMIT = 1000


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The day in the clinic's time zone, as two instants."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, timezone.make_aware(
        datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min)
    )


def day_list(queryset: QuerySet[Appointment], *, day: datetime.date) -> QuerySet[Appointment]:
    """One day's appointments that were not cancelled, in time order, with what the
    front desk calls the patient with."""
    start, end = day_bounds(day)
    return (
        queryset.filter(start__gte=start, start__lt=end)
        .exclude(status=AppointmentStatus.CANCELLED)
        .prefetch_related("patient__contact_points", "patient__languages")
        .order_by("start", "id")
    )
