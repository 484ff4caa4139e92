import datetime

import pytest
from django.utils import timezone

from referrals.models import FollowUp
from tests.factories import FollowUpFactory, InteractionFactory, PatientFactory
from tests.referrals.helpers import referral_in

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_it_creates_a_follow_up_for_a_person(api, coordinator):
    patient = PatientFactory()
    referral = referral_in("seen", coordinator, patient=patient)
    due = timezone.now() + datetime.timedelta(days=1)
    response = api.post(
        "/api/follow-ups/",
        {
            "patient_id": patient.pk,
            "kind": "report_request",
            "title": "Ask for the report",
            "due_at": due.isoformat(),
            "assigned_to_id": coordinator.pk,
            "referral_id": referral.pk,
            "priority": "high",
        },
        "json",
    )
    assert response.status_code == 201, response.json()
    follow_up = FollowUp.objects.get(pk=response.json()["id"])
    assert (follow_up.assigned_to, follow_up.referral, follow_up.created_by) == (
        coordinator,
        referral,
        coordinator,
    )


def test_a_follow_up_needs_a_person_or_a_queue(api):
    patient = PatientFactory()
    response = api.post(
        "/api/follow-ups/",
        {"patient_id": patient.pk, "title": "x", "due_at": timezone.now().isoformat()},
        "json",
    )
    assert response.status_code == 400
    assert "assigned_to_id" in response.json()["errors"]


def test_links_must_belong_to_the_same_patient(api, coordinator):
    other_patients_referral = referral_in("sent", coordinator)
    response = api.post(
        "/api/follow-ups/",
        {
            "patient_id": PatientFactory().pk,
            "title": "x",
            "queue": "billing",
            "due_at": timezone.now().isoformat(),
            "referral_id": other_patients_referral.pk,
        },
        "json",
    )
    assert response.status_code == 400
    assert "referral_id" in response.json()["errors"]


def test_complete_records_outcome_who_and_when(api, coordinator):
    follow_up = FollowUpFactory()
    response = api.post(
        f"/api/follow-ups/{follow_up.pk}/complete/", {"outcome": "Reached patient"}, "json"
    )
    assert response.status_code == 200
    follow_up.refresh_from_db()
    assert follow_up.status == "done" and follow_up.outcome == "Reached patient"
    assert follow_up.completed_by == coordinator and follow_up.completed_at is not None
    assert follow_up.history.first().history_user == coordinator


def test_a_finished_follow_up_cannot_be_completed_again_or_edited(api):
    follow_up = FollowUpFactory()
    api.post(f"/api/follow-ups/{follow_up.pk}/complete/", {}, "json")
    assert api.post(f"/api/follow-ups/{follow_up.pk}/complete/", {}, "json").status_code == 409
    assert (
        api.post(f"/api/follow-ups/{follow_up.pk}/cancel/", {"reason": "x"}, "json").status_code
        == 409
    )
    assert api.patch(f"/api/follow-ups/{follow_up.pk}/", {"title": "y"}, "json").status_code == 409


def test_cancel_needs_a_reason(api):
    follow_up = FollowUpFactory()
    assert api.post(f"/api/follow-ups/{follow_up.pk}/cancel/", {}, "json").status_code == 400
    response = api.post(f"/api/follow-ups/{follow_up.pk}/cancel/", {"reason": "Dup"}, "json")
    assert response.status_code == 200 and response.json()["status"]["value"] == "cancelled"


def test_filters_by_assignee_queue_status_due_range_and_overdue(api, coordinator):
    now = timezone.now()
    mine = FollowUpFactory(
        assigned_to=coordinator, queue="", due_at=now - datetime.timedelta(hours=1)
    )
    billing = FollowUpFactory(queue="billing", due_at=now + datetime.timedelta(days=2))
    done = FollowUpFactory(queue="billing", due_at=now - datetime.timedelta(days=3))
    api.post(f"/api/follow-ups/{done.pk}/complete/", {}, "json")

    assert ids(api.get("/api/follow-ups/", {"assigned_to": coordinator.pk})) == {mine.pk}
    assert ids(api.get("/api/follow-ups/", {"queue": "billing"})) == {billing.pk, done.pk}
    assert ids(api.get("/api/follow-ups/", {"status": "open"})) == {mine.pk, billing.pk}
    assert ids(api.get("/api/follow-ups/", {"overdue": "true"})) == {mine.pk}
    window = {
        "due_after": now.isoformat(),
        "due_before": (now + datetime.timedelta(days=3)).isoformat(),
    }
    assert ids(api.get("/api/follow-ups/", window)) == {billing.pk}
    assert api.get(f"/api/follow-ups/{mine.pk}/").json()["overdue"] is True


def test_the_list_has_a_constant_query_count(api, django_assert_num_queries):
    for _ in range(5):
        FollowUpFactory(interaction=None)
    interaction = InteractionFactory()
    FollowUpFactory(patient=interaction.patient, interaction=interaction)
    with django_assert_num_queries(3):  # roles, page with joins, access record
        assert len(api.get("/api/follow-ups/").json()["results"]) == 6


def test_the_contact_language_reads_as_its_name(api):
    signed = FollowUpFactory(contact_language="ase")
    plain = FollowUpFactory(contact_language="")
    assert api.get(f"/api/follow-ups/{signed.pk}/").json()["contact_language_name"] == (
        "American Sign Language"
    )
    assert api.get(f"/api/follow-ups/{plain.pk}/").json()["contact_language_name"] == ""
