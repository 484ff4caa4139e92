import datetime as dt
import hashlib

import pytest
import time_machine
from django.utils import timezone

from interactions.models import SurveyInvitation, SurveyResponse
from patients.models import CommunicationConsent, Patient
from referrals.models import FollowUp
from tests.factories import (
    ContactPointFactory,
    InteractionFactory,
    LanguageFactory,
    PatientFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient():
    patient = PatientFactory(given_name="Lucía", family_name="Quispe", mrn="M424242")
    LanguageFactory(patient=patient, language="es-MX")
    ContactPointFactory(patient=patient, system="sms")
    return patient


def invite(api, patient, **extra):
    interaction = InteractionFactory(patient=patient, department="pharmacy")
    response = api.post(
        "/api/surveys/invitations/",
        {"patient_id": patient.pk, "channel": "sms", "interaction_id": interaction.pk, **extra},
        "json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def path_of(link: str) -> str:
    return link[link.index("/feedback/") :]


def test_the_link_is_given_once_and_only_its_hash_is_kept(api, patient):
    body = invite(api, patient)
    token = path_of(body["link"]).split("/")[2]
    invitation = SurveyInvitation.objects.get(pk=body["id"])
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(SurveyInvitation.objects.values().get(pk=body["id"]))
    assert (invitation.language, invitation.department) == ("es", "pharmacy")
    assert api.get(f"/api/surveys/invitations/{body['id']}/").json()["link"] is None


def test_the_page_shows_the_first_name_only_in_the_patients_language(api, client, patient):
    page = client.get(path_of(invite(api, patient)["link"]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'lang="es"' in html and "Hola Lucía" in html and "¿Cómo lo hicimos?" in html
    assert "Quispe" not in html and "M424242" not in html
    assert page["Cache-Control"].startswith("max-age=0") or "no-cache" in page["Cache-Control"]
    assert page["Referrer-Policy"] == "same-origin"


def test_the_page_is_written_in_chinese_too(api, client):
    patient = PatientFactory(given_name="伟")
    LanguageFactory(patient=patient, language="zh-Hans")
    ContactPointFactory(patient=patient, system="sms")
    html = client.get(path_of(invite(api, patient)["link"])).content.decode()
    assert "伟，您好" in html and 'lang="zh-Hans"' in html


def test_an_answer_is_stored_once_and_the_link_is_spent(api, client, patient):
    url = path_of(invite(api, patient)["link"])
    done = client.post(url, {"nps": "9", "csat": "5", "comment": "Muy amables"})
    assert done.status_code == 200 and "Gracias" in done.content.decode()
    response = SurveyResponse.objects.get()
    assert (response.nps_score, response.csat_score, response.department) == (9, 5, "pharmacy")
    assert response.recorded_by is None and response.patient == patient

    again = client.post(url, {"nps": "0"})
    assert again.status_code == 410 and "ya fue respondida" in again.content.decode()
    assert client.get(url).status_code == 410
    assert SurveyResponse.objects.count() == 1


def test_an_expired_link_is_refused_and_nothing_stored(api, client, patient):
    url = path_of(invite(api, patient)["link"])
    with time_machine.travel(timezone.now() + dt.timedelta(days=15)):
        assert client.get(url).status_code == 410
        response = client.post(url, {"nps": "10"})
    assert response.status_code == 410 and "ha caducado" in response.content.decode()
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize("token", ["forged-token", "x" * 500, "%00"])
def test_a_forged_link_is_refused(client, token):
    response = client.post(f"/feedback/{token}/", {"nps": "10"})
    assert response.status_code == 404
    assert "not valid" in response.content.decode()
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"nps": "11"},
        {"csat": "0"},
        {"nps": "abc"},
        {"nps": "٣"},
        {"nps": "5", "comment": "x" * 2001},
    ],
)
def test_a_bad_answer_is_shown_again_and_nothing_stored(api, client, patient, form):
    url = path_of(invite(api, patient)["link"])
    response = client.post(url, form)
    assert response.status_code == 400
    assert not SurveyResponse.objects.exists()
    assert not SurveyInvitation.objects.get().used_at


def test_a_detractor_gets_a_service_recovery_call_from_the_department(api, client, patient):
    client.post(path_of(invite(api, patient)["link"]), {"nps": "3"})
    [task] = FollowUp.objects.filter(rule="service_recovery")
    assert (task.queue, task.priority, task.patient) == ("pharmacy", "high", patient)
    assert "NPS 3" in task.title


def test_a_promoter_gets_no_call(api, client, patient):
    client.post(path_of(invite(api, patient)["link"]), {"nps": "10", "csat": "5"})
    assert not FollowUp.objects.filter(rule="service_recovery").exists()


def test_staff_record_a_response_taken_by_phone(api, coordinator, patient):
    response = api.post(
        "/api/surveys/responses/",
        {
            "patient_id": patient.pk,
            "channel": "phone",
            "department": "billing",
            "csat_score": 2,
            "comment": "Confusing bill",
        },
        "json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["detractor"] is True
    assert SurveyResponse.objects.get().recorded_by == coordinator
    assert FollowUp.objects.get(rule="service_recovery").queue == "billing"


@pytest.mark.parametrize(
    "payload, field",
    [({}, "nps_score"), ({"nps_score": 11}, "nps_score"), ({"csat_score": 0}, "csat_score")],
)
def test_a_recorded_response_needs_valid_scores(api, patient, payload, field):
    response = api.post(
        "/api/surveys/responses/",
        {"patient_id": patient.pk, "channel": "phone", "department": "billing", **payload},
        "json",
    )
    assert response.status_code == 400 and field in response.json()["errors"]


def test_a_survey_needs_something_to_rate(api, patient):
    response = api.post(
        "/api/surveys/invitations/", {"patient_id": patient.pk, "channel": "sms"}, "json"
    )
    assert response.status_code == 400 and "department" in response.json()["errors"]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"do_not_contact": True}, "asked not to be contacted"),
        ({"consent": {"effective_to": None}}, "opted out of sms for surveys"),
        ({"status": "deceased"}, "deceased"),
    ],
    ids=["do-not-contact", "opted-out", "deceased"],
)
def test_the_contact_policy_decides_whether_a_survey_is_sent(api, patient, change, refusal):
    consent = change.pop("consent", None)
    if consent is not None:
        CommunicationConsent.objects.create(
            patient=patient,
            channel="sms",
            purpose="surveys",
            status="opt_out",
            source="phone",
            **consent,
        )
    Patient.objects.filter(pk=patient.pk).update(**change)
    response = api.post(
        "/api/surveys/invitations/",
        {"patient_id": patient.pk, "channel": "sms", "department": "billing"},
        "json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "contact_not_permitted"
    assert refusal in response.json()["message"]
    assert not SurveyInvitation.objects.exists()


def test_an_expired_survey_opt_out_no_longer_refuses(api, patient):
    CommunicationConsent.objects.create(
        patient=patient,
        channel="sms",
        purpose="surveys",
        status="opt_out",
        source="phone",
        effective_to=timezone.localdate() - dt.timedelta(days=30),
    )
    invite(api, patient)
    assert SurveyInvitation.objects.filter(patient=patient).count() == 1


def test_a_survey_cannot_go_to_a_channel_with_no_address(api):
    patient = PatientFactory()
    response = api.post(
        "/api/surveys/invitations/",
        {"patient_id": patient.pk, "channel": "email", "department": "billing"},
        "json",
    )
    assert response.status_code == 409 and "No usable email address" in response.json()["message"]
    assert not SurveyInvitation.objects.exists()
