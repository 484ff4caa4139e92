"""Every action from every state: allowed ones move the referral and write an event,
the rest are refused with 409 naming what is allowed. Expectations are those of the
referral states in docs/domain.md."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from referrals.models import ReferralEvent
from tests.referrals.helpers import PATHS, action_input, referral_in, walk

pytestmark = pytest.mark.django_db

STATES = list(PATHS)
ACTIONS = ["send", "accept", "decline", "schedule", "no_show", "seen", "close", "cancel", "reopen"]

# (action, from) -> to, written out by hand from docs/domain.md.
EXPECTED = {
    ("send", "draft"): "sent",
    ("accept", "sent"): "accepted",
    ("decline", "sent"): "declined",
    ("decline", "accepted"): "declined",
    ("schedule", "accepted"): "scheduled",
    ("schedule", "scheduled"): "scheduled",
    ("schedule", "no_show"): "scheduled",
    ("no_show", "scheduled"): "no_show",
    ("seen", "scheduled"): "seen",
    ("close", "seen"): "closed",
    **{
        ("cancel", s): "cancelled"
        for s in ["draft", "sent", "accepted", "scheduled", "no_show", "seen"]
    },
    ("reopen", "closed"): "seen",
    ("reopen", "cancelled"): "accepted",  # back to where it was cancelled from
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_transition(api, coordinator, state, action):
    referral = referral_in(state, coordinator)
    events_before = referral.events.count()
    url = f"/api/referrals/{referral.pk}/{action.replace('_', '-')}/"

    # A minute on: the appointment (if any) has come, so a visit or no-show may be recorded.
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=1)):
        response = api.post(url, action_input(action), "json")

    referral.refresh_from_db()
    if (action, state) in EXPECTED:
        assert response.status_code == 200, response.json()
        assert response.json()["status"]["value"] == EXPECTED[(action, state)]
        assert referral.status == EXPECTED[(action, state)]
        event = referral.events.order_by("-id").first()
        assert referral.events.count() == events_before + 1
        assert (event.action, event.from_status, event.to_status, event.actor) == (
            action,
            state,
            referral.status,
            coordinator,
        )
    else:
        assert response.status_code == 409
        body = response.json()
        assert body["code"] == "invalid_transition"
        assert body["current_status"] == state
        assert body["allowed_actions"] == [a for a in ACTIONS if (a, state) in EXPECTED]
        assert referral.status == state
        assert referral.events.count() == events_before


@pytest.mark.parametrize("action", ["decline", "cancel", "reopen"])
def test_a_reason_is_required(api, coordinator, action):
    state = {"decline": "sent", "cancel": "sent", "reopen": "closed"}[action]
    referral = referral_in(state, coordinator)
    for payload in ({}, {"reason": ""}, {"reason": "   "}):
        response = api.post(f"/api/referrals/{referral.pk}/{action}/", payload, "json")
        assert response.status_code == 400
        assert "reason" in response.json()["errors"]
    referral.refresh_from_db()
    assert referral.status == state


def test_the_reason_is_recorded_on_the_event(api, coordinator):
    referral = referral_in("sent", coordinator)
    api.post(f"/api/referrals/{referral.pk}/decline/", {"reason": "Out of area"}, "json")
    assert referral.events.last().reason == "Out of area"


def test_schedule_needs_an_appointment_time(api, coordinator):
    referral = referral_in("accepted", coordinator)
    response = api.post(f"/api/referrals/{referral.pk}/schedule/", {}, "json")
    assert response.status_code == 400
    assert "appointment_at" in response.json()["errors"]


def test_schedule_stores_the_appointment_and_its_event_details(api, coordinator):
    referral = referral_in("accepted", coordinator)
    when = (timezone.now() + datetime.timedelta(days=5)).replace(microsecond=0)
    response = api.post(
        f"/api/referrals/{referral.pk}/schedule/", {"appointment_at": when.isoformat()}, "json"
    )
    assert response.status_code == 200
    referral.refresh_from_db()
    assert referral.appointment_at == when
    assert referral.events.last().details == {"appointment_at": when.isoformat()}


def test_an_appointment_before_the_referral_was_sent_is_refused(api, coordinator):
    referral = referral_in("accepted", coordinator)
    earlier = referral.sent_at - datetime.timedelta(days=1)
    response = api.post(
        f"/api/referrals/{referral.pk}/schedule/", {"appointment_at": earlier.isoformat()}, "json"
    )
    assert response.status_code == 400
    assert "appointment_at" in response.json()["errors"]


def test_close_needs_the_report_date_and_keeps_the_report(api, coordinator):
    referral = referral_in("seen", coordinator)
    assert api.post(f"/api/referrals/{referral.pk}/close/", {}, "json").status_code == 400

    response = api.post(
        f"/api/referrals/{referral.pk}/close/",
        {
            "report_received_on": timezone.localdate().isoformat(),
            "report_from": "Dr. Ruiz",
            "report_summary": "Normal echo.",
            "report_recommendations": "No follow-up.",
        },
        "json",
    )
    assert response.status_code == 200
    referral.refresh_from_db()
    assert referral.status == "closed"
    assert referral.report_received_on == timezone.localdate()
    assert referral.report_summary == "Normal echo."


def test_a_report_dated_in_the_future_is_refused(api, coordinator):
    referral = referral_in("seen", coordinator)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = api.post(
        f"/api/referrals/{referral.pk}/close/",
        {"report_received_on": tomorrow.isoformat()},
        "json",
    )
    assert response.status_code == 400
    assert "report_received_on" in response.json()["errors"]


def test_reopening_a_closed_referral_clears_the_report_date(api, coordinator):
    referral = referral_in("closed", coordinator)
    api.post(f"/api/referrals/{referral.pk}/reopen/", {"reason": "Wrong report"}, "json")
    referral.refresh_from_db()
    assert referral.status == "seen" and referral.report_received_on is None


def test_a_step_the_facts_do_not_allow_yet_says_why_with_its_own_code(api, coordinator):
    visit = timezone.now() + datetime.timedelta(days=3)
    referral = walk(
        coordinator,
        [("send", None, {}), ("accept", None, {}), ("schedule", None, {"appointment_at": visit})],
    )
    response = api.post(f"/api/referrals/{referral.pk}/seen/", {}, "json")
    body = response.json()
    assert response.status_code == 409 and body["code"] == "step_refused"
    assert "appointment" in body["message"] and "seen" in body["allowed_actions"]


def test_send_needs_a_receiver(api, coordinator):
    referral = referral_in(
        "draft", coordinator, receiving_organization=None, receiving_practitioner=None
    )
    response = api.post(f"/api/referrals/{referral.pk}/send/", {}, "json")
    assert response.status_code == 400
    assert "receiving_organization_id" in response.json()["errors"]
    referral.refresh_from_db()
    assert referral.status == "draft"


def test_a_stale_if_match_on_a_transition_is_412(api, coordinator):
    referral = referral_in("sent", coordinator)
    response = api.post(
        f"/api/referrals/{referral.pk}/accept/",
        {},
        "json",
        HTTP_IF_MATCH=f'"{referral.version - 1}"',
    )
    assert response.status_code == 412
    referral.refresh_from_db()
    assert referral.status == "sent"


def test_events_list_every_transition_in_order(api, coordinator):
    referral = referral_in("closed", coordinator)
    response = api.get(f"/api/referrals/{referral.pk}/events/")
    assert response.status_code == 200
    actions = [e["action"]["value"] for e in response.json()]
    assert actions == ["create", "send", "accept", "schedule", "seen", "close"]
    assert response.json()[1]["actor"]["id"] == coordinator.pk
    assert ReferralEvent.objects.filter(referral=referral).count() == 6


def test_unknown_referral_transition_is_404(api):
    assert api.post("/api/referrals/999999/accept/", {}, "json").status_code == 404
