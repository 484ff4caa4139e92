"""Patient-facing pages in a real browser: the forms a patient submits from a link in a
message, posted by Chromium with the headers Chromium really sends."""

import pytest
from playwright.sync_api import expect

from crm.choices import Channel
from interactions.models import SurveyResponse
from interactions.services import survey_invite
from tests.factories import ContactPointFactory, LanguageFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def survey_link(coordinator):
    patient = PatientFactory(given_name="Lucía", preferred_name="Lucy")
    LanguageFactory(patient=patient, language="es")
    ContactPointFactory(patient=patient, value="+16175550142")
    invitation, token = survey_invite(
        actor=coordinator, patient=patient, channel=Channel.SMS, department="front_desk"
    )
    return invitation, f"/feedback/{token}/"


def test_a_patient_answers_the_survey_in_their_language(screen_for, survey_link):
    invitation, path = survey_link
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
