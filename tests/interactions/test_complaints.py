import datetime as dt

import pytest
import time_machine

from interactions import services
from interactions.models import Complaint, ComplaintEvent, Interaction
from tests.conftest import client_for
from tests.factories import ContactPointFactory, PatientFactory
from tests.referrals.deck import at

pytestmark = pytest.mark.django_db

STATES = ["new", "acknowledged", "investigating", "resolved", "closed"]
ACTIONS = ["acknowledge", "investigate", "resolve", "close", "reopen"]
# (action, from) -> to, as the complaint workflow is specified.
EXPECTED = {
    ("acknowledge", "new"): "acknowledged",
    ("investigate", "new"): "investigating",
    ("investigate", "acknowledged"): "investigating",
    ("resolve", "acknowledged"): "resolved",
    ("resolve", "investigating"): "resolved",
    ("close", "resolved"): "closed",
    ("reopen", "resolved"): "investigating",
    ("reopen", "closed"): "investigating",
}
PATHS = {
    "new": [],
    "acknowledged": ["acknowledge"],
    "investigating": ["investigate"],
    "resolved": ["acknowledge", "resolve"],
    "closed": ["acknowledge", "resolve", "close"],
}
INPUT = {
    "resolve": {"resolution_note": "Refunded the fee.", "patient_informed": True},
    "reopen": {"reason": "Patient called again."},
}


def complaint_in(state, actor, **fields):
    complaint = services.complaint_create(
        actor=actor,
        patient=fields.pop("patient", None) or PatientFactory(),
        channel=fields.pop("channel", "phone"),
        category=fields.pop("category", "wait_time"),
        department=fields.pop("department", "front_desk"),
        description="Waited 90 minutes past the appointment time.",
        **fields,
    )
    for name in PATHS[state]:
        complaint = services.COMPLAINT_TRANSITION_SERVICES[name](
            complaint=complaint, actor=actor, **INPUT.get(name, {})
        )
    return complaint


@pytest.mark.parametrize(
    "category, expected",
    [
        ("billing", "medium"),
        ("access_to_information", "medium"),
        ("wait_time", "high"),
        ("clinical_care", "high"),
    ],
)
def test_default_priority_follows_the_interaction_type_table(api, category, expected):
    response = api.post(
        "/api/complaints/",
        {
            "patient_id": PatientFactory().pk,
            "channel": "phone",
            "category": category,
            "department": "billing",
            "description": "x",
        },
        "json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["priority"]["value"] == expected
    assert response.json()["queue"]["value"] == "billing"  # no owner: the department's queue


def test_staff_may_raise_priority_but_not_lower_it(api, coordinator):
    complaint = complaint_in("new", coordinator)
    url = f"/api/complaints/{complaint.pk}/"
    assert api.patch(url, {"priority": "urgent"}, "json").status_code == 200
    response = api.patch(url, {"priority": "medium"}, "json")
    assert response.status_code == 400 and "priority" in response.json()["errors"]
    assert Complaint.objects.get(pk=complaint.pk).priority == "urgent"


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_transition(api, coordinator, state, action):
    complaint = complaint_in(state, coordinator)
    before = complaint.events.count()
    response = api.post(f"/api/complaints/{complaint.pk}/{action}/", INPUT.get(action, {}), "json")
    complaint.refresh_from_db()
    if (action, state) in EXPECTED:
        assert response.status_code == 200, response.json()
        assert complaint.status == EXPECTED[(action, state)]
        event = complaint.events.order_by("-id").first()
        assert (event.action, event.from_status, event.to_status, event.actor) == (
            action,
            state,
            complaint.status,
            coordinator,
        )
    else:
        assert response.status_code == 409
        assert response.json()["allowed_actions"] == [a for a in ACTIONS if (a, state) in EXPECTED]
        assert complaint.status == state and complaint.events.count() == before


def test_resolution_needs_a_note_and_whether_the_patient_was_told(api, coordinator):
    complaint = complaint_in("acknowledged", coordinator)
    url = f"/api/complaints/{complaint.pk}/resolve/"
    response = api.post(url, {"resolution_note": "Done"}, "json")
    assert response.status_code == 400 and "patient_informed" in response.json()["errors"]
    response = api.post(url, {"resolution_note": " ", "patient_informed": False}, "json")
    assert response.status_code == 400 and "resolution_note" in response.json()["errors"]
    assert Complaint.objects.get(pk=complaint.pk).status == "acknowledged"


def test_first_response_and_resolution_times_are_recorded(coordinator):
    with time_machine.travel(at(10, 1), tick=False):
        complaint = complaint_in("new", coordinator)
    with time_machine.travel(at(10, 1, 6), tick=False):
        services.complaint_acknowledge(complaint=complaint, actor=coordinator)
    with time_machine.travel(at(10, 3), tick=False):
        services.complaint_resolve(
            complaint=complaint,
            actor=coordinator,
            resolution_note="Apologised",
            patient_informed=True,
        )
        services.complaint_reopen(complaint=complaint, actor=coordinator, reason="Not fixed")
    complaint.refresh_from_db()
    assert complaint.first_response_at == at(10, 1, 6)
    assert complaint.resolved_at is None and complaint.status == "investigating"
    assert ComplaintEvent.objects.filter(complaint=complaint).count() == 4  # with create


def test_overdue_follows_the_targets_per_priority(api, coordinator):
    with time_machine.travel(at(11, 10), tick=False):
        high = complaint_in("new", coordinator)  # first response due Nov 11
        medium = complaint_in("new", coordinator, category="billing")  # due Nov 12
    with time_machine.travel(at(11, 11, 12), tick=False):
        listed = api.get("/api/complaints/", {"overdue": "true"}).json()["results"]
        detail = api.get(f"/api/complaints/{high.pk}/").json()
    assert [c["id"] for c in listed] == [high.pk]
    assert detail["due"]["overdue"] is True
    assert detail["due"]["first_response_due"].startswith("2026-11-11T00:00")
    assert medium.pk not in [c["id"] for c in listed]


def test_the_complaints_worklist_buckets_my_queue_by_urgency(front_desk, coordinator):
    with time_machine.travel(at(11, 10), tick=False):
        high = complaint_in("new", coordinator)
        urgent = complaint_in("new", coordinator, priority="urgent")
        working = complaint_in("investigating", coordinator)
        complaint_in("resolved", coordinator)
        complaint_in("new", coordinator, department="billing")  # another queue
        complaint_in("closed", coordinator)
    with time_machine.travel(at(11, 10, 2), tick=False):
        response = client_for(front_desk).get("/api/worklists/complaints/")
    assert response.status_code == 200
    buckets = {b["key"]: b for b in response.json()["buckets"]}
    assert [i["id"] for i in buckets["awaiting_first_response"]["items"]] == [urgent.pk, high.pk]
    assert [i["id"] for i in buckets["in_progress"]["items"]] == [working.pk]
    assert buckets["resolved"]["count"] == 1


def test_the_complaints_worklist_query_count_is_constant(
    api, coordinator, django_assert_num_queries
):
    for size in (1, 8):
        for _ in range(size):
            complaint_in("new", coordinator, owner=coordinator)
        coordinator.__dict__.pop("_crm_roles", None)
        with django_assert_num_queries(5):  # roles, targets, counts, items, access record
            assert api.get("/api/worklists/complaints/").status_code == 200


def public_reply(review):
    """A reply posted publicly to a review of ``review``'s patient."""
    return {
        "patient_id": review.patient_id,
        "channel": "social",
        "direction": "outbound",
        "department": "contact_center",
        "topic": "complaint",
        "complaint_id": review.pk,
    }


def test_a_public_reply_must_not_identify_the_patient(api, coordinator):
    patient = PatientFactory(given_name="Maribel", family_name="Ochoa", mrn="M777")
    ContactPointFactory(patient=patient, value="+16175550199")
    review = complaint_in("new", coordinator, patient=patient, channel="social")
    reply = public_reply(review)
    for text in ("Dear Maribel, we are sorry.", "About MRN m777:", "We called 617-555-0199."):
        response = api.post("/api/interactions/", {**reply, "summary": text}, "json")
        assert response.status_code == 400, text
        assert "summary" in response.json()["errors"]
    ok = api.post(
        "/api/interactions/",
        {**reply, "summary": "We are sorry to hear this. Please call our patient line."},
        "json",
    )
    assert ok.status_code == 201
    assert Interaction.objects.get(pk=ok.json()["id"]).complaint == review


@pytest.mark.parametrize(
    ("given", "family", "text", "refused"),
    [
        ("Mai", "Tran", "Your maintenance prescription is ready.", False),
        ("Mai", "Tran", "Thank you, Mai.", True),
        ("晓明", "王", "王晓明您好。很抱歉。", True),
    ],
)
def test_a_name_in_a_public_reply_is_a_word_of_it(api, coordinator, given, family, text, refused):
    patient = PatientFactory(given_name=given, family_name=family)
    review = complaint_in("new", coordinator, patient=patient, channel="social")
    response = api.post("/api/interactions/", {**public_reply(review), "summary": text}, "json")
    assert response.status_code == (400 if refused else 201), response.content


def test_a_complaint_in_the_future_is_refused(api):
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    response = api.post(
        "/api/complaints/",
        {
            "patient_id": PatientFactory().pk,
            "channel": "phone",
            "category": "other",
            "department": "billing",
            "description": "x",
            "received_at": later,
        },
        "json",
    )
    assert response.status_code == 400 and "received_at" in response.json()["errors"]
