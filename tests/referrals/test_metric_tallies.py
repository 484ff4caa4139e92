"""The referral metrics read from the weekly tallies: the tallies stay what counting the
rows again gives after every kind of write, and the figures read from them are the
figures counted live, for any period, in any time zone."""

import datetime as dt
import math
import random

import pytest
import time_machine
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from crm.db import BIN_GROWTH, binned_percentiles, percentile_cont
from crm.tallies import split_period
from referrals import selectors, service_levels, tallies
from referrals.metrics import referral_metrics
from referrals.models import (
    DueFollowUpTally,
    FollowUp,
    FollowUpTally,
    Referral,
    ReferralTally,
    ReferralTimeTally,
    SentReferralTally,
)
from tests.factories import (
    FollowUpFactory,
    InteractionFactory,
    OrganizationFactory,
    PatientFactory,
    PractitionerFactory,
    ReferralFactory,
)
from tests.referrals.deck import at
from tests.tallies import tally_rows

pytestmark = pytest.mark.django_db

NOW = at(12, 20, 9)
TALLIES = (SentReferralTally, ReferralTimeTally, DueFollowUpTally, ReferralTally, FollowUpTally)


def counted() -> dict:
    return tally_rows(*TALLIES)


def assert_tallies_are_the_rows():
    kept = counted()
    tallies.rebuild()
    assert counted() == kept


def referral(rng: random.Random, sent: dt.datetime | None, **fields) -> Referral:
    """A referral sent at ``sent`` and taken as far as its state times go, at random
    durations from an hour to weeks."""
    times = {"sent_at": sent, "status": "draft" if sent is None else "sent"}
    if sent is not None and rng.random() < 0.8:
        times["accepted_at"] = sent + dt.timedelta(hours=rng.uniform(1, 200))
        times["status"] = "accepted"
        if rng.random() < 0.8:
            times["scheduled_at"] = times["accepted_at"] + dt.timedelta(hours=rng.uniform(1, 99))
            times["seen_at"] = times["scheduled_at"] + dt.timedelta(days=rng.uniform(1, 30))
            times["closed_at"] = times["seen_at"] + dt.timedelta(days=rng.uniform(0, 20))
            times.update(status="closed", report_received_on=times["closed_at"].date())
            times.update(visits=1, no_shows=rng.choice([0, 0, 1]))
            times["appointment_at"] = times["seen_at"]
    moments = [value for value in times.values() if isinstance(value, dt.datetime)]
    times["status_changed_at"] = max(moments, default=NOW)
    return ReferralFactory(**{**times, **fields})


@pytest.fixture
def referrals():
    """Referrals sent over ten weeks around the new year, and follow-ups due then."""
    rng = random.Random(7)
    with time_machine.travel(NOW, tick=False):
        rows = []
        for _ in range(60):
            sent = at(10, 25) + dt.timedelta(hours=rng.uniform(0, 24 * 70))
            rows.append(referral(rng, sent))
        rows.append(referral(rng, None))  # a draft: never in a cohort
        for _ in range(40):
            due = at(10, 28) + dt.timedelta(hours=rng.uniform(0, 24 * 60))
            status = rng.choice(["open", "done", "done", "cancelled"])
            completed = (
                due + dt.timedelta(hours=rng.uniform(-30, 30)) if status != "open" else None
            )
            FollowUpFactory(due_at=due, status=status, completed_at=completed)
    return rows


def figures(start: dt.date, end: dt.date, *, tallied: bool, follow_ups=None) -> dict:
    return referral_metrics(
        Referral.objects.all(),
        FollowUp.objects.all() if follow_ups is None else follow_ups,
        start=start,
        end=end,
        targets=service_levels.targets(),
        now=NOW,
        hidden_follow_ups=FollowUp.objects.none() if tallied else None,
    )


PERIODS = [
    (dt.date(2026, 11, 2), dt.date(2026, 11, 29)),  # whole weeks, Monday to Sunday
    (dt.date(2026, 10, 28), dt.date(2027, 1, 9)),  # both ends inside a week
    (dt.date(2026, 11, 4), dt.date(2026, 11, 6)),  # inside one week
    (dt.date(2026, 11, 9), dt.date(2026, 11, 9)),  # one day, a Monday
    (dt.date(2026, 1, 1), dt.date(2026, 12, 31)),  # the year, up to after now
    (dt.date(2025, 1, 1), dt.date(2025, 2, 1)),  # nothing in it
]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_the_figures_from_the_tallies_are_the_figures_counted_live(referrals, zone):
    with override_settings(TIME_ZONE=zone):
        for start, end in PERIODS:
            live = figures(start, end, tallied=False)
            assert figures(start, end, tallied=True) == live, (start, end)
    year = figures(dt.date(2026, 10, 1), dt.date(2027, 1, 31), tallied=True)
    assert year["sent"] == 60
    assert year["days"]["sent_to_accepted"]["n"] > 30
    assert year["follow_ups_on_time"]["denominator"] > 20


def test_the_tallies_are_the_rows_after_every_kind_of_write(referrals):
    assert_tallies_are_the_rows()
    assert SentReferralTally.objects.filter(n__gt=0).count() > 5  # several weeks

    rng = random.Random(3)
    moved, reported, removed = referrals[0], referrals[1], referrals[2]
    # A save that moves a referral to another week and changes its times.
    moved.sent_at += dt.timedelta(days=9)
    moved.accepted_at = moved.sent_at + dt.timedelta(hours=5)
    moved.save()
    # A bulk update, as a merge or a backfill writes.
    Referral.objects.filter(pk=reported.pk).update(no_shows=2, visits=3)
    Referral.objects.filter(pk__in=[r.pk for r in referrals[10:20]]).update(closed_at=None)
    # A new referral, one deleted, one sent from a draft.
    referral(rng, at(11, 11))
    removed.delete()
    Referral.objects.filter(status="draft").update(sent_at=at(11, 12), status="sent")
    # Follow-ups done, reopened, cancelled, moved.
    follow_ups = list(FollowUp.objects.order_by("pk"))
    FollowUp.objects.filter(pk=follow_ups[0].pk).update(status="done", completed_at=at(10, 1))
    FollowUp.objects.filter(pk=follow_ups[1].pk).update(status="open", completed_at=None)
    FollowUp.objects.filter(pk=follow_ups[2].pk).update(status="cancelled")
    FollowUp.objects.filter(pk=follow_ups[3].pk).update(due_at=at(12, 1))
    follow_ups[4].delete()
    assert_tallies_are_the_rows()
    live = figures(dt.date(2026, 10, 1), dt.date(2027, 1, 31), tallied=False)
    assert figures(dt.date(2026, 10, 1), dt.date(2027, 1, 31), tallied=True) == live


def test_a_referral_counts_out_of_network_once_whichever_provider_is(api):
    outside = OrganizationFactory(in_network=False)
    inside = OrganizationFactory(in_network=True)
    lone = PractitionerFactory(organization=inside, in_network=False)
    with time_machine.travel(NOW, tick=False):
        rng = random.Random(1)
        sent = at(11, 10)
        # The organization out, its practitioner out too, the practitioner alone out.
        referral(rng, sent, receiving_organization=outside, receiving_practitioner=None)
        referral(
            rng,
            sent,
            receiving_organization=outside,
            receiving_practitioner=PractitionerFactory(organization=outside, in_network=False),
        )
        referral(rng, sent, receiving_organization=inside, receiving_practitioner=lone)
        # In network, and nowhere yet.
        referral(rng, sent, receiving_organization=inside)
        referral(rng, sent, receiving_organization=None, receiving_practitioner=None)
        response = api.get("/api/metrics/referrals/", {"start": "2026-11-01", "end": "2026-11-30"})
    assert response.json()["out_of_network"] == {"numerator": 3, "denominator": 5, "rate": 0.6}
    for tallied in (False, True):
        figure = figures(dt.date(2026, 11, 1), dt.date(2026, 11, 30), tallied=tallied)
        assert figure["out_of_network"]["numerator"] == 3


def test_a_follow_up_the_reader_may_not_see_is_taken_off_the_tallies(api, coordinator):
    with time_machine.travel(NOW, tick=False):
        someone_elses = PatientFactory()
        restricted = InteractionFactory(patient=someone_elses, sensitivity="restricted")
        due = at(11, 11)
        FollowUpFactory(patient=someone_elses, interaction=restricted, due_at=due)
        FollowUpFactory(due_at=due, status="done", completed_at=due)
        response = api.get("/api/metrics/referrals/", {"start": "2026-11-01", "end": "2026-11-30"})
    # The coordinator reads one of the two, as counting what they may read gives.
    seen = {"numerator": 1, "denominator": 1, "rate": 1.0}
    assert response.json()["follow_ups_on_time"] == seen
    readable = selectors.follow_up_list(user=coordinator)
    november = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert figures(*november, tallied=False, follow_ups=readable)["follow_ups_on_time"] == seen
    assert figures(*november, tallied=True)["follow_ups_on_time"]["denominator"] == 2


def test_percentiles_from_bins_are_within_the_bin_width():
    rng = random.Random(11)
    for _ in range(20):
        seconds = [round(rng.lognormvariate(11, 1.5)) for _ in range(rng.randrange(1, 400))]
        bins: dict[int, list[int]] = {}
        for value in seconds:
            key = int(_bin(value))
            bins.setdefault(key, [0, 0])
            bins[key][0] += 1
            bins[key][1] += value
        binned = binned_percentiles((key, n, total) for key, (n, total) in bins.items())
        for fraction, value in zip((0.5, 0.9), binned, strict=True):
            exact = percentile_cont(seconds, fraction)
            assert value == pytest.approx(exact, rel=0.01, abs=1)


def test_equal_durations_give_their_exact_percentiles_and_negatives_sort_first():
    # 2 h, 1 day, 3 days, 5 days: the hand-computed median (1 + 3) / 2 and p90 3 + 0.7 * 2
    day = 86400
    bins = [(int(_bin(s)), 1, s) for s in (7200, day, 3 * day, 5 * day)]
    assert binned_percentiles(bins) == pytest.approx([2 * day, 4.4 * day], abs=1e-6)
    # The same bin given twice (from the tallies and from the live rows) is one.
    assert binned_percentiles([(5, 1, 100), (5, 1, 100)]) == [100, 100]
    assert binned_percentiles([(int(_bin(-3600)), 1, -3600), (int(_bin(60)), 3, 180)]) == [
        60,
        60,
    ]
    assert binned_percentiles([(int(_bin(-3600)), 1, -3600), (0, 1, 0)], [0])[0] == -3600
    assert binned_percentiles([]) == [None, None]
    assert binned_percentiles([(3, 0, 0)]) == [None, None]  # a tally emptied by updates


def _bin(seconds: float) -> float:
    """The bin of ``seconds`` as the databases compute it (crm.db)."""
    size = math.floor(math.log(1 + abs(seconds) / 60) / math.log(BIN_GROWTH))
    return -1 - size if seconds < 0 else size


def test_a_period_splits_into_whole_weeks_or_days_and_the_rest_around_them():
    utc = dt.UTC
    begin, finish = dt.datetime(2026, 11, 4, 5, tzinfo=utc), dt.datetime(2026, 11, 27, tzinfo=utc)
    assert split_period(begin, finish, weekly=True) == (
        dt.date(2026, 11, 9),
        dt.date(2026, 11, 23),
        dt.datetime(2026, 11, 9, tzinfo=utc),
        dt.datetime(2026, 11, 23, tzinfo=utc),
    )
    assert split_period(begin, finish) == (
        dt.date(2026, 11, 5),
        dt.date(2026, 11, 27),
        dt.datetime(2026, 11, 5, tzinfo=utc),
        finish,
    )
    # Inside one week: all of it is read live.
    end = begin + dt.timedelta(days=2)
    first, last, head_end, tail_start = split_period(begin, end, weekly=True)
    assert last < first and head_end == tail_start == end
    # From a Monday to a Monday: weeks only.
    monday = dt.datetime(2026, 11, 2, tzinfo=utc)
    assert split_period(monday, monday + dt.timedelta(weeks=2), weekly=True) == (
        dt.date(2026, 11, 2),
        dt.date(2026, 11, 16),
        monday,
        monday + dt.timedelta(weeks=2),
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_a_years_times_are_read_from_the_week_index_alone(referrals):
    """(The test database is small: the other paths are switched off.)"""
    with CaptureQueriesContext(connection) as captured:
        figures(dt.date(2026, 1, 1), dt.date(2026, 12, 31), tallied=True)
    plans = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for query in captured.captured_queries:
            cursor.execute(f"EXPLAIN {query['sql']}")
            plans[query["sql"]] = "\n".join(row[0] for row in cursor.fetchall())

    (week_plan,) = [plan for sql, plan in plans.items() if "referraltimetally" in sql]
    assert "Index Only Scan using referraltimetally_week_idx" in week_plan
