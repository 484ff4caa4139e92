import datetime

import pytest
from django.utils import timezone

from interactions.models import Interaction
from patients.models import CommunicationConsent
from tests.conftest import client_for
from tests.factories import InteractionFactory, PatientFactory

pytestmark = pytest.mark.django_db


def payload(patient, **extra):
    return {
        "patient_id": patient.pk,
        "channel": "phone",
        "direction": "inbound",
        "department": "billing",
        "topic": "billing",
        "summary": "Asked about a bill.",
        **extra,
    }


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_it_logs_an_interaction_by_the_signed_in_user(api, coordinator):
    patient = PatientFactory()
    response = api.post(
        "/api/interactions/",
        payload(
            patient,
            language="es-mx",
            interpreter_used=True,
            interpreter_language="es",
            outcome="follow_up_needed",
        ),
        "json",
    )
    assert response.status_code == 201, response.json()
    interaction = Interaction.objects.get(pk=response.json()["id"])
    assert interaction.staff == coordinator
    assert interaction.language == "es-MX"
    assert interaction.history.get().history_user == coordinator
    assert response.json()["channel"] == {"value": "phone", "label": "Phone"}


@pytest.mark.parametrize(
    "channel",
    [
        "phone",
        "sms",
        "email",
        "chat",
        "portal",
        "video",
        "in_person",
        "social",
        "letter",
        "chatbot",
    ],
)
def test_every_channel_is_accepted(api, channel):
    response = api.post("/api/interactions/", payload(PatientFactory(), channel=channel), "json")
    assert response.status_code == 201


def test_an_interpreter_language_without_an_interpreter_is_refused(api):
    response = api.post(
        "/api/interactions/", payload(PatientFactory(), interpreter_language="vi"), "json"
    )
    assert response.status_code == 400
    assert "interpreter_language" in response.json()["errors"]


def test_a_future_interaction_is_refused(api):
    later = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    response = api.post("/api/interactions/", payload(PatientFactory(), occurred_at=later), "json")
    assert "occurred_at" in response.json()["errors"]


def test_a_thread_parent_must_be_the_same_patients(api):
    other = InteractionFactory()
    response = api.post(
        "/api/interactions/", payload(PatientFactory(), parent_id=other.pk), "json"
    )
    assert response.status_code == 400 and "parent_id" in response.json()["errors"]


def test_outbound_contact_on_an_opted_out_channel_is_refused(api):
    patient = PatientFactory()
    CommunicationConsent.objects.create(
        patient=patient, channel="sms", purpose="billing", status="opt_out", source="phone"
    )
    response = api.post(
        "/api/interactions/", payload(patient, channel="sms", direction="outbound"), "json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "contact_not_permitted"
    assert not Interaction.objects.exists()
    # Another purpose on the same channel is still fine.
    allowed = payload(patient, channel="sms", direction="outbound", topic="scheduling")
    assert api.post("/api/interactions/", allowed, "json").status_code == 201


def test_do_not_contact_refuses_new_outbound_but_allows_replies(api):
    patient = PatientFactory(do_not_contact=True)
    inbound = InteractionFactory(patient=patient)
    outbound = payload(patient, direction="outbound")
    assert api.post("/api/interactions/", outbound, "json").status_code == 409
    reply = {**outbound, "parent_id": inbound.pk}
    assert api.post("/api/interactions/", reply, "json").status_code == 201


def test_filters_by_patient_channel_direction_department_topic_and_time(api):
    patient = PatientFactory()
    now = timezone.now()
    old_sms = InteractionFactory(
        patient=patient, channel="sms", occurred_at=now - datetime.timedelta(days=10)
    )
    call = InteractionFactory(
        patient=patient,
        channel="phone",
        department="billing",
        topic="billing",
        direction="outbound",
    )
    InteractionFactory(channel="sms")

    assert ids(api.get("/api/interactions/", {"patient": patient.pk})) == {old_sms.pk, call.pk}
    assert ids(api.get(f"/api/interactions/?patient={patient.pk}&channel=sms&channel=email")) == {
        old_sms.pk
    }
    assert ids(api.get("/api/interactions/", {"direction": "outbound"})) == {call.pk}
    assert ids(api.get("/api/interactions/", {"department": "billing", "topic": "billing"})) == {
        call.pk
    }
    since = (now - datetime.timedelta(days=1)).isoformat()
    assert ids(
        api.get("/api/interactions/", {"patient": patient.pk, "occurred_after": since})
    ) == {call.pk}


def test_restricted_interactions_are_hidden_from_billing_pharmacy_and_front_desk(
    coordinator, other_coordinator, clinician, billing, pharmacist, front_desk
):
    patient = PatientFactory(care_coordinator=coordinator)
    secret = InteractionFactory(patient=patient, sensitivity="restricted", topic="test_results")
    normal = InteractionFactory(patient=patient)

    for user in (billing, pharmacist, front_desk, other_coordinator):
        client = client_for(user)
        assert ids(client.get("/api/interactions/")) == {normal.pk}
        assert client.get(f"/api/interactions/{secret.pk}/").status_code == 404
        # Filtering on what is hidden reveals nothing either.
        assert ids(client.get("/api/interactions/", {"sensitivity": "restricted"})) == set()
        assert ids(client.get("/api/interactions/", {"topic": "test_results"})) == set()
    for user in (clinician, coordinator):
        assert ids(client_for(user).get("/api/interactions/")) == {normal.pk, secret.pk}


def test_corrections_keep_the_old_text_in_history(api):
    interaction = InteractionFactory(summary="Old")
    response = api.patch(f"/api/interactions/{interaction.pk}/", {"summary": "New"}, "json")
    assert response.status_code == 200
    assert [h.summary for h in interaction.history.all()] == ["New", "Old"]


def test_the_patient_of_an_interaction_cannot_be_changed(api):
    interaction = InteractionFactory()
    other = PatientFactory()
    api.patch(f"/api/interactions/{interaction.pk}/", {"patient_id": other.pk}, "json")
    interaction.refresh_from_db()
    assert interaction.patient_id != other.pk


def test_the_timeline_uses_keyset_pages_and_a_constant_query_count(api, django_assert_num_queries):
    patient = PatientFactory()
    now = timezone.now()
    for n in range(7):
        InteractionFactory(patient=patient, occurred_at=now - datetime.timedelta(minutes=n))
    with django_assert_num_queries(4):  # roles, patient filter, page, access record
        first = api.get("/api/interactions/", {"patient": patient.pk, "page_size": 5}).json()
    rest = api.get(first["next"]).json()
    seen = [row["id"] for row in first["results"] + rest["results"]]
    assert len(seen) == len(set(seen)) == 7
