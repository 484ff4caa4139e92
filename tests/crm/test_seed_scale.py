"""The scale data set: rows that hold together as the application's own would."""

import itertools
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import DataError, connection
from django.db.models import Count, F, Max, Sum
from django.utils import timezone

from api.management.commands.seed_scale import (
    HEAVY_INTERACTIONS,
    REFERRAL_STATES,
    REFERRAL_VISIT,
)
from appointments.models import Appointment
from crm.db import indexes_built_after
from interactions import replies
from interactions.models import Complaint, FirstReplyTally, Interaction
from interactions.tallies import UNANSWERED
from patients.models import ContactPoint, Patient
from referrals import tallies
from referrals.metrics import count_state_times
from referrals.models import (
    FollowUp,
    FollowUpTally,
    Referral,
    ReferralEvent,
    ReferralTally,
    ReferralTimeTally,
    SentReferralTally,
)
from referrals.tallies import COUNTED_STATUSES
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, table))


def test_the_scale_data_set_holds_together(api):
    earlier = PatientFactory()
    before = indexes("interactions_interaction")
    call_command("seed_scale", patients=400, verbosity=0)
    # The indexes dropped for the load (PostgreSQL) are all back.
    assert indexes("interactions_interaction") == before

    seeded = Patient.objects.filter(mrn__startswith="S")
    assert seeded.count() == 400
    assert seeded.filter(care_coordinator__isnull=False).count() > 300
    # Every patient has a mobile phone; the first one is the heavy record.
    assert ContactPoint.objects.filter(patient__in=seeded, system="sms").count() == 400
    heaviest = Interaction.objects.values("patient").annotate(n=Count("id")).aggregate(Max("n"))
    assert heaviest["n__max"] == HEAVY_INTERACTIONS
    # Every state is there, and each referral's events lead to its status.
    statuses = Counter(Referral.objects.values_list("status", flat=True))
    assert set(statuses) == {state for state, _, _ in REFERRAL_STATES}
    for referral in Referral.objects.all()[:200]:
        events = list(ReferralEvent.objects.filter(referral=referral).order_by("id"))
        assert events[0].action == "create" and events[-1].to_status == referral.status
        assert all(a.to_status == b.from_status for a, b in itertools.pairwise(events))
        assert events[-1].occurred_at == referral.status_changed_at
    # The state times and counts are the workflow's: as counted again from the events.
    kept = ("accepted_at", "scheduled_at", "seen_at", "closed_at")
    kept += ("visits", "no_shows")
    as_loaded = list(Referral.objects.order_by("pk").values_list(*kept))
    count_state_times()
    assert list(Referral.objects.order_by("pk").values_list(*kept)) == as_loaded
    assert Referral.objects.filter(seen_at__isnull=False).exists()
    # Most inbound contacts are answered on their thread, and keep the first reply's
    # time as the triggers would (they were off for the load on PostgreSQL).
    inbound = Interaction.objects.filter(direction="inbound")
    answered = inbound.filter(first_reply_at__isnull=False).count()
    assert 0.5 < answered / inbound.count() < 0.9
    as_loaded = list(inbound.order_by("pk").values_list("first_reply_at", flat=True))
    replies.rebuild()
    assert list(inbound.order_by("pk").values_list("first_reply_at", flat=True)) == as_loaded
    for follow_up in FollowUp.objects.select_related("referral")[:200]:
        assert follow_up.patient_id == follow_up.referral.patient_id
    for complaint in Complaint.objects.prefetch_related("events"):
        assert max(complaint.events.all(), key=lambda e: e.pk).to_status == complaint.status
    # The worklists' tallies count the loaded rows (their triggers were off for it).
    tallied = ReferralTally.objects.values("status").annotate(n=Sum("n"))
    assert {row["status"]: row["n"] for row in tallied if row["n"]} == {
        status: n for status, n in statuses.items() if status in COUNTED_STATUSES
    }
    open_follow_ups = FollowUp.objects.filter(status="open").count()
    assert FollowUpTally.objects.aggregate(n=Sum("n"))["n"] == open_follow_ups > 0
    # The metrics' tallies too: as counted again from the rows.
    sent = Referral.objects.filter(sent_at__isnull=False).count()
    assert SentReferralTally.objects.aggregate(n=Sum("n"))["n"] == sent > 0
    as_loaded = [sorted(ReferralTimeTally.objects.values_list("span", "week", "bin", "n"))]
    tallies.rebuild()
    assert [sorted(ReferralTimeTally.objects.values_list("span", "week", "bin", "n"))] == as_loaded
    assert FirstReplyTally.objects.aggregate(n=Sum("n"))["n"] == inbound.count()
    unanswered = FirstReplyTally.objects.filter(bin=UNANSWERED).aggregate(n=Sum("n"))["n"]
    assert unanswered == inbound.count() - answered
    # Referrals go to providers, some of them out of network.
    assert Referral.objects.filter(receiving_organization__in_network=False).exists()
    assert Referral.objects.filter(
        receiving_organization__in_network=True, receiving_practitioner__in_network=False
    ).exists()

    # Each referral with a visit has it as an appointment at its provider, in the state
    # the referral says, at its appointment time; every patient has clinic visits, and
    # some have one ahead.
    visits = Appointment.objects.filter(referral__isnull=False).select_related("referral")
    assert visits.count() == Referral.objects.filter(status__in=REFERRAL_VISIT).count() > 0
    for visit in visits[:300]:
        referral = visit.referral
        assert (visit.patient_id, visit.start) == (referral.patient_id, referral.appointment_at)
        assert visit.organization_id == referral.receiving_organization_id
        expected = REFERRAL_VISIT[referral.status]
        assert visit.status in ({"booked", "confirmed"} if expected == "booked" else {expected})
    clinic = Appointment.objects.filter(referral__isnull=True)
    assert clinic.values("patient").distinct().count() == 400
    now = timezone.now()
    assert clinic.filter(start__gt=now, status__in=["booked", "confirmed"]).exists()
    assert not clinic.filter(start__lt=now, status__in=["booked", "confirmed"]).exists()
    assert not Appointment.objects.filter(end__lte=F("start")).exists()

    # The application goes on writing after it: ids move past the seeded rows.
    response = api.post(
        "/api/patients/",
        {"given_name": "Ada", "family_name": "Quint", "birth_date": "1990-01-02"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["id"] > earlier.pk + 400
    assert api.get(f"/api/patients/{seeded.first().pk}/360/").status_code == 200
    last_seeded = Appointment.objects.aggregate(last=Max("pk"))["last"]
    booked = api.post(
        "/api/appointments/",
        {
            "patient_id": seeded.first().pk,
            "service_type": "follow-up",
            "start": "2031-03-03T15:00:00Z",
            "location": "Main clinic",
        },
        format="json",
    )
    assert booked.status_code == 201, booked.content
    assert booked.json()["id"] > last_seeded

    call_command("seed_scale", patients=400, verbosity=0)  # loaded already: nothing added
    assert Patient.objects.filter(mrn__startswith="S").count() == 400


@pytest.mark.skipif(connection.vendor != "postgresql", reason="indexes are only dropped there")
def test_a_load_that_fails_with_the_indexes_dropped_leaves_them_in_place():
    table = "interactions_interaction"
    before = indexes(table)
    with (
        pytest.raises(DataError),
        connection.cursor() as cursor,
        indexes_built_after(cursor, table),
    ):
        assert "interaction_timeline_idx" not in indexes(table)
        assert f"{table}_pkey" in indexes(table)  # a constraint's index stays
        cursor.execute("SELECT 1 / 0")  # a load failing half-way
    assert indexes(table) == before
