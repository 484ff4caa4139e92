import datetime as dt

import pytest
import time_machine

from appointments.models import ServiceType
from appointments.services import appointment_upsert
from messaging.choices import Template
from messaging.models import Message
from messaging.services import message_queue
from patients.links import link_token
from tests.messaging.conftest import reachable_patient, sms_provider  # noqa: F401

NOW = dt.datetime(2026, 11, 16, 15, tzinfo=dt.UTC)  # a Monday, 10:00 in New York
VISIT = dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC)


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


def send_page_link(actor, template, language="es"):
    """A staff member's message linking a new patient (reading ``language``) to one of
    their pages: the patient and the page's path."""
    patient = reachable_patient(language, given_name="Lucía", family_name="Quispe")
    message = message_queue(
        actor=actor,
        patient=patient,
        purpose="care_coordination",
        department="care_coordination",
        template=template,
    )
    page = {Template.PREFERENCES_LINK: "preferences", Template.FEEDBACK_LINK: "tell-us"}
    return patient, f"/{page[template]}/{link_token(message.context['link_nonce'])}/"


@pytest.fixture
def page_link(coordinator):
    """Sends a page's link at ``NOW`` (``send_page_link``)."""

    def send(template, language="es"):
        with time_machine.travel(NOW, tick=False):
            return send_page_link(coordinator, template, language)

    return send
