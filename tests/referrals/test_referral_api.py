import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from referrals import services
from referrals.models import Referral, ServiceLevelTarget
from tests.factories import OrganizationFactory, PatientFactory, PractitionerFactory
from tests.referrals.helpers import referral_in

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_it_creates_a_draft_with_the_patients_coordinator(api, coordinator):
    patient = PatientFactory(care_coordinator=coordinator)
    organization = OrganizationFactory()
    response = api.post(
        "/api/referrals/",
        {
            "patient_id": patient.pk,
            "receiving_organization_id": organization.pk,
            "specialty": "Cardiology",
            "priority": "urgent",
            "reason": "Palpitations",
        },
        "json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == {"value": "draft", "label": "Draft"}
    assert body["coordinator"]["id"] == coordinator.pk
    assert body["allowed_actions"] == ["send", "cancel"]
    assert body["fhir"] == {"service_request_status": "draft", "task_status": "draft"}
    referral = Referral.objects.get(pk=body["id"])
    assert referral.events.get().action == "create"
    assert referral.history.get().history_user == coordinator


def test_status_cannot_be_written_directly(api, coordinator):
    referral = referral_in("draft", coordinator)
    response = api.patch(f"/api/referrals/{referral.pk}/", {"status": "closed"}, "json")
    assert response.status_code == 200
    referral.refresh_from_db()
    assert referral.status == "draft"


def test_the_receiver_is_fixed_once_sent(api, coordinator):
    referral = referral_in("sent", coordinator)
    other = OrganizationFactory()
    response = api.patch(
        f"/api/referrals/{referral.pk}/", {"receiving_organization_id": other.pk}, "json"
    )
    assert response.status_code == 409
    assert "receiving_organization_id" in response.json()["errors"]
    assert (
        api.patch(f"/api/referrals/{referral.pk}/", {"priority": "stat"}, "json").status_code
        == 200
    )


def test_a_practitioner_outside_the_receiving_organization_is_refused(api, coordinator):
    referral = referral_in("draft", coordinator)
    stranger = PractitionerFactory()
    response = api.patch(
        f"/api/referrals/{referral.pk}/", {"receiving_practitioner_id": stranger.pk}, "json"
    )
    assert response.status_code == 400
    assert "receiving_practitioner_id" in response.json()["errors"]


def test_filters_by_several_statuses_priority_organization_and_coordinator(
    api, coordinator, other_coordinator
):
    sent = referral_in("sent", coordinator, priority="urgent", coordinator=coordinator)
    accepted = referral_in("accepted", coordinator, coordinator=coordinator)
    closed = referral_in("closed", coordinator, coordinator=other_coordinator)

    assert ids(api.get("/api/referrals/?status=sent&status=accepted")) == {sent.pk, accepted.pk}
    assert ids(api.get("/api/referrals/", {"priority": "urgent"})) == {sent.pk}
    assert ids(
        api.get("/api/referrals/", {"receiving_organization": closed.receiving_organization_id})
    ) == {closed.pk}
    assert ids(api.get("/api/referrals/", {"coordinator": other_coordinator.pk})) == {closed.pk}
    assert ids(api.get("/api/referrals/", {"patient": sent.patient_id})) == {sent.pk}


def test_filters_on_several_values_leave_the_database_no_distinct_to_sort(api, coordinator):
    """DISTINCT would sort every matching row before the page is cut."""
    referral_in("sent", coordinator, coordinator=coordinator)
    with CaptureQueriesContext(connection) as captured:
        response = api.get(
            "/api/referrals/",
            {"status": ["sent", "accepted"], "priority": ["routine", "urgent"]}
            | {"coordinator": [coordinator.pk]},
        )
    assert response.status_code == 200 and len(response.json()["results"]) == 1
    listing = [q["sql"] for q in captured if 'FROM "referrals_referral"' in q["sql"]]
    assert listing and not any("DISTINCT" in sql for sql in listing), listing


def test_an_unknown_status_filter_value_is_a_field_error(api):
    response = api.get("/api/referrals/", {"status": "lost"})
    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_overdue_follows_the_service_levels_per_priority(api, coordinator):
    now = timezone.now()
    stat = referral_in("draft", coordinator, priority="stat")
    services.referral_send(referral=stat, actor=coordinator, at=now - datetime.timedelta(hours=5))
    routine = referral_in("draft", coordinator, priority="routine")
    services.referral_send(
        referral=routine, actor=coordinator, at=now - datetime.timedelta(hours=5)
    )

    assert ids(api.get("/api/referrals/", {"overdue": "true"})) == {stat.pk}
    assert ids(api.get("/api/referrals/", {"overdue": "false"})) == {routine.pk}
    body = api.get(f"/api/referrals/{stat.pk}/").json()
    assert body["next_step"]["step"] == "receiver accepts"
    assert body["next_step"]["overdue"] is True
    due = datetime.datetime.fromisoformat(body["next_step"]["due_at"])
    assert abs(due - (now - datetime.timedelta(hours=1))) < datetime.timedelta(seconds=1)


def test_an_admin_changing_a_target_changes_overdue(api, coordinator):
    referral = referral_in("draft", coordinator, priority="routine")
    services.referral_send(
        referral=referral, actor=coordinator, at=timezone.now() - datetime.timedelta(days=2)
    )
    assert ids(api.get("/api/referrals/", {"overdue": "true"})) == set()
    ServiceLevelTarget.objects.filter(priority="routine").update(
        accept_within=datetime.timedelta(days=1)
    )
    assert ids(api.get("/api/referrals/", {"overdue": "true"})) == {referral.pk}


def test_a_scheduled_referral_is_overdue_once_the_appointment_passed(api, coordinator):
    now = timezone.now()
    past = referral_in("draft", coordinator)
    services.referral_send(referral=past, actor=coordinator, at=now - datetime.timedelta(days=2))
    services.referral_accept(referral=past, actor=coordinator, at=now - datetime.timedelta(days=1))
    services.referral_schedule(
        referral=past, actor=coordinator, appointment_at=now - datetime.timedelta(hours=1)
    )
    future = referral_in("scheduled", coordinator)

    assert ids(api.get("/api/referrals/", {"overdue": "true"})) == {past.pk}
    assert api.get(f"/api/referrals/{future.pk}/").json()["next_step"] == {
        "step": "record the visit outcome",
        "due_at": future.appointment_at.isoformat().replace("+00:00", "Z"),
        "overdue": False,
    }


def test_the_list_has_a_constant_query_count(api, coordinator, django_assert_num_queries):
    for _ in range(5):
        referral_in("scheduled", coordinator)
    # roles, service levels, page of referrals with their joins, access record
    with django_assert_num_queries(4):
        response = api.get("/api/referrals/")
    assert len(response.json()["results"]) == 5


def test_history_shows_field_changes_with_the_user(api, coordinator):
    referral = referral_in("draft", coordinator, priority="routine")
    api.patch(f"/api/referrals/{referral.pk}/", {"priority": "urgent"}, "json")
    entries = api.get(f"/api/referrals/{referral.pk}/history/").json()["results"]
    change = entries[0]
    assert change["user"]["id"] == coordinator.pk
    assert {
        "field": "priority",
        "label": "priority",
        "from": "routine",
        "to": "urgent",
        "from_display": "Routine",
        "to_display": "Urgent",
    } in change["changes"]
    assert change["record_label"] == "referral"


def test_a_declined_referral_names_the_referral_that_replaced_it(api, coordinator):
    declined = referral_in("declined", coordinator)
    assert api.get(f"/api/referrals/{declined.pk}/").json()["replaced_by"] is None
    replacement = api.post(
        "/api/referrals/",
        {
            "patient_id": declined.patient_id,
            "specialty": "Cardiology",
            "reason": "Redirected.",
            "replaces_id": declined.pk,
        },
        "json",
    ).json()
    assert api.get(f"/api/referrals/{declined.pk}/").json()["replaced_by"] == replacement["id"]
    listed = api.get("/api/referrals/", {"patient": declined.patient_id}).json()["results"]
    assert {r["id"]: r["replaced_by"] for r in listed} == {
        declined.pk: replacement["id"],
        replacement["id"]: None,
    }
