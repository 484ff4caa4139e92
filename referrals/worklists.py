"""Worklists: "what needs me now?" for coordinators (referrals) and for everyone
(follow-ups). Each answers with bucket counts and the most urgent items per bucket in a
fixed number of queries, whatever the size of the list."""

from datetime import datetime, time, timedelta

from django.db import models
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Value, When, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from crm.worklists import ranked_buckets
from referrals import service_levels
from referrals.choices import FOLLOW_UP_PRIORITY_RANK, PRIORITY_RANK, FollowUpStatus
from referrals.choices import ReferralStatus as S
from referrals.models import Referral, ServiceLevelTarget


class ReferralBucket(models.TextChoices):
    AWAITING_RESPONSE = "awaiting_response", "Awaiting response past target"
    ACCEPTED_NOT_SCHEDULED = "accepted_not_scheduled", "Accepted, not scheduled"
    APPOINTMENT_PASSED = "appointment_passed", "Appointment passed without an outcome"
    LOOP_OPEN = "loop_open", "Seen, report not back (loop open)"
    DECLINED_NEEDS_PROVIDER = "declined_needs_provider", "Declined, needs a new provider"
    NO_SHOW_REBOOK = "no_show_rebook", "No-show, needs rebooking"


class FollowUpBucket(models.TextChoices):
    OVERDUE = "overdue", "Overdue"
    DUE_TODAY = "due_today", "Due today"
    UPCOMING = "upcoming", "Upcoming"


def referral_bucket(targets: dict[str, ServiceLevelTarget], now: datetime) -> Case:
    """Which worklist bucket an open referral is in; None when it needs nothing now."""
    replaced = Exists(Referral.objects.filter(replaces=OuterRef("pk")))
    return Case(
        When(
            Q(status=S.SENT) & service_levels.overdue_q(targets, now),
            then=Value(ReferralBucket.AWAITING_RESPONSE),
        ),
        When(status=S.ACCEPTED, then=Value(ReferralBucket.ACCEPTED_NOT_SCHEDULED)),
        When(
            status=S.SCHEDULED,
            appointment_at__lt=now,
            then=Value(ReferralBucket.APPOINTMENT_PASSED),
        ),
        When(status=S.SEEN, then=Value(ReferralBucket.LOOP_OPEN)),
        When(Q(status=S.DECLINED) & ~replaced, then=Value(ReferralBucket.DECLINED_NEEDS_PROVIDER)),
        When(status=S.NO_SHOW, then=Value(ReferralBucket.NO_SHOW_REBOOK)),
        default=None,
        output_field=models.CharField(),
    )


def _priority_rank(ranks: dict = PRIORITY_RANK) -> Case:
    return Case(
        *[When(priority=priority, then=Value(rank)) for priority, rank in ranks.items()],
        output_field=models.IntegerField(),
    )


def with_buckets(referrals: QuerySet, targets, now: datetime) -> QuerySet:
    """Referrals that are in a bucket, with ``bucket``, ``due_at`` (their next step's due
    time; none where no target applies, as for a declined one), ``is_overdue``, and
    ``urgent_since`` (the due time, else when they entered their state) for ordering."""
    return (
        referrals.filter(
            status__in=[S.SENT, S.ACCEPTED, S.SCHEDULED, S.SEEN, S.DECLINED, S.NO_SHOW]
        )
        .annotate(bucket=referral_bucket(targets, now))
        .filter(bucket__isnull=False)
        .annotate(
            due_at=service_levels.due_at_expression(targets),
            urgent_since=Coalesce("due_at", "status_changed_at"),
            is_overdue=Case(
                When(due_at__lt=now, then=True),
                default=False,
                output_field=models.BooleanField(),
            ),
        )
    )


def referral_worklist(
    referrals: QuerySet, *, targets, now: datetime, limit: int, offset: int = 0
) -> list[dict]:
    """Bucket counts and the ``limit`` most urgent referrals of each bucket (after the
    first ``offset``), most urgent first: priority, then how long past due. Two
    queries."""
    return ranked_buckets(
        with_buckets(referrals, targets, now),
        ReferralBucket.choices,
        order_by=[_priority_rank().asc(), F("urgent_since").asc(), F("pk").asc()],
        limit=limit,
        offset=offset,
    )


def follow_up_bucket(now: datetime) -> Case:
    end_of_today = timezone.make_aware(
        datetime.combine(timezone.localdate(now) + timedelta(days=1), time.min)
    )
    return Case(
        When(due_at__lt=now, then=Value(FollowUpBucket.OVERDUE)),
        When(due_at__lt=end_of_today, then=Value(FollowUpBucket.DUE_TODAY)),
        default=Value(FollowUpBucket.UPCOMING),
        output_field=models.CharField(),
    )


def _person(row: dict) -> dict | None:
    if row["assigned_to"] is None:
        return None
    name = f"{row['assigned_to__first_name']} {row['assigned_to__last_name']}".strip()
    return {"id": row["assigned_to"], "name": name or row["assigned_to__username"]}


def follow_up_worklist(
    follow_ups: QuerySet,
    *,
    now: datetime,
    horizon: timedelta,
    limit: int,
    offset: int = 0,
    by_priority: bool = False,
) -> dict:
    """Open follow-ups due before ``now + horizon`` by bucket, with counts per owner (a
    person or a department queue). Items earliest due first, or with ``by_priority``
    highest priority first and then earliest due. Two queries."""
    bucketed = follow_ups.filter(status=FollowUpStatus.OPEN, due_at__lt=now + horizon).annotate(
        bucket=follow_up_bucket(now)
    )
    owners: dict[tuple, dict] = {}
    counts = {key: 0 for key in FollowUpBucket.values}
    rows = (
        bucketed.order_by()
        .values(
            "assigned_to",
            "assigned_to__first_name",
            "assigned_to__last_name",
            "assigned_to__username",
            "queue",
            "bucket",
        )
        .annotate(n=Count("pk"))
    )
    for row in rows:
        counts[row["bucket"]] += row["n"]
        owner = owners.setdefault(
            (row["assigned_to"], row["queue"]),
            {
                "assigned_to": _person(row),
                "queue": row["queue"] or None,
                **{key: 0 for key in FollowUpBucket.values},
            },
        )
        owner[row["bucket"]] += row["n"]
    priority_order = [_priority_rank(FOLLOW_UP_PRIORITY_RANK).asc()] if by_priority else []
    ranked = bucketed.annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("bucket")],
            order_by=[*priority_order, F("due_at").asc(), F("pk").asc()],
        )
    ).filter(rank__gt=offset, rank__lte=offset + limit)
    items: dict[str, list] = {key: [] for key in FollowUpBucket.values}
    for follow_up in ranked.order_by("bucket", "rank"):
        items[follow_up.bucket].append(follow_up)
    return {
        "buckets": [
            {"key": key, "label": label, "count": counts[key], "items": items[key]}
            for key, label in FollowUpBucket.choices
        ],
        "owners": sorted(
            owners.values(),
            key=lambda o: (o["assigned_to"] is None, o["queue"] or "", str(o["assigned_to"])),
        ),
    }
