import pytest

from patients.models import Patient
from referrals.models import FollowUp, Referral
from tests.conftest import client_for
from tests.factories import FollowUpFactory, PatientFactory, UserFactory
from tests.referrals.helpers import referral_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def caseload(coordinator):
    patient = PatientFactory(care_coordinator=coordinator)
    return {
        "patient": patient,
        "open": referral_in("accepted", coordinator, patient=patient, coordinator=coordinator),
        "closed": referral_in("closed", coordinator, patient=patient, coordinator=coordinator),
        "task": FollowUpFactory(patient=patient, assigned_to=coordinator, queue=""),
        "done": FollowUpFactory(
            patient=patient,
            assigned_to=coordinator,
            queue="",
            status="done",
            completed_at=patient.created_at,
        ),
        "billing_task": FollowUpFactory(patient=patient, queue="billing"),
    }


def test_reassigning_a_patient_moves_their_open_work(api, caseload, other_coordinator):
    patient = caseload["patient"]
    response = api.post(
        f"/api/patients/{patient.pk}/reassign-coordinator/",
        {"coordinator_id": other_coordinator.pk, "reason": "Caseload balancing"},
        "json",
    )
    assert response.status_code == 200, response.json()
    # follow-ups: the hand-made task and the check-in call the closed referral created
    assert response.json() == {"patients": 1, "referrals": 1, "follow_ups": 2}
    patient.refresh_from_db()
    assert patient.care_coordinator == other_coordinator
    assert Referral.objects.get(pk=caseload["open"].pk).coordinator == other_coordinator
    assert Referral.objects.get(pk=caseload["closed"].pk).coordinator != other_coordinator
    assert FollowUp.objects.get(pk=caseload["task"].pk).assigned_to == other_coordinator
    assert FollowUp.objects.get(pk=caseload["done"].pk).assigned_to != other_coordinator
    assert FollowUp.objects.get(pk=caseload["billing_task"].pk).queue == "billing"
    latest = patient.history.first()
    assert latest.history_change_reason == "handoff: Caseload balancing"


def test_reassigning_needs_a_reason_and_the_right_role(api, billing, caseload, other_coordinator):
    url = f"/api/patients/{caseload['patient'].pk}/reassign-coordinator/"
    assert api.post(url, {"coordinator_id": other_coordinator.pk}, "json").status_code == 400
    denied = client_for(billing).post(
        url, {"coordinator_id": other_coordinator.pk, "reason": "x"}, "json"
    )
    assert denied.status_code == 403
    assert Patient.objects.get(pk=caseload["patient"].pk).care_coordinator_id != (
        other_coordinator.pk
    )


def test_a_departing_coordinator_hands_everything_to_a_colleague(
    api, coordinator, caseload, other_coordinator
):
    second = PatientFactory(care_coordinator=coordinator)
    response = api.post(
        "/api/handoffs/",
        {
            "from_user_id": coordinator.pk,
            "to_user_id": other_coordinator.pk,
            "reason": "Leaving the clinic",
        },
        "json",
    )
    assert response.status_code == 200
    assert response.json() == {"patients": 2, "referrals": 1, "follow_ups": 2}
    assert set(Patient.objects.filter(care_coordinator=other_coordinator)) == {
        caseload["patient"],
        second,
    }
    referral = Referral.objects.get(pk=caseload["open"].pk)
    assert referral.history.first().history_change_reason == "handoff: Leaving the clinic"
    assert referral.history.first().history_user == coordinator


def test_follow_ups_can_go_to_a_queue_instead(api, coordinator, caseload, other_coordinator):
    response = api.post(
        "/api/handoffs/",
        {
            "from_user_id": coordinator.pk,
            "to_user_id": other_coordinator.pk,
            "follow_ups_queue": "care_coordination",
            "reason": "Leave",
        },
        "json",
    )
    assert response.status_code == 200
    task = FollowUp.objects.get(pk=caseload["task"].pk)
    assert (task.assigned_to, task.queue) == (None, "care_coordination")


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"reason": "x"}, "to_user_id"),
        ({"reason": ""}, "reason"),
        ({"reason": "x", "same": 1}, "to_user_id"),
    ],
)
def test_a_handoff_needs_a_target_a_reason_and_another_person(api, coordinator, payload, field):
    body = {"from_user_id": coordinator.pk, **payload}
    if body.pop("same", None):
        body["to_user_id"] = coordinator.pk
    response = api.post("/api/handoffs/", body, "json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_only_coordinators_and_admins_hand_off(front_desk, coordinator):
    response = client_for(front_desk).post(
        "/api/handoffs/",
        {"from_user_id": coordinator.pk, "to_user_id": UserFactory().pk, "reason": "x"},
        "json",
    )
    assert response.status_code == 403
