"""Worklist buckets from a hand-computed deck at a fixed time."""

import datetime as dt

import pytest
import time_machine

from referrals import services
from tests.conftest import client_for
from tests.factories import FollowUpFactory, PatientFactory, UserFactory
from tests.referrals.deck import at
from tests.referrals.helpers import walk

pytestmark = pytest.mark.django_db

NOW = at(11, 15, 12)


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
        # roles, service levels, bucket counts, ranked items, access record
        with django_assert_num_queries(5):
            worklist(api)


# Follow-ups ------------------------------------------------------------------------


def follow_up_worklist(client, **params):
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
    buckets, body = follow_up_worklist(client_for(billing))
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
        follow_up_worklist(client_for(billing), limit=2, offset=offset)[0]["overdue"]
        for offset in (0, 2, 4)
    ]
    assert pages == [overdue[:2], overdue[2:4], overdue[4:]]


def test_the_team_view_and_a_queue_filter(api, coordinator):
    with time_machine.travel(NOW, tick=False):
        pharmacy = FollowUpFactory(due_at=at(11, 14), queue="pharmacy").pk
        FollowUpFactory(due_at=at(11, 14), assigned_to=UserFactory(), queue="")
    buckets, _ = follow_up_worklist(api, queue="pharmacy")
    assert buckets["overdue"] == [pharmacy]
    buckets, _ = follow_up_worklist(api, team="true")
    assert len(buckets["overdue"]) == 2


def test_the_follow_up_worklist_query_count_is_constant(
    api, coordinator, django_assert_num_queries
):
    for size in (1, 20):
        with time_machine.travel(NOW, tick=False):
            for n in range(size):
                FollowUpFactory(assigned_to=coordinator, queue="", due_at=at(11, 10 + n % 10))
        coordinator.__dict__.pop("_crm_roles", None)
        with django_assert_num_queries(4):  # roles, counts by owner/bucket, items, record
            follow_up_worklist(api)


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
    assert follow_up_worklist(client)[0]["overdue"] == [low, high, medium, high_later]
    by_priority = follow_up_worklist(client, order="priority")[0]["overdue"]
    assert by_priority == [high, high_later, medium, low]
    assert follow_up_worklist(client, priority="high")[0]["overdue"] == [high, high_later]


@pytest.mark.parametrize("order", ["", "alphabetical"])
def test_an_order_not_offered_is_refused(api, order):
    response = api.get("/api/worklists/follow-ups/", {"order": order})
    assert response.status_code == 400 and "order" in response.json()["errors"]
