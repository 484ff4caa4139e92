"""Reads for appointments (the access policy's "appointments" section)."""

from django.db.models import QuerySet

from appointments.models import Appointment, AppointmentEvent, ServiceType
from crm.access import Section, rows_q
from crm.roles import StaffUser

RELATED = ("patient", "service_type", "practitioner", "organization")


def appointment_list(*, user: StaffUser) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(rows_q(user, Section.APPOINTMENTS))
        .select_related(*RELATED)
        .order_by("start", "id")
    )


def appointment_events(appointment: Appointment) -> QuerySet[AppointmentEvent]:
    return appointment.events.select_related("actor").order_by("occurred_at", "id")


def service_type_list() -> QuerySet[ServiceType]:
    return ServiceType.objects.prefetch_related("reminders").order_by("name", "id")
