"""Each inbound contact keeps its first reply's time, whatever writes the thread; the
change feed does not report that derived column."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from integrations.models import Change
from interactions import replies
from interactions.metrics import inbound_in, reply_bins
from interactions.models import Interaction
from interactions.selectors import visible_interactions_q
from tests.factories import InteractionFactory, PatientFactory

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - datetime.timedelta(days=2)


def hours(n: float) -> datetime.datetime:
    return T0 + datetime.timedelta(hours=n)


@pytest.fixture
def patient():
    return PatientFactory()


def contact(patient, at, direction="inbound", parent=None):
    return InteractionFactory(patient=patient, direction=direction, occurred_at=at, parent=parent)


def first_reply(interaction):
    return Interaction.objects.values_list("first_reply_at", flat=True).get(pk=interaction.pk)


def test_the_earliest_reply_at_or_after_the_contact_counts(patient):
    asked = contact(patient, hours(0))
    assert first_reply(asked) is None
    contact(patient, hours(5), "outbound", parent=asked)
    assert first_reply(asked) == hours(5)
    contact(patient, hours(2), "outbound", parent=asked)  # logged late, answered earlier
    assert first_reply(asked) == hours(2)
    contact(patient, hours(-1), "outbound", parent=asked)  # before the contact: not a reply
    contact(patient, hours(1), "inbound", parent=asked)  # the patient again: not a reply
    assert first_reply(asked) == hours(2)
    told = contact(patient, hours(0), "outbound")
    contact(patient, hours(1), "outbound", parent=told)
    assert first_reply(told) is None  # only inbound contacts are answered


def test_a_reply_moved_retimed_or_deleted_moves_the_first_reply(patient):
    asked, other = contact(patient, hours(0)), contact(patient, hours(0))
    early = contact(patient, hours(1), "outbound", parent=asked)
    late = contact(patient, hours(3), "outbound", parent=asked)

    early.parent = other
    early.save()
    assert (first_reply(asked), first_reply(other)) == (hours(3), hours(1))

    Interaction.objects.filter(pk=late.pk).update(occurred_at=hours(4))  # a bulk update
    assert first_reply(asked) == hours(4)

    late.delete()
    assert first_reply(asked) is None
    early.delete()
    assert first_reply(other) is None


def test_the_contact_itself_retimed_or_turned_outbound(patient):
    asked = contact(patient, hours(0))
    contact(patient, hours(2), "outbound", parent=asked)
    asked.occurred_at = hours(3)  # now after its reply
    asked.save()
    assert first_reply(asked) is None
    Interaction.objects.filter(pk=asked.pk).update(occurred_at=hours(1))
    assert first_reply(asked) == hours(2)
    Interaction.objects.filter(pk=asked.pk).update(direction="outbound")
    assert first_reply(asked) is None


def test_a_save_of_a_contact_read_before_its_reply_keeps_the_reply(patient):
    asked = contact(patient, hours(0))
    stale = Interaction.objects.get(pk=asked.pk)
    contact(patient, hours(2), "outbound", parent=asked)
    stale.summary = "Asked about parking."
    stale.save()  # writes every column, first_reply_at as it was read
    assert first_reply(asked) == hours(2)
    assert Change.objects.filter(record_id=asked.pk, action="update").count() == 1


def test_rebuild_sets_what_the_triggers_keep(patient):
    threads = []
    for start in range(4):
        asked = contact(patient, hours(start * 10))
        for offset in (3, 1, -1)[start % 3 :]:
            contact(patient, hours(start * 10 + offset), "outbound", parent=asked)
        threads.append(asked)
    kept = {asked.pk: first_reply(asked) for asked in threads}
    assert list(kept.values()) == [hours(1), hours(11), None, hours(31)]
    # Wrong everywhere, as after a load that wrote none or stale ones.
    Interaction.objects.filter(direction="inbound").update(first_reply_at=None)
    Interaction.objects.filter(pk=threads[2].pk).update(first_reply_at=hours(0))
    Interaction.objects.filter(direction="outbound").update(first_reply_at=hours(99))
    replies.rebuild()
    assert {asked.pk: first_reply(asked) for asked in threads} == kept
    assert not Interaction.objects.filter(direction="outbound", first_reply_at__isnull=False)


def test_the_change_feed_reports_the_reply_not_its_derived_column(patient):
    asked = contact(patient, hours(0))
    reply = contact(patient, hours(1), "outbound", parent=asked)
    reply.occurred_at = hours(2)
    reply.save()
    changes = list(
        Change.objects.filter(record_type="Interaction").values_list("record_id", "action")
    )
    assert changes == [(asked.pk, "create"), (reply.pk, "create"), (reply.pk, "update")]
    assert first_reply(asked) == hours(2)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_first_responses_are_read_from_the_inbound_index_alone(coordinator):
    """A coordinator counts the restricted contacts of their own patients: checked per
    restricted row, not by joining every contact of the period to its patient."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    visible = Interaction.objects.filter(visible_interactions_q(coordinator, per_row=True))
    plan = reply_bins(inbound_in(visible, hours(-24), hours(24))).explain()
    assert "Index Only Scan using interaction_inbound_idx" in plan, plan
    assert "Join" not in plan and "Nested Loop" not in plan, plan
