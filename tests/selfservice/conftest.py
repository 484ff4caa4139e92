import datetime as dt

import pytest
import time_machine
from django.core.cache import cache

from appointments.models import ServiceType
from appointments.services import appointment_upsert
from messaging.models import Message
from patients.links import link_token
from tests.messaging.conftest import reachable_patient, sms_provider  # noqa: F401

NOW = dt.datetime(2026, 11, 16, 15, tzinfo=dt.UTC)  # a Monday, 10:00 in New York
VISIT = dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def fresh_request_counts():
    """Each test starts with no requests counted against its address."""
    cache.clear()


@pytest.fixture
def booked(service_types, coordinator):
    """Makes a patient's appointment two weeks ahead, with its reminders queued;
    returns the appointment and the path of the page its first reminder links to."""

    def book(language="es", **patient_fields):
        patient = reachable_patient(
            language, given_name="Lucía", family_name="Quispe", **patient_fields
        )
        with time_machine.travel(NOW, tick=False):
            appointment, _ = appointment_upsert(
                actor=coordinator,
                source="ehr",
                external_id=f"S{patient.pk}",
                patient=patient,
                service_type=ServiceType.objects.get(code="new-patient"),
                start=VISIT,
                location="Main clinic",
            )
        first = Message.objects.filter(appointment=appointment).order_by("send_after").first()
        return appointment, f"/visit/{link_token(first.context['link_nonce'])}/"

    return book
