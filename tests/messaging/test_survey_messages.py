"""Survey invitations go out as messages: by the rule a closed referral triggers and by
staff, through one path, at most once per patient in 30 days; the link works, and is
never stored."""

import datetime as dt

import pytest
import time_machine

from interactions.models import SurveyInvitation
from messaging.models import Message
from messaging.services import dispatch_due
from messaging.surveys import MASKED_LINK
from patients.models import CommunicationConsent
from tests.messaging.conftest import reachable_patient
from tests.referrals.deck import at
from tests.referrals.helpers import walk

pytestmark = pytest.mark.django_db

NOW = at(11, 16, 15)  # 10:00 in New York


def closed(actor, patient, day=0):
    start = NOW + dt.timedelta(days=day)
    with time_machine.travel(start, tick=False):
        return walk(
            actor,
            [
                ("create", start - dt.timedelta(days=9), {}),
                ("send", start - dt.timedelta(days=8), {}),
                ("accept", start - dt.timedelta(days=7), {}),
                (
                    "schedule",
                    start - dt.timedelta(days=6),
                    {"appointment_at": start - dt.timedelta(days=2)},
                ),
                ("seen", start - dt.timedelta(days=2), {}),
                ("close", start, {"report_received_on": start.date()}),
            ],
            patient=patient,
        )


def test_closing_a_referral_texts_a_survey_link_that_opens_the_survey(
    coordinator, client, sms_provider
):
    patient = reachable_patient("es")
    referral = closed(coordinator, patient)
    message = Message.objects.get(rule="survey_invitation")
    assert message.referral == referral and message.purpose == "surveys"
    assert MASKED_LINK in message.body and "/feedback/" not in message.body
    with time_machine.travel(NOW, tick=False):
        dispatch_due()
    [sent] = [s for s in sms_provider.sent if "/feedback/" in s.body]
    assert "¿cómo fue su atención?" in sent.body.lower()
    link = sent.body[sent.body.index("http") :]
    token = link.rstrip("/").rsplit("/", 1)[1]
    # Never stored: not in the message, its context, its events, nor the invitation.
    stored = str(list(Message.objects.values())) + str(list(SurveyInvitation.objects.values()))
    assert token not in stored
    page = client.get(link[link.index("/feedback/") :])
    assert page.status_code == 200 and 'lang="es"' in page.content.decode()


def test_one_survey_per_patient_in_30_days(coordinator, api, sms_provider):
    patient = reachable_patient()
    closed(coordinator, patient)
    closed(coordinator, patient, day=10)
    assert SurveyInvitation.objects.filter(patient=patient).count() == 1
    with time_machine.travel(NOW + dt.timedelta(days=20), tick=False):
        response = api.post(
            "/api/surveys/invitations/",
            {"patient_id": patient.pk, "channel": "sms", "department": "clinical"},
            "json",
        )
    assert response.status_code == 409 and response.json()["code"] == "survey_too_soon"
    closed(coordinator, patient, day=31)
    assert SurveyInvitation.objects.filter(patient=patient).count() == 2


def test_staff_send_a_survey_through_the_same_path(
    api, sms_provider, django_capture_on_commit_callbacks
):
    patient = reachable_patient()
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/surveys/invitations/",
            {"patient_id": patient.pk, "channel": "sms", "department": "clinical"},
            "json",
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["message"]["status"]["value"] == "queued"  # sent once the answer commits
    [sent] = sms_provider.sent
    assert sent.body.endswith(body["link"])
    message = Message.objects.get(pk=body["message"]["id"])
    assert (message.status, message.sender, message.department) == ("sent", "staff", "clinical")


def test_an_opted_out_patient_gets_no_automated_survey(coordinator, sms_provider):
    patient = reachable_patient()
    for channel in ("sms", "email"):
        CommunicationConsent.objects.create(
            patient=patient, channel=channel, purpose="surveys", status="opt_out", source="phone"
        )
    closed(coordinator, patient)
    assert not SurveyInvitation.objects.exists()
    assert not Message.objects.filter(rule="survey_invitation").exists()
