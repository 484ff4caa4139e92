"""Worklist buckets from a hand-computed deck at a fixed time."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from referrals import service_levels, services, tallies, worklists
from referrals.models import FollowUp, FollowUpTally, Referral, ReferralTally
from referrals.selectors import follow_up_list, referral_list
from referrals.worklists import follow_up_worklist, referral_worklist
from tests.conftest import client_for
from tests.factories import FollowUpFactory, InteractionFactory, PatientFactory, UserFactory
from tests.referrals.deck import at
from tests.referrals.helpers import walk

pytestmark = pytest.mark.django_db

NOW = at(11, 15, 12)
ON_POSTGRESQL = connection.vendor == "postgresql"


def sent(when):
    return [("create", when - dt.timedelta(hours=1), {}), ("send", when, {})]


def accepted(sent_at, accepted_at):
    return [*sent(sent_at), ("accept", accepted_at, {})]


@pytest.fixture
def deck(coordinator, other_coordinator):
    c = coordinator
    mine = {"coordinator": c}
    with time_machine.travel(NOW, tick=False):
        w = {
            "w1": walk(c, sent(at(11, 10)), **mine),  # routine, due Nov 13: overdue
            "w2": walk(c, sent(at(11, 15, 6)), priority="stat", **mine),  # due 10:00: overdue
            "w3": walk(c, sent(at(11, 14)), **mine),  # due Nov 17: not in a bucket
            "w4": walk(c, accepted(at(11, 13), at(11, 14)), priority="urgent", **mine),
            "w5": walk(c, accepted(at(10, 19), at(10, 20)), **mine),  # due Nov 3: overdue
            "w6": walk(
                c,
                [
                    *accepted(at(11, 1), at(11, 2)),
                    ("schedule", at(11, 3), {"appointment_at": at(11, 14)}),
                ],
                **mine,
            ),
            "w7": walk(
                c,
                [
                    *accepted(at(11, 1), at(11, 2)),
                    ("schedule", at(11, 3), {"appointment_at": at(11, 20)}),
                ],
                **mine,
            ),
            "w8": walk(
                c,
                [
                    *accepted(at(10, 20), at(10, 21)),
                    ("schedule", at(10, 22), {"appointment_at": at(11, 1)}),
                    ("seen", at(11, 1), {}),
                ],
                **mine,
            ),
            "w9": walk(
                c, [*sent(at(11, 11)), ("decline", at(11, 12), {"reason": "Full"})], **mine
            ),
            "w10": walk(
                c, [*sent(at(11, 11)), ("decline", at(11, 12), {"reason": "Full"})], **mine
            ),
            "w12": walk(
                c,
                [
                    *accepted(at(11, 1), at(11, 2)),
                    ("schedule", at(11, 3), {"appointment_at": at(11, 12)}),
                    ("no_show", at(11, 13), {}),
                ],
                **mine,
            ),
            "theirs": walk(c, sent(at(11, 1)), coordinator=other_coordinator),
        }
        w["w11"] = services.referral_create(
            actor=c,
            patient=w["w10"].patient,
            specialty="Cardiology",
            reason="Redirect",
            replaces=w["w10"],
            coordinator=c,
        )
    return w


def worklist(client, **params):
    with time_machine.travel(NOW, tick=False):
        response = client.get("/api/worklists/referrals/", params)
    assert response.status_code == 200, response.content
    return {b["key"]: b for b in response.json()["buckets"]}, response.json()


def summary(buckets):
    return {
        key: (b["count"], b["overdue"], [i["id"] for i in b["items"]])
        for key, b in buckets.items()
    }


def test_my_worklist_buckets_and_orders_by_urgency(api, deck):
    buckets, body = worklist(api)
    w = {name: referral.pk for name, referral in deck.items()}
    assert summary(buckets) == {
        "awaiting_response": (2, 2, [w["w2"], w["w1"]]),  # stat before routine
        "accepted_not_scheduled": (2, 1, [w["w4"], w["w5"]]),  # urgent before routine
        "appointment_passed": (1, 1, [w["w6"]]),
        "loop_open": (1, 1, [w["w8"]]),  # seen Nov 1, report due Nov 15 00:00
        "declined_needs_provider": (1, 0, [w["w9"]]),  # w10 was redirected by w11
        "no_show_rebook": (1, 0, [w["w12"]]),  # rebook due Nov 27
    }
    assert body["coordinators"] == [deck["w1"].coordinator_id]
    first = buckets["awaiting_response"]["items"][0]
    assert first["next_step"]["overdue"] is True and first["patient"]["id"]


def test_limit_caps_items_not_counts(api, deck):
    buckets, _ = worklist(api, limit=1)
    assert buckets["awaiting_response"]["count"] == 2
    assert [i["id"] for i in buckets["awaiting_response"]["items"]] == [deck["w2"].pk]


def test_offset_gives_the_next_page_of_each_bucket(api, deck):
    second, _ = worklist(api, limit=1, offset=1)
    assert second["awaiting_response"]["count"] == 2
    assert [i["id"] for i in second["awaiting_response"]["items"]] == [deck["w1"].pk]
    past_the_end, _ = worklist(api, limit=1, offset=2)
    assert past_the_end["awaiting_response"]["items"] == []


def test_another_coordinator_and_the_whole_team(api, deck, other_coordinator):
    theirs, body = worklist(api, coordinator=other_coordinator.pk)
    assert [i["id"] for i in theirs["awaiting_response"]["items"]] == [deck["theirs"].pk]
    team, body = worklist(api, team="true")
    assert team["awaiting_response"]["count"] == 3 and body["coordinators"] is None


def test_the_list_filters_apply(api, deck):
    buckets, _ = worklist(api, priority="stat")
    assert summary(buckets)["awaiting_response"] == (1, 1, [deck["w2"].pk])
    assert all(b["count"] == 0 for k, b in buckets.items() if k != "awaiting_response")


def plans_of_id_reads(run, table: str) -> list[str]:
    """The plans of the bucket reads ``run`` makes: each reads its ids in order, then one
    query reads those rows by id."""
    with CaptureQueriesContext(connection) as captured:
        run()
    reads = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith(f'SELECT "{table}"."id" AS "pk" FROM')
    ]
    assert reads  # (a bucket with no condition is not read)
    plans = []
    with connection.cursor() as cursor:
        for sql in reads:
            cursor.execute(f"EXPLAIN {sql}")
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
@pytest.mark.parametrize("mine", [True, False], ids=["mine", "team"])
def test_each_referral_bucket_is_read_in_order_from_an_index(deck, coordinator, mine):
    """With sequential scans and sorts made as costly as possible, a plan that still
    sorts a bucket, or reads the table whole, has no index to read it in order: at a
    million patients that is the whole team's half-million open referrals per request."""
    referrals = referral_list(user=coordinator)
    if mine:
        referrals = referrals.filter(coordinator=coordinator)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    plans = plans_of_id_reads(
        lambda: referral_worklist(
            referrals, targets=service_levels.targets(), now=NOW, limit=25, offset=25
        ),
        "referrals_referral",
    )
    for plan in plans:
        assert "Sort" not in plan and "Seq Scan on referrals_referral " not in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_a_coordinators_bucket_counts_read_only_the_index(deck, coordinator):
    """The counts read a coordinator's open referrals from the coordinator index alone
    (it holds the visit time): no visit to the table's pages, which at a million
    patients are thousands of cold pages per request."""
    referrals = referral_list(user=coordinator).filter(coordinator=coordinator)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    plan = worklists.status_figures(referrals, service_levels.targets(), NOW).explain()
    assert "Index Only Scan using referral_coordinator_idx" in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_each_follow_up_bucket_is_read_in_order_from_an_index(coordinator):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    plans = plans_of_id_reads(
        lambda: follow_up_worklist(
            follow_up_list(user=coordinator), now=NOW, horizon=dt.timedelta(days=7), limit=25
        ),
        "referrals_followup",
    )
    for plan in plans:
        assert "Sort" not in plan and "Seq Scan on referrals_followup " not in plan, plan


def test_billing_has_no_referral_worklist(billing):
    response = client_for(billing).get("/api/worklists/referrals/")
    assert response.status_code == 403


def test_the_referral_worklist_query_count_is_constant(
    api, coordinator, django_assert_num_queries
):
    def add(n):
        with time_machine.travel(NOW, tick=False):
            for _ in range(n):
                walk(coordinator, sent(at(11, 1)), coordinator=coordinator)
                walk(coordinator, accepted(at(11, 1), at(11, 2)), coordinator=coordinator)

    for size in (1, 10):
        add(size)
        coordinator.__dict__.pop("_crm_roles", None)
        # roles, service levels, bucket counts, each bucket's ids (6) and then their rows
        # (1), access record;
        # the whole team's: the tallies, the cut days and the redirected for the counts;
        # the reads' own transaction (here a savepoint and its release), and in it on
        # PostgreSQL the join order
        with django_assert_num_queries(13 + ON_POSTGRESQL):
            worklist(api)
        coordinator.__dict__.pop("_crm_roles", None)
        with django_assert_num_queries(15 + ON_POSTGRESQL):
            worklist(api, team="true")


@pytest.mark.skipif(not ON_POSTGRESQL, reason="a PostgreSQL setting")
@pytest.mark.django_db(transaction=True)  # the request's transaction is its own
def test_the_referral_worklist_plans_its_joins_in_written_order(api, coordinator):
    with time_machine.travel(NOW, tick=False):
        # Accepted: in a bucket whatever service levels there are (a flushed database
        # has none, and then no sent referral is late).
        walk(coordinator, accepted(at(11, 1), at(11, 2)), coordinator=coordinator)
    with CaptureQueriesContext(connection) as captured:
        worklist(api)
    statements = [query["sql"] for query in captured.captured_queries]
    setting = statements.index("SET LOCAL join_collapse_limit = 1")
    reads = [at for at, sql in enumerate(statements) if '"referrals_referral"."version"' in sql]
    assert len(reads) == 1  # the buckets' rows, in one read
    assert setting < reads[0]
    with connection.cursor() as cursor:  # and only for the request's own transaction
        cursor.execute("SHOW join_collapse_limit")
        assert cursor.fetchone() == ("8",)


# Follow-ups ------------------------------------------------------------------------


def follow_ups(client, **params):
    with time_machine.travel(NOW, tick=False):
        response = client.get("/api/worklists/follow-ups/", params)
    assert response.status_code == 200, response.content
    body = response.json()
    return {b["key"]: [i["id"] for i in b["items"]] for b in body["buckets"]}, body


def test_my_follow_ups_and_my_queue_by_due_time(billing, coordinator):
    with time_machine.travel(NOW, tick=False):
        patient = PatientFactory()

        def make(due, **owner):
            return FollowUpFactory(patient=patient, due_at=due, **owner).pk

        overdue = make(at(11, 14), assigned_to=billing, queue="")
        today = make(at(11, 15, 18), queue="billing")
        upcoming = make(at(11, 18), assigned_to=billing, queue="")
        make(at(12, 30), assigned_to=billing, queue="")  # beyond the 7-day horizon
        make(at(11, 14), queue="pharmacy")  # another department's queue
        make(at(11, 14), assigned_to=coordinator, queue="")  # someone else's
    buckets, body = follow_ups(client_for(billing))
    assert buckets == {"overdue": [overdue], "due_today": [today], "upcoming": [upcoming]}
    owners = {(o["assigned_to"] or {}).get("id"): o for o in body["owners"]}
    assert (owners[billing.pk]["overdue"], owners[billing.pk]["upcoming"]) == (1, 1)
    assert owners[None]["queue"] == "billing" and owners[None]["due_today"] == 1


def test_follow_ups_page_through_a_bucket_in_due_order(billing):
    with time_machine.travel(NOW, tick=False):
        patient = PatientFactory()
        overdue = [
            FollowUpFactory(
                patient=patient, assigned_to=billing, queue="", due_at=at(11, 1 + day)
            ).pk
            for day in range(5)
        ]
    pages = [
        follow_ups(client_for(billing), limit=2, offset=offset)[0]["overdue"]
        for offset in (0, 2, 4)
    ]
    assert pages == [overdue[:2], overdue[2:4], overdue[4:]]


def test_the_team_view_and_a_queue_filter(api, coordinator):
    with time_machine.travel(NOW, tick=False):
        pharmacy = FollowUpFactory(due_at=at(11, 14), queue="pharmacy").pk
        FollowUpFactory(due_at=at(11, 14), assigned_to=UserFactory(), queue="")
    buckets, _ = follow_ups(api, queue="pharmacy")
    assert buckets["overdue"] == [pharmacy]
    buckets, _ = follow_ups(api, team="true")
    assert len(buckets["overdue"]) == 2


def test_the_follow_up_worklist_query_count_is_constant(
    api, coordinator, django_assert_num_queries
):
    for size in (1, 20):
        with time_machine.travel(NOW, tick=False):
            for n in range(size):
                FollowUpFactory(assigned_to=coordinator, queue="", due_at=at(11, 10 + n % 10))
        coordinator.__dict__.pop("_crm_roles", None)
        # roles, the tallies, the live days and the restricted ones the coordinator may
        # not see for the counts, the owners' names, each bucket's ids (3) and then their
        # rows (1), access record
        with django_assert_num_queries(10):
            follow_ups(api)
        coordinator.__dict__.pop("_crm_roles", None)
        with django_assert_num_queries(10):
            follow_ups(api, team="true")


def test_follow_ups_by_priority_then_due_and_filtered_by_priority(billing):
    with time_machine.travel(NOW, tick=False):
        patient = PatientFactory()

        def make(day, priority):
            return FollowUpFactory(
                patient=patient,
                assigned_to=billing,
                queue="",
                priority=priority,
                due_at=at(11, day),
            ).pk

        low, high, medium, high_later = (
            make(1, "low"),
            make(2, "high"),
            make(3, "medium"),
            make(4, "high"),
        )
    client = client_for(billing)
    assert follow_ups(client)[0]["overdue"] == [low, high, medium, high_later]
    by_priority = follow_ups(client, order="priority")[0]["overdue"]
    assert by_priority == [high, high_later, medium, low]
    assert follow_ups(client, priority="high")[0]["overdue"] == [high, high_later]


@pytest.mark.parametrize("order", ["", "alphabetical"])
def test_an_order_not_offered_is_refused(api, order):
    response = api.get("/api/worklists/follow-ups/", {"order": order})
    assert response.status_code == 400 and "order" in response.json()["errors"]


# Tallies ----------------------------------------------------------------------------


EVERYONE = Q()


def live_owner_counts(now, horizon, owners=EVERYONE):
    follow_ups = FollowUp.objects.filter(owners, status="open", due_at__lt=now + horizon)
    counts = worklists._owner_counts(follow_ups, worklists.follow_up_buckets(now, horizon))
    return {owner: row for owner, row in counts.items() if any(row.values())}


def tallied_owner_counts(now, horizon, owners=EVERYONE, tallied_owners=EVERYONE):
    counted = worklists.Counted(Q(pk__in=[]), rows=owners, tally=tallied_owners)
    counts = worklists._tallied_owner_counts(now, horizon, counted)
    return {owner: row for owner, row in counts.items() if any(row.values())}


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_team_counts_from_the_tallies_are_the_live_counts(
    deck, coordinator, billing, settings, zone
):
    """The tallies follow every write (create, transition, reassignment, completion,
    deletion), and the counts they give at any moment, across day boundaries (the
    tallies' UTC days and the clinic's own), are the ones counted from the rows."""
    settings.TIME_ZONE = zone
    with time_machine.travel(NOW, tick=False):
        patient = PatientFactory()
        due = [at(11, 14, 23), at(11, 15, 0, 30), at(11, 15, 13), at(11, 16, 1), at(11, 21)]
        made = [
            FollowUpFactory(patient=patient, due_at=when, assigned_to=owner, queue=queue)
            for when in due
            for owner, queue in ((billing, ""), (None, "billing"), (coordinator, ""))
        ]
        FollowUp.objects.filter(pk=made[0].pk).update(assigned_to=coordinator)
        FollowUp.objects.filter(pk=made[1].pk).update(due_at=at(11, 25))
        services.follow_up_complete(actor=coordinator, follow_up=made[2], outcome="Called")
        made[3].delete()
        walk(coordinator, sent(at(11, 14, 23, 59)), priority="urgent")
        deck["w5"].delete()  # a referral leaves its tally when it goes

    targets = service_levels.targets()
    horizon = dt.timedelta(days=7)
    for hours in (-30, -13, -1, 0, 1, 11, 12, 13, 36, 24 * 9):
        now = NOW + dt.timedelta(hours=hours)
        assert worklists.team_bucket_counts(targets, now) == worklists.bucket_counts(
            Referral.objects.all(), targets, now
        ), hours
        assert tallied_owner_counts(now, horizon) == live_owner_counts(now, horizon), hours
        mine = Q(assigned_to=billing) | Q(queue="billing")
        assert tallied_owner_counts(
            now, horizon, mine, Q(assignee=billing.pk) | Q(queue="billing")
        ) == live_owner_counts(now, horizon, mine), hours

    def tallies_now():
        return sorted(
            (*row, n)
            for *row, n in ReferralTally.objects.filter(n__gt=0).values_list(
                "status", "priority_rank", "day", "n"
            )
        ), sorted(
            FollowUpTally.objects.filter(n__gt=0).values_list("assignee", "queue", "day", "n")
        )

    kept = tallies_now()
    tallies.rebuild()
    assert tallies_now() == kept and kept[0] and kept[1]


def test_the_team_views_count_from_the_tallies(api, deck):
    """The whole team's lists without filters read the tallies (their counts are the
    ones the rows give, checked above); a filtered list counts its rows."""
    ReferralTally.objects.update(n=1000)
    team, _ = worklist(api, team="true")
    assert team["accepted_not_scheduled"]["count"] > 1000
    filtered, _ = worklist(api, team="true", priority="routine")
    assert filtered["accepted_not_scheduled"]["count"] < 1000


def test_the_team_counts_leave_out_what_the_user_may_not_see(api, coordinator, clinician):
    """A follow-up from a restricted interaction is in the tallies; the team's counts
    of a coordinator who may not see it (not the patient's) leave it out."""
    with time_machine.travel(NOW, tick=False):
        patient = PatientFactory()
        secret = InteractionFactory(patient=patient, sensitivity="restricted")
        FollowUpFactory(patient=patient, interaction=secret, due_at=at(11, 14), queue="billing")
        FollowUpFactory(patient=patient, due_at=at(11, 14), queue="billing")
    counts = {
        user: {b["key"]: b["count"] for b in body["buckets"]}["overdue"]
        for user, body in (
            ("coordinator", follow_ups(api, team="true")[1]),
            ("clinician", follow_ups(client_for(clinician), team="true")[1]),
        )
    }
    assert counts == {"coordinator": 1, "clinician": 2}
