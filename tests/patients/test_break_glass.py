import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.models import AccessRecord
from patients.models import EmergencyAccess
from tests.conftest import client_for
from tests.factories import InteractionFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def restricted(other_coordinator):
    patient = PatientFactory(care_coordinator=other_coordinator)
    return InteractionFactory(patient=patient, sensitivity="restricted", department="clinical")


def visible(client, interaction) -> bool:
    return client.get(f"/api/interactions/{interaction.pk}/").status_code == 200


def test_breaking_the_glass_opens_one_patients_restricted_items_for_a_while(
    coordinator, restricted
):
    client = client_for(coordinator)
    elsewhere = InteractionFactory(sensitivity="restricted")
    assert not visible(client, restricted)
    before = client.get(f"/api/patients/{restricted.patient_id}/360/").json()
    assert before["emergency_access_until"] is None

    response = client.post(
        f"/api/patients/{restricted.patient_id}/break-glass/",
        {"reason": "Patient in the ED, covering for the assigned coordinator"},
        "json",
    )

    assert response.status_code == 201, response.json()
    assert visible(client, restricted)
    assert not visible(client, elsewhere)
    view = client.get(f"/api/patients/{restricted.patient_id}/360/").json()
    assert [i["id"] for i in view["interactions"]] == [restricted.pk]
    # The 360 says until when: the app's banner.
    assert view["emergency_access_until"] == response.json()["expires_at"]
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=61)):
        assert not visible(client, restricted)
        after = client.get(f"/api/patients/{restricted.patient_id}/360/").json()
        assert after["emergency_access_until"] is None


def test_the_grant_is_logged_as_break_glass_and_flagged_for_review(
    coordinator, admin_user, restricted
):
    client_for(coordinator).post(
        f"/api/patients/{restricted.patient_id}/break-glass/",
        {"reason": "Urgent medication question from the ED"},
        "json",
    )
    record = AccessRecord.objects.get(endpoint__endswith="/break-glass/")
    assert (record.purpose, record.patients) == ("break_glass", [restricted.patient_id])

    officer = client_for(admin_user)
    flagged = officer.get("/api/audit/break-glass/", {"reviewed": "false"}).json()["results"]
    assert [(g["user"]["id"], g["patient"]) for g in flagged] == [
        (coordinator.pk, restricted.patient_id)
    ]
    reviewed = officer.post(
        f"/api/audit/break-glass/{flagged[0]['id']}/review/", {"note": "Justified"}, "json"
    )
    assert reviewed.status_code == 200
    assert officer.get("/api/audit/break-glass/", {"reviewed": "false"}).json()["results"] == []
    assert EmergencyAccess.objects.get().reviewed_by == admin_user


def test_a_reason_is_required(coordinator, restricted):
    response = client_for(coordinator).post(
        f"/api/patients/{restricted.patient_id}/break-glass/", {"reason": "need"}, "json"
    )
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    assert not EmergencyAccess.objects.exists()


@pytest.mark.parametrize("persona", ["billing", "pharmacist", "front_desk", "admin_user"])
def test_roles_without_a_clinical_need_cannot_break_the_glass(request, persona, restricted):
    client = client_for(request.getfixturevalue(persona))
    response = client.post(
        f"/api/patients/{restricted.patient_id}/break-glass/",
        {"reason": "I would like to see everything"},
        "json",
    )
    assert response.status_code == 403
    assert not visible(client, restricted)


def test_only_the_privacy_officer_reviews_grants(coordinator):
    assert client_for(coordinator).get("/api/audit/break-glass/").status_code == 403


@pytest.mark.parametrize("value", ["maybe", "yes", ""])
def test_the_review_filter_refuses_what_is_not_a_boolean(admin_user, value):
    response = client_for(admin_user).get("/api/audit/break-glass/", {"reviewed": value})
    assert response.status_code == 400
    assert "reviewed" in response.json()["errors"]


def test_a_coordinator_cannot_take_anothers_patient_to_see_restricted_items(
    coordinator, other_coordinator
):
    patient = PatientFactory(care_coordinator=coordinator)
    restricted = InteractionFactory(patient=patient, sensitivity="restricted")
    intruder = client_for(other_coordinator)
    for attempt in (
        lambda: intruder.patch(
            f"/api/patients/{patient.pk}/", {"care_coordinator_id": other_coordinator.pk}, "json"
        ),
        lambda: intruder.post(
            f"/api/patients/{patient.pk}/reassign-coordinator/",
            {"coordinator_id": other_coordinator.pk, "reason": "Taking over."},
            "json",
        ),
        lambda: intruder.post(
            "/api/handoffs/",
            {"from_user_id": coordinator.pk, "to_user_id": other_coordinator.pk, "reason": "x"},
            "json",
        ),
    ):
        response = attempt()
        assert response.status_code == 403, response.json()
        assert response.json()["code"] == "care_team_denied"
    patient.refresh_from_db()
    assert patient.care_coordinator == coordinator
    assert intruder.get(f"/api/interactions/{restricted.pk}/").status_code == 404


def test_the_coordinator_or_an_administrator_may_hand_the_patient_over(
    coordinator, other_coordinator, admin_user
):
    patient = PatientFactory(care_coordinator=coordinator)
    response = client_for(coordinator).patch(
        f"/api/patients/{patient.pk}/", {"care_coordinator_id": other_coordinator.pk}, "json"
    )
    assert response.status_code == 200
    response = client_for(admin_user).patch(
        f"/api/patients/{patient.pk}/", {"care_coordinator_id": coordinator.pk}, "json"
    )
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.care_coordinator == coordinator


def test_reads_under_a_grant_are_logged_as_break_glass_in_one_insert(
    coordinator, other_coordinator
):
    patient = PatientFactory(care_coordinator=coordinator)
    restricted = InteractionFactory(patient=patient, sensitivity="restricted")
    elsewhere = PatientFactory()
    client = client_for(other_coordinator)
    with CaptureQueriesContext(connection) as before_the_grant:
        client.get(f"/api/patients/{patient.pk}/")
    client.post(
        f"/api/patients/{patient.pk}/break-glass/",
        {"reason": "Patient collapsed in the waiting room."},
        "json",
    )
    assert client.get(f"/api/interactions/{restricted.pk}/").status_code == 200
    assert AccessRecord.objects.order_by("-id").first().purpose == "break_glass"
    assert client.get(f"/api/patients/{elsewhere.pk}/").status_code == 200
    assert AccessRecord.objects.order_by("-id").first().purpose == "treatment"
    with CaptureQueriesContext(connection) as under_the_grant:
        client.get(f"/api/patients/{patient.pk}/")
    assert AccessRecord.objects.order_by("-id").first().purpose == "break_glass"
    [insert] = [q["sql"] for q in under_the_grant if "crm_accessrecord" in q["sql"]]
    assert "patients_emergencyaccess" in insert  # decided inside the INSERT
    assert len(under_the_grant) == len(before_the_grant)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2)):
        assert client.get(f"/api/patients/{patient.pk}/").status_code == 200
    assert AccessRecord.objects.order_by("-id").first().purpose == "treatment"
