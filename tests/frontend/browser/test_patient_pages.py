"""Patient-facing pages in a real browser: the forms a patient submits from a link in a
message, posted by Chromium with the headers Chromium really sends."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import ServiceType
from appointments.services import appointment_upsert
from crm.choices import Channel
from interactions.models import Complaint, SurveyResponse
from interactions.services import survey_invite
from messaging.choices import Template
from messaging.models import Message
from patients.contact import preferred_language
from patients.links import link_token
from patients.models import CommunicationConsent
from referrals.models import FollowUp
from tests.factories import ContactPointFactory, LanguageFactory, PatientFactory
from tests.messaging.conftest import reachable_patient
from tests.selfservice.conftest import send_page_link

pytestmark = pytest.mark.django_db(transaction=True)


def survey_link(coordinator, language="es"):
    patient = PatientFactory(given_name="Lucía", preferred_name="Lucy")
    LanguageFactory(patient=patient, language=language)
    ContactPointFactory(patient=patient, value="+16175550142")
    invitation, token = survey_invite(
        actor=coordinator, patient=patient, channel=Channel.SMS, department="front_desk"
    )
    return invitation, f"/feedback/{token}/"


def test_a_patient_answers_the_survey_in_their_language(screen_for, coordinator):
    invitation, path = survey_link(coordinator)
    screen = screen_for(None)
    page = screen.open(path)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_text("Lucy")).to_be_visible()
    screen.capture_both_sizes("survey")

    # Sent empty first: the page says what is missing and keeps the comment.
    page.get_by_label("decirnos", exact=False).fill("La recepcionista fue muy amable.")
    page.get_by_role("button").click()
    expect(page.get_by_role("alert")).to_contain_text("Responda al menos una pregunta")
    expect(page.locator("textarea")).to_have_value("La recepcionista fue muy amable.")

    page.get_by_label("9", exact=True).check()
    page.get_by_label("5", exact=True).last.check()
    page.get_by_role("button").click()
    expect(page.get_by_text("Gracias. Hemos recibido su respuesta.")).to_be_visible()
    screen.capture("survey-done")

    answer = SurveyResponse.objects.get(invitation=invitation)
    assert (answer.nps_score, answer.csat_score) == (9, 5)
    assert answer.comment == "La recepcionista fue muy amable."

    # The link is single-use: opened again it says so instead of showing the form.
    page = screen.open(path)
    expect(page.locator("form")).to_have_count(0)


def reminded(coordinator, language):
    """A visit in ten days, with its reminders queued: the link the first one carries."""
    patient = reachable_patient(language, given_name="Lucía", family_name="Quispe")
    appointment, _ = appointment_upsert(
        actor=coordinator,
        source="ehr",
        external_id=f"P{patient.pk}",
        patient=patient,
        service_type=ServiceType.objects.get(code="new-patient"),
        start=timezone.now() + datetime.timedelta(days=10),
    )
    first = Message.objects.filter(appointment=appointment).order_by("send_after").first()
    return appointment, f"/visit/{link_token(first.context['link_nonce'])}/"


def test_a_patient_confirms_the_appointment_from_the_reminders_link(screen_for, coordinator):
    appointment, path = reminded(coordinator, "es")
    screen = screen_for(None)
    page = screen.open(path)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_text("Hola, Lucía:")).to_be_visible()
    expect(page.get_by_text("Quispe")).to_have_count(0)
    screen.capture_both_sizes("visit-page")
    page.get_by_role("button", name="Sí, asistiré").click()
    expect(page.get_by_role("status")).to_have_text("Gracias. Su cita está confirmada.")
    screen.capture("visit-confirmed")
    appointment.refresh_from_db()
    assert appointment.status == "confirmed"
    assert appointment.events.last().details["by"] == "patient"
    # Opened again, the page says it is confirmed and offers the other answers.
    page = screen.open(path)
    expect(page.get_by_role("status")).to_have_text("Usted ya confirmó esta cita.")
    expect(page.get_by_role("button", name="Sí, asistiré")).to_have_count(0)


def test_an_arabic_reading_patient_asks_for_another_time_right_to_left(screen_for, coordinator):
    appointment, path = reminded(coordinator, "ar")
    screen = screen_for(None)
    page = screen.open(path)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    screen.capture_both_sizes("visit-page-arabic")
    page.get_by_role("button", name="أحتاج إلى موعد آخر").click()
    expect(page.get_by_role("status")).to_contain_text("ستتصل بك العيادة")
    asked = FollowUp.objects.get(patient=appointment.patient, queue="front_desk")
    assert "asks to reschedule" in asked.title


def test_a_chinese_reading_patient_answers_the_survey(screen_for, coordinator):
    invitation, path = survey_link(coordinator, "zh-Hant")
    screen = screen_for(None)
    page = screen.open(path)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    screen.capture("survey-traditional-chinese")
    page.get_by_label("7", exact=True).check()
    page.get_by_role("button").click()
    expect(page.get_by_role("status")).to_be_visible()
    assert SurveyResponse.objects.get(invitation=invitation).nps_score == 7


def test_a_patient_cancels_the_appointment_from_the_reminders_link(screen_for, coordinator):
    appointment, path = reminded(coordinator, "es")
    screen = screen_for(None)
    page = screen.open(path)
    page.get_by_role("button", name="Cancelar la cita").click()
    expect(page.get_by_role("status")).to_contain_text("Su cita está cancelada")
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert FollowUp.objects.filter(patient=appointment.patient, queue="front_desk").exists()


def test_a_patient_chooses_how_and_when_the_clinic_contacts_them(screen_for, coordinator):
    patient, path = send_page_link(coordinator, Template.PREFERENCES_LINK, "es")
    screen = screen_for(None)
    page = screen.open(path)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_text("Quispe")).to_have_count(0)
    screen.capture_both_sizes("preferences")

    news = page.get_by_role("group", name="Noticias de la clínica")
    news.get_by_label("Mensajes de texto").uncheck()
    news.get_by_label("Correo electrónico").uncheck()
    page.get_by_label("Idioma", exact=False).select_option("vi")
    page.get_by_role("group", name="¿Cómo prefiere", exact=False).get_by_label(
        "Correo electrónico"
    ).check()
    page.get_by_label("Solo entre", exact=False).check()
    page.get_by_label("Desde").fill("09:00")
    page.get_by_label("Hasta").fill("17:30")
    page.get_by_role("button", name="Guardar mis opciones").click()

    # The page answers in the language just chosen, with the choices as saved.
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("status")).to_be_visible()
    screen.capture("preferences-saved")
    expect(page.get_by_label("Đến", exact=False)).to_have_value("17:30")
    consents = CommunicationConsent.objects.filter(patient=patient)
    assert {(c.channel, c.purpose, c.status, c.source) for c in consents} == {
        ("sms", "marketing", "opt_out", "self_service"),
        ("email", "marketing", "opt_out", "self_service"),
    }
    patient.refresh_from_db()
    assert preferred_language(patient).language == "vi"
    assert (patient.preferred_channel, patient.contact_window_start) == (
        "email",
        datetime.time(9),
    )


def test_a_patient_files_a_complaint_and_gets_its_reference(screen_for, coordinator):
    patient, path = send_page_link(coordinator, Template.FEEDBACK_LINK, "ru")
    screen = screen_for(None)
    page = screen.open(path)
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    screen.capture_both_sizes("tell-us")
    page.get_by_role("radio").first.check()  # a complaint
    page.locator("select").select_option("billing")
    page.locator("textarea").fill("Мне дважды выставили счёт за один визит.")
    page.get_by_role("button").click()

    complaint = Complaint.objects.get(patient=patient)
    expect(page.get_by_role("status")).to_contain_text(str(complaint.pk))
    screen.capture("tell-us-done")
    assert (complaint.category, complaint.queue, complaint.status) == ("billing", "billing", "new")
    assert Message.objects.filter(patient=patient, template=Template.COMPLAINT_RECEIVED).exists()
    # The link takes one message: opened again, it has no form.
    page = screen.open(path)
    expect(page.locator("form")).to_have_count(0)
