"""Every endpoint x every role x (own patient, another's patient, restricted item): the
status the access policy (docs/domain.md) calls for, written out by hand. No 2xx
where the policy says no (OWASP API1 object level, API3 property level)."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from appointments.models import ServiceType
from appointments.services import appointment_create
from crm.roles import Role
from tests.conftest import client_for
from tests.factories import (
    FollowUpFactory,
    InteractionFactory,
    OrganizationFactory,
    PatientFactory,
    UserFactory,
)
from tests.referrals.helpers import referral_in

pytestmark = pytest.mark.django_db

ROLES = ["coordinator", "clinician", "billing", "pharmacy", "front_desk", "admin"]


@pytest.fixture
def world():
    users = {role: UserFactory(username=role, roles=[role]) for role in ROLES}
    other_coordinator = UserFactory(roles=[Role.COORDINATOR])
    own = PatientFactory(care_coordinator=users["coordinator"])
    other = PatientFactory(care_coordinator=other_coordinator)
    coordinator = users["coordinator"]
    from interactions import services as experience

    def complaint(department):
        return experience.complaint_create(
            actor=coordinator,
            patient=own,
            channel="phone",
            category="billing",
            department=department,
            description="Charged twice.",
        )

    return {
        "users": users,
        "own": own,
        "other": other,
        "other_coordinator": other_coordinator,
        "restricted_own": InteractionFactory(
            patient=own, sensitivity="restricted", department="clinical", summary="Therapy note"
        ),
        "restricted_other": InteractionFactory(
            patient=other, sensitivity="restricted", department="clinical"
        ),
        "sent": referral_in("sent", coordinator, patient=own, coordinator=coordinator),
        "billing_task": FollowUpFactory(patient=own, queue="billing"),
        "billing_complaint": complaint("billing"),
        "front_complaint": complaint("front_desk"),
        "appointment": appointment_create(
            actor=coordinator,
            patient=own,
            service_type=ServiceType.objects.get(code="follow-up"),
            start=timezone.now() + dt.timedelta(days=3),
        ),
    }


def interaction_body(w, **extra):
    return {
        "patient_id": w["own"].pk,
        "channel": "phone",
        "direction": "inbound",
        "department": "billing",
        "topic": "billing",
        "summary": "Asked about a bill",
        **extra,
    }


PERIOD = "start=2026-01-01&end=2026-12-31"

# name: (method, url, body, {role: status})  -- co cl bi ph fd ad
CASES = {
    "read a patient": (
        "get",
        lambda w: f"/api/patients/{w['own'].pk}/",
        None,
        [200, 200, 200, 200, 200, 200],
    ),
    "read another coordinator's patient": (
        "get",
        lambda w: f"/api/patients/{w['other'].pk}/",
        None,
        [200, 200, 200, 200, 200, 200],
    ),
    "read the 360": (
        "get",
        lambda w: f"/api/patients/{w['own'].pk}/360/",
        None,
        [200, 200, 200, 200, 200, 200],
    ),
    "read a patient's history": (
        "get",
        lambda w: f"/api/patients/{w['own'].pk}/history/",
        None,
        [200, 200, 403, 403, 403, 200],
    ),
    "list referrals": ("get", lambda w: "/api/referrals/", None, [200, 200, 403, 403, 200, 200]),
    "read a referral's history": (
        "get",
        lambda w: f"/api/referrals/{w['sent'].pk}/history/",
        None,
        [200, 200, 403, 403, 403, 200],
    ),
    "read a restricted interaction of my patient": (
        "get",
        lambda w: f"/api/interactions/{w['restricted_own'].pk}/",
        None,
        [200, 200, 404, 404, 404, 404],
    ),
    "read a restricted interaction of another's patient": (
        "get",
        lambda w: f"/api/interactions/{w['restricted_other'].pk}/",
        None,
        [404, 200, 404, 404, 404, 404],
    ),
    "read a billing-queue follow-up": (
        "get",
        lambda w: f"/api/follow-ups/{w['billing_task'].pk}/",
        None,
        [200, 200, 200, 404, 200, 200],
    ),
    "read a billing complaint": (
        "get",
        lambda w: f"/api/complaints/{w['billing_complaint'].pk}/",
        None,
        [200, 200, 200, 404, 200, 200],
    ),
    "read a front-desk complaint": (
        "get",
        lambda w: f"/api/complaints/{w['front_complaint'].pk}/",
        None,
        [200, 200, 404, 404, 200, 200],
    ),
    "referral worklist": (
        "get",
        lambda w: "/api/worklists/referrals/",
        None,
        [200, 200, 403, 403, 200, 200],
    ),
    "follow-up worklist": (
        "get",
        lambda w: "/api/worklists/follow-ups/",
        None,
        [200, 200, 200, 200, 200, 200],
    ),
    "complaints worklist": (
        "get",
        lambda w: "/api/worklists/complaints/",
        None,
        [200, 200, 200, 200, 200, 200],
    ),
    "referral metrics": (
        "get",
        lambda w: f"/api/metrics/referrals/?{PERIOD}",
        None,
        [200, 200, 403, 403, 200, 200],
    ),
    "experience metrics": (
        "get",
        lambda w: f"/api/metrics/experience/?{PERIOD}",
        None,
        [200, 200, 403, 403, 200, 200],
    ),
    "create a patient": (
        "post",
        lambda w: "/api/patients/",
        lambda w: {"family_name": "Doe", "given_name": "J", "birth_date": "1990-01-01"},
        [201, 403, 403, 403, 201, 403],
    ),
    "change a patient's name": (
        "patch",
        lambda w: f"/api/patients/{w['own'].pk}/",
        lambda w: {"preferred_name": "Jo"},
        [200, 403, 403, 403, 200, 403],
    ),
    "change a patient's coordinator": (
        "patch",
        lambda w: f"/api/patients/{w['own'].pk}/",
        lambda w: {"care_coordinator_id": w["other_coordinator"].pk},
        [200, 403, 403, 403, 403, 200],
    ),
    "log a billing interaction": (
        "post",
        lambda w: "/api/interactions/",
        interaction_body,
        [201, 201, 201, 403, 201, 403],
    ),
    "log a restricted interaction for my patient": (
        "post",
        lambda w: "/api/interactions/",
        lambda w: interaction_body(
            w, department="clinical", topic="test_results", sensitivity="restricted"
        ),
        [201, 201, 403, 403, 403, 403],
    ),
    "log a restricted interaction for another's patient": (
        "post",
        lambda w: "/api/interactions/",
        lambda w: interaction_body(
            w, patient_id=w["other"].pk, department="clinical", sensitivity="restricted"
        ),
        [403, 201, 403, 403, 403, 403],
    ),
    "create a referral": (
        "post",
        lambda w: "/api/referrals/",
        lambda w: {
            "patient_id": w["own"].pk,
            "specialty": "Cardiology",
            "reason": "x",
            "receiving_organization_id": OrganizationFactory().pk,
        },
        [201, 201, 403, 403, 403, 403],
    ),
    "list appointments": (
        "get",
        lambda w: "/api/appointments/",
        None,
        [200, 200, 200, 403, 200, 200],
    ),
    "book an appointment": (
        "post",
        lambda w: "/api/appointments/",
        lambda w: {
            "patient_id": w["own"].pk,
            "service_type": "follow-up",
            "start": (timezone.now() + dt.timedelta(days=5)).isoformat(),
        },
        [201, 201, 403, 403, 201, 403],
    ),
    "confirm an appointment": (
        "post",
        lambda w: f"/api/appointments/{w['appointment'].pk}/confirm/",
        lambda w: {},
        [200, 200, 403, 403, 200, 403],
    ),
    "accept a referral": (
        "post",
        lambda w: f"/api/referrals/{w['sent'].pk}/accept/",
        lambda w: {},
        [200, 200, 403, 403, 403, 403],
    ),
    "complete a billing-queue follow-up": (
        "post",
        lambda w: f"/api/follow-ups/{w['billing_task'].pk}/complete/",
        lambda w: {},
        [200, 200, 200, 404, 200, 403],
    ),
    "create a follow-up for the pharmacy queue": (
        "post",
        lambda w: "/api/follow-ups/",
        lambda w: {
            "patient_id": w["own"].pk,
            "title": "Refill",
            "queue": "pharmacy",
            "due_at": (timezone.now() + dt.timedelta(days=1)).isoformat(),
        },
        [201, 201, 403, 201, 201, 403],
    ),
    "open a complaint": (
        "post",
        lambda w: "/api/complaints/",
        lambda w: {
            "patient_id": w["own"].pk,
            "channel": "phone",
            "category": "wait_time",
            "department": "front_desk",
            "description": "Long wait",
        },
        [201, 403, 403, 403, 201, 403],
    ),
    "hand off a coordinator's work": (
        "post",
        lambda w: "/api/handoffs/",
        lambda w: {
            "from_user_id": w["other_coordinator"].pk,
            "to_user_id": w["users"]["coordinator"].pk,
            "reason": "Leave",
        },
        # Only the departing colleague or an administrator: the coordinator taking
        # another's patients would gain their restricted items.
        [403, 403, 403, 403, 403, 200],
    ),
}


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(world, role):
    """Each case runs in a savepoint that is rolled back, so every case starts from the
    same world; all mismatches are reported together."""
    client = client_for(world["users"][role])
    wrong = []
    for case, (method, url, body, statuses) in CASES.items():
        expected = dict(zip(ROLES, statuses, strict=True))[role]
        kwargs = {} if body is None else {"data": body(world), "format": "json"}
        with transaction.atomic():
            response = getattr(client, method)(url(world), **kwargs)
            transaction.set_rollback(True)
        denied_properly = expected != 403 or response.json().get("code") in (
            "section_denied",
            "row_denied",
            "permission_denied",
            "care_team_denied",
        )
        if response.status_code != expected or not denied_properly:
            wrong.append((case, expected, response.status_code, response.content[:200]))
    assert not wrong, wrong


@pytest.mark.parametrize("role", ["front_desk", "admin"])
def test_the_clinical_reason_and_report_are_absent_for_roles_without_them(world, role):
    client = client_for(world["users"][role])
    body = client.get(f"/api/referrals/{world['sent'].pk}/").json()
    assert "reason" not in body and "report_summary" not in body
    assert body["status"]["value"] == "sent"


@pytest.mark.parametrize("role", ["billing", "pharmacy"])
def test_the_360_leaves_out_what_billing_and_pharmacy_may_not_see(world, role):
    data = client_for(world["users"][role]).get(f"/api/patients/{world['own'].pk}/360/").json()
    assert "open_referrals" not in data
    assert all(i["sensitivity"]["value"] == "normal" for i in data["interactions"])
    assert "Therapy note" not in str(data)
    queues = {f["queue"]["value"] for f in data["open_follow_ups"]}
    assert queues <= {role}


def test_a_denial_names_the_section(world):
    response = client_for(world["users"]["billing"]).get("/api/referrals/")
    body = response.json()
    assert body["section"] == "referrals"
    assert "referrals" in body["message"] and "billing" in body["message"]


def test_filtering_on_hidden_rows_reveals_nothing(world):
    client = client_for(world["users"]["billing"])
    for params in (
        {"sensitivity": "restricted"},
        {"topic": "test_results"},
        {"patient": world["own"].pk, "department": "clinical"},
    ):
        assert client.get("/api/interactions/", params).json()["results"] == []


@pytest.mark.parametrize(
    ("role", "path", "parameter", "hidden"),
    [
        ("billing", "/api/interactions/", "parent", "restricted_own"),
        ("front_desk", "/api/interactions/", "parent", "restricted_own"),
        ("billing", "/api/interactions/", "referral", "sent"),
        ("billing", "/api/follow-ups/", "referral", "sent"),
    ],
)
def test_a_filter_on_a_hidden_record_answers_as_for_one_that_does_not_exist(
    world, role, path, parameter, hidden
):
    client = client_for(world["users"][role])
    on_hidden = client.get(path, {parameter: world[hidden].pk})
    on_missing = client.get(path, {parameter: 987_654_321})
    assert on_hidden.status_code == on_missing.status_code == 200
    assert on_hidden.json()["results"] == on_missing.json()["results"] == []


def test_a_follow_up_from_a_restricted_note_is_seen_only_by_who_sees_the_note(world):
    from interactions.services import interaction_create

    clinician = world["users"]["clinician"]
    with_note = interaction_create(
        actor=clinician,
        patient=world["own"],
        channel="phone",
        direction="inbound",
        department="clinical",
        topic="test_results",
        sensitivity="restricted",
        outcome="follow_up_needed",
        summary="HIV result discussed.",
    )
    follow_up = with_note.follow_ups.get()
    for role, sees in [("clinician", True), ("coordinator", True), ("front_desk", False)]:
        client = client_for(world["users"][role])
        listed = client.get("/api/follow-ups/", {"patient": world["own"].pk}).json()["results"]
        assert (follow_up.pk in [f["id"] for f in listed]) is sees, role
        assert (client.get(f"/api/follow-ups/{follow_up.pk}/").status_code == 200) is sees
        on_360 = client.get(f"/api/patients/{world['own'].pk}/360/").json()
        titles = [f["title"] for f in on_360.get("open_follow_ups", [])]
        assert (follow_up.title in titles) is sees, role
