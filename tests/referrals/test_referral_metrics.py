"""A hand-computed deck: every expected figure below is worked out by hand from the
timestamps, so a wrong formula fails."""

import datetime as dt

import pytest
import time_machine

from referrals.metrics import count_state_times
from referrals.models import Organization, Referral
from tests.factories import FollowUpFactory, OrganizationFactory, UserFactory
from tests.referrals.deck import at
from tests.referrals.helpers import walk

pytestmark = pytest.mark.django_db

NOW = at(11, 15, 12)
PERIOD = {"start": "2026-10-01", "end": "2026-10-31"}


def d(month, day):
    return dt.date(2026, month, day)


@pytest.fixture
def deck(coordinator):
    with time_machine.travel(NOW, tick=False):
        out_of_network = OrganizationFactory(in_network=False)
        c = coordinator
        r = {}
        r[1] = walk(
            c,
            [
                ("create", at(9, 30), {}),
                ("send", at(10, 1), {}),
                ("accept", at(10, 2), {}),
                ("schedule", at(10, 4), {"appointment_at": at(10, 10)}),
                ("seen", at(10, 10, 12), {}),
                ("close", at(10, 13, 12), {"report_received_on": d(10, 13)}),
            ],
        )
        r[2] = walk(
            c,
            [
                ("create", at(10, 1), {}),
                ("send", at(10, 2), {}),
                ("accept", at(10, 5), {}),
                ("schedule", at(10, 6), {"appointment_at": at(10, 8)}),
                ("no_show", at(10, 8, 12), {}),
                ("schedule", at(10, 9), {"appointment_at": at(10, 12)}),
                ("seen", at(10, 12, 12), {}),
                ("close", at(10, 22, 12), {"report_received_on": d(10, 22)}),
            ],
        )
        r[3] = walk(
            c,
            [
                ("create", at(10, 2), {}),
                ("send", at(10, 3), {}),
                ("accept", at(10, 8), {}),
                ("schedule", at(10, 12), {"appointment_at": at(11, 20)}),
            ],
        )
        r[4] = walk(
            c,
            [
                ("create", at(10, 3), {}),
                ("send", at(10, 4), {}),
                ("decline", at(10, 5), {"reason": "Not in area"}),
            ],
            receiving_organization=out_of_network,
            receiving_practitioner=None,
        )
        r[5] = walk(c, [("create", at(10, 4), {}), ("send", at(10, 5), {})])
        r[6] = walk(
            c,
            [
                ("create", at(10, 5), {}),
                ("send", at(10, 6), {}),
                ("accept", at(10, 6, 2), {}),
                ("schedule", at(10, 7, 2), {"appointment_at": at(10, 9)}),
                ("seen", at(10, 9, 12), {}),
            ],
            priority="stat",
        )
        # Outside the period: sent the evening before it starts, never sent, sent after.
        r[7] = walk(c, [("create", at(9, 29), {}), ("send", at(9, 30, 23), {})])
        r[8] = walk(c, [("create", at(10, 10), {})])
        r[9] = walk(c, [("create", at(11, 1), {}), ("send", at(11, 2), {})])
        return r


def get(api, **params):
    with time_machine.travel(NOW, tick=False):
        response = api.get("/api/metrics/referrals/", {**PERIOD, **params})
    assert response.status_code == 200, response.content
    return response.json()


def test_the_referral_figures_match_the_hand_computed_deck(api, deck):
    m = get(api)

    assert m["sent"] == 6
    # R1 and R2 have their report back.
    assert m["loop_closure"] == {"numerator": 2, "denominator": 6, "rate": 0.3333}
    # sent->accepted: R6 2h (0.0833), R1 1, R2 3, R3 5 -> median (1+3)/2, p90 3+0.7*2
    assert m["days"]["sent_to_accepted"] == {"median": 2.0, "p90": 4.4, "n": 4}
    # accepted->first scheduled: R2 1, R6 1, R1 2, R3 4 -> median 1.5, p90 2+0.7*2
    assert m["days"]["accepted_to_scheduled"] == {"median": 1.5, "p90": 3.4, "n": 4}
    # seen->closed: R1 3, R2 10 (first seen) -> median 6.5, p90 3+0.9*7
    assert m["days"]["seen_to_closed"] == {"median": 6.5, "p90": 9.3, "n": 2}
    # sent->closed: R1 12.5, R2 20.5 -> median 16.5, p90 12.5+0.9*8
    assert m["days"]["sent_to_closed"] == {"median": 16.5, "p90": 19.7, "n": 2}
    # outcomes recorded: R2 no-show, R1 R2 R6 seen -> 1 of 4
    assert m["no_show"] == {"numerator": 1, "denominator": 4, "rate": 0.25}
    assert m["out_of_network"] == {"numerator": 1, "denominator": 6, "rate": 0.1667}


def test_overdue_now_counts_every_open_referral_by_bucket(api, deck):
    m = get(api)
    assert m["overdue_now"] == {
        "awaiting_response": {"count": 3, "overdue": 3},  # R5, R7 and R9 past 3 days
        "accepted_not_scheduled": {"count": 0, "overdue": 0},
        "appointment_passed": {"count": 0, "overdue": 0},  # R3's visit is on Nov 20
        "loop_open": {"count": 1, "overdue": 1},  # R6: seen Oct 9, report due Oct 23
        "declined_needs_provider": {"count": 1, "overdue": 0},  # R4, no target applies
        "no_show_rebook": {"count": 0, "overdue": 0},
    }


def test_filters_narrow_the_cohort(api, deck):
    stat = get(api, priority="stat")
    assert stat["sent"] == 1
    assert stat["days"]["sent_to_accepted"]["median"] == pytest.approx(2 / 24, abs=0.01)
    assert get(api, receiving_organization=deck[4].receiving_organization_id)["sent"] == 1
    assert Organization.objects.filter(in_network=False).count() == 1


def test_an_empty_period_has_no_rates(api, deck):
    m = get(api, start="2025-01-01", end="2025-01-31")
    assert m["sent"] == 0
    assert m["loop_closure"] == {"numerator": 0, "denominator": 0, "rate": None}
    assert m["days"]["sent_to_closed"] == {"median": None, "p90": None, "n": 0}


def test_follow_ups_on_time_counts_those_due_in_the_period(api):
    owner = UserFactory()
    with time_machine.travel(NOW, tick=False):

        def follow_up(due, status="open", completed=None):
            return FollowUpFactory(
                assigned_to=owner, queue="", due_at=due, status=status, completed_at=completed
            )

        follow_up(at(10, 10), "done", at(10, 9))  # on time
        follow_up(at(10, 12), "done", at(10, 13))  # late
        follow_up(at(10, 20))  # still open, overdue
        follow_up(at(10, 25), "cancelled", at(10, 24))  # cancelled: not counted
        follow_up(at(11, 20))  # due after the period
        follow_up(at(10, 3), "done", at(10, 3))  # done exactly at the due time: on time
    m = get(api, coordinator=owner.pk)
    assert m["follow_ups_on_time"] == {"numerator": 2, "denominator": 4, "rate": 0.5}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"start": "2026-10-01"}, "end"),
        ({"start": "x", "end": "2026-10-01"}, "start"),
        ({"start": "2026-10-02", "end": "2026-10-01"}, "end"),
    ],
)
def test_a_bad_period_is_a_field_error(api, params, field):
    response = api.get("/api/metrics/referrals/", params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_billing_cannot_read_referral_metrics(billing):
    from tests.conftest import client_for

    response = client_for(billing).get("/api/metrics/referrals/", PERIOD)
    assert response.status_code == 403


STATE_TIMES = ["accepted_at", "scheduled_at", "seen_at", "closed_at", "visits", "no_shows"]


def test_the_state_times_kept_by_the_workflow_are_the_events(deck):
    """What each transition keeps on the referral is what its events say; counting
    them again from the events (for rows a load wrote) gives the same."""
    kept = {row["pk"]: row for row in Referral.objects.values("pk", *STATE_TIMES)}
    assert any(row["no_shows"] for row in kept.values())
    assert any(row["closed_at"] for row in kept.values())
    first = deck[1]
    assert (first.accepted_at, first.scheduled_at, first.seen_at, first.closed_at) == (
        at(10, 2),
        at(10, 4),
        at(10, 10, 12),
        at(10, 13, 12),
    )
    Referral.objects.update(
        accepted_at=None, scheduled_at=None, seen_at=None, closed_at=None, visits=0, no_shows=0
    )
    count_state_times()
    assert {row["pk"]: row for row in Referral.objects.values("pk", *STATE_TIMES)} == kept
