"""First responses read from the tallies: the tallies stay what counting the rows again
gives after every kind of write, and the figures read from them are those counted live,
for every reader and period."""

import datetime as dt
import random

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from crm.periods import period_bounds
from interactions import replies, tallies
from interactions.metrics import TalliedContacts, first_responses_by_channel
from interactions.models import FirstReplyTally, Interaction
from interactions.selectors import tallied_contacts, visible_interactions_q
from tests.factories import InteractionFactory, PatientFactory
from tests.tallies import tally_rows

pytestmark = pytest.mark.django_db

UTC = dt.UTC
START = dt.datetime(2026, 10, 26, 8, tzinfo=UTC)


def counted() -> dict:
    return tally_rows(FirstReplyTally)


def assert_tallies_are_the_rows():
    kept = counted()
    tallies.rebuild()
    assert counted() == kept


@pytest.fixture
def contacts(coordinator):
    """Inbound contacts over eight weeks on three channels, most answered after minutes
    to days; some restricted, one patient's coordinated by the coordinator."""
    rng = random.Random(5)
    own, other = PatientFactory(care_coordinator=coordinator), PatientFactory()
    inbound = []
    for _ in range(80):
        asked_at = START + dt.timedelta(hours=rng.uniform(0, 24 * 56))
        asked = InteractionFactory(
            patient=rng.choice([own, other]),
            channel=rng.choice(["phone", "sms", "email"]),
            department=rng.choice(["contact_center", "billing"]),
            sensitivity=rng.choice(["normal", "normal", "normal", "restricted"]),
            occurred_at=asked_at,
        )
        inbound.append(asked)
        if rng.random() < 0.8:
            InteractionFactory(
                patient=asked.patient,
                parent=asked,
                direction="outbound",
                channel=asked.channel,
                occurred_at=asked_at + dt.timedelta(minutes=rng.uniform(1, 60 * 72)),
            )
    return inbound


PERIODS = [
    (dt.date(2026, 11, 2), dt.date(2026, 11, 29)),
    (dt.date(2026, 10, 28), dt.date(2026, 12, 24)),
    (dt.date(2026, 11, 4), dt.date(2026, 11, 6)),
    (dt.date(2026, 11, 10), dt.date(2026, 11, 10)),
    (dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
]


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Tokyo"])
def test_the_figures_from_the_tallies_are_the_figures_counted_live(
    contacts, coordinator, clinician, zone
):
    with override_settings(TIME_ZONE=zone):
        for user in (coordinator, clinician):
            visible = Interaction.objects.filter(visible_interactions_q(user, per_row=True))
            for channels in (None, ["sms", "email"]):
                live_rows = visible if channels is None else visible.filter(channel__in=channels)
                for start, end in PERIODS:
                    begin, finish = period_bounds(start, end)
                    live = first_responses_by_channel(live_rows, begin, finish)
                    tallied = tallied_contacts(user, channels)
                    assert first_responses_by_channel(None, begin, finish, tallied) == live


def test_a_coordinator_counts_only_their_own_patients_restricted_contacts(
    contacts, coordinator, clinician
):
    begin, finish = period_bounds(dt.date(2026, 10, 1), dt.date(2026, 12, 31))

    def inbound(user) -> int:
        rows = first_responses_by_channel(None, begin, finish, tallied_contacts(user, None))
        return sum(row["inbound"] for row in rows)

    restricted = [c for c in contacts if c.sensitivity == "restricted"]
    others = [c for c in restricted if c.patient.care_coordinator_id != coordinator.pk]
    assert others and len(others) < len(restricted)
    assert inbound(clinician) == len(contacts)
    assert inbound(coordinator) == len(contacts) - len(others)


def test_the_tallies_are_the_rows_after_every_kind_of_write(contacts):
    assert_tallies_are_the_rows()
    assert FirstReplyTally.objects.filter(n__gt=0).count() > 20
    first, second, third, fourth = contacts[:4]
    # A reply to an unanswered contact, one moved earlier, one deleted.
    InteractionFactory(
        patient=first.patient,
        parent=first,
        direction="outbound",
        occurred_at=first.occurred_at + dt.timedelta(hours=1),
    )
    reply = Interaction.objects.filter(parent__isnull=False).exclude(parent=first).first()
    reply.occurred_at = reply.parent.occurred_at + dt.timedelta(minutes=3)
    reply.save()
    Interaction.objects.filter(parent=second).delete()
    # A contact re-timed into another week, marked restricted, moved to another channel.
    Interaction.objects.filter(pk=third.pk).update(occurred_at=START + dt.timedelta(days=20))
    Interaction.objects.filter(pk=fourth.pk).update(sensitivity="restricted", channel="chat")
    # An outbound contact turned inbound, and one deleted with its replies.
    Interaction.objects.filter(pk=reply.pk).update(direction="inbound")
    Interaction.objects.filter(parent=contacts[5]).delete()
    contacts[5].delete()
    assert_tallies_are_the_rows()
    # A rebuild of the first replies with the triggers off leaves the tallies to rebuild.
    kept = counted()
    replies.rebuild()
    tallies.rebuild()
    assert counted() == kept


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_a_periods_reply_times_are_read_from_the_week_index_alone(contacts, clinician):
    begin, finish = period_bounds(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    everyone = TalliedContacts(["normal", "restricted"], None, Interaction.objects.none())
    with CaptureQueriesContext(connection) as captured:
        first_responses_by_channel(None, begin, finish, everyone)
    (sql,) = [query["sql"] for query in captured if "firstreplytally" in query["sql"]]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using firstreplytally_week_idx" in plan, plan
