"""Worklists: "what needs me now?" for coordinators (referrals) and for everyone
(follow-ups). Each answers with bucket counts and the most urgent items per bucket in a
fixed number of queries, whatever the size of the list."""

import operator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import reduce

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from crm.db import joins_in_written_order
from crm.tallies import DAY, day_of, start_of
from crm.worklists import read_in_order
from referrals import service_levels, tallies
from referrals.choices import FOLLOW_UP_PRIORITY_RANK, PRIORITY_RANK, FollowUpStatus
from referrals.choices import ReferralStatus as S
from referrals.models import FollowUp, FollowUpTally, Referral, ReferralTally, ServiceLevelTarget
from referrals.selectors import follow_up_rows, referral_rows

User = get_user_model()


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


BUCKET_STATUSES = tallies.COUNTED_STATUSES


def _redirected() -> Exists:
    """A declined referral another one redirects (to a new provider)."""
    return Exists(Referral.objects.filter(replaces=OuterRef("pk")))


def bucket_conditions(targets: dict[str, ServiceLevelTarget], now: datetime) -> dict[str, Q]:
    """Which open referrals are in each bucket; none is in two, and one that needs
    nothing now (sent, not yet past its target) is in none."""
    return {
        ReferralBucket.AWAITING_RESPONSE: service_levels.overdue_q(targets, now, [S.SENT]),
        ReferralBucket.ACCEPTED_NOT_SCHEDULED: Q(status=S.ACCEPTED),
        ReferralBucket.APPOINTMENT_PASSED: Q(status=S.SCHEDULED, appointment_at__lt=now),
        ReferralBucket.LOOP_OPEN: Q(status=S.SEEN),
        ReferralBucket.DECLINED_NEEDS_PROVIDER: Q(status=S.DECLINED) & ~_redirected(),
        ReferralBucket.NO_SHOW_REBOOK: Q(status=S.NO_SHOW),
    }


# The status a referral is in in each bucket.
BUCKET_STATUS = {
    ReferralBucket.AWAITING_RESPONSE: S.SENT,
    ReferralBucket.ACCEPTED_NOT_SCHEDULED: S.ACCEPTED,
    ReferralBucket.APPOINTMENT_PASSED: S.SCHEDULED,
    ReferralBucket.LOOP_OPEN: S.SEEN,
    ReferralBucket.DECLINED_NEEDS_PROVIDER: S.DECLINED,
    ReferralBucket.NO_SHOW_REBOOK: S.NO_SHOW,
}


# What each bucket counts of its status's referrals: all of them ("n"), those past
# their step's due time ("late"), or the declined ones not yet redirected ("waiting").
BUCKET_COUNTS = {
    ReferralBucket.AWAITING_RESPONSE: "late",
    ReferralBucket.ACCEPTED_NOT_SCHEDULED: "n",
    ReferralBucket.APPOINTMENT_PASSED: "late",
    ReferralBucket.LOOP_OPEN: "n",
    ReferralBucket.DECLINED_NEEDS_PROVIDER: "waiting",
    ReferralBucket.NO_SHOW_REBOOK: "n",
}


def _buckets(by_status: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Bucket counts from each status's figures ("n", "late", "waiting")."""
    counts = {}
    for key, figure in BUCKET_COUNTS.items():
        figures = by_status.get(BUCKET_STATUS[key], {})
        counts[key] = {
            "count": figures.get(figure, 0),
            # A declined referral has no due time.
            "overdue": 0 if figure == "waiting" else figures.get("late", 0),
        }
    return counts


def status_figures(referrals: QuerySet, targets, now: datetime) -> QuerySet:
    """Per status and priority of the open ``referrals``: how many ("n"), how many past
    their step's due time ("late"), how many declined and not redirected ("waiting").
    One pass (an index-only scan of a coordinator's), three small expressions: quick
    to build as well as to run."""
    return (
        referrals.filter(status__in=BUCKET_STATUSES)
        .order_by()
        .values("status", "priority_rank")
        .annotate(
            n=Count("pk"),
            late=Count("pk", filter=service_levels.overdue_q(targets, now)),
            waiting=Count("pk", filter=Q(status=S.DECLINED) & ~_redirected()),
        )
    )


def bucket_counts(referrals: QuerySet, targets, now: datetime) -> dict[str, dict[str, int]]:
    """How many referrals each bucket holds, and how many of them are past their next
    step's due time."""
    by_status: dict[str, dict[str, int]] = {}
    for row in status_figures(referrals, targets, now):
        figures = by_status.setdefault(row["status"], dict.fromkeys(("n", "late", "waiting"), 0))
        for figure in figures:
            figures[figure] += row[figure]
    return _buckets(by_status)


def _cuts(targets: dict[str, ServiceLevelTarget], now: datetime) -> dict[tuple, datetime]:
    """(status, priority rank) -> the moment before which such a referral is overdue
    (for a sent one: in its bucket at all)."""
    cuts = {(S.SCHEDULED, rank): now for rank in PRIORITY_RANK.values()}
    for status, rank, within in service_levels.targets_within(targets):
        cuts[status, rank] = now - within
    return cuts


def team_bucket_counts(targets, now: datetime) -> dict[str, dict[str, int]]:
    """:func:`bucket_counts` of every referral, from the tallies: the whole days before
    each cut from the tally, the cut's own day read live from the worklist indexes, and
    the declined ones already redirected. Three small reads instead of a pass over half
    a million referrals."""
    cuts = _cuts(targets, now)
    tallied = {str(status): Sum("n", filter=Q(status=status)) for status in BUCKET_STATUSES}
    live, days = {}, Q(pk__in=[])
    for (status, rank), cut in cuts.items():
        day, start = tallies.split(cut)
        column = "appointment_at" if status == S.SCHEDULED else "status_changed_at"
        tallied[f"{status}_{rank}"] = Sum(
            "n", filter=Q(status=status, priority_rank=rank, day__lt=day)
        )
        today = Q(status=status, priority_rank=rank, **{f"{column}__gte": start})
        live[f"{status}_{rank}"] = Count("pk", filter=today & Q(**{f"{column}__lt": cut}))
        days |= today & Q(**{f"{column}__lt": start + DAY})
    counted = ReferralTally.objects.aggregate(**tallied)
    for key, n in Referral.objects.filter(days).aggregate(**live).items():
        counted[key] = (counted[key] or 0) + n
    redirected = (
        Referral.objects.filter(replaces__isnull=False, replaces__status=S.DECLINED)
        .values("replaces")
        .distinct()
        .count()
    )
    by_status = {
        status: {
            "n": counted[status] or 0,
            "late": sum(counted[f"{s}_{rank}"] for s, rank in cuts if s == status),
        }
        for status in BUCKET_STATUSES
    }
    by_status[S.DECLINED]["waiting"] = by_status[S.DECLINED]["n"] - redirected
    return _buckets(by_status)


def referral_worklist(
    referrals: QuerySet,
    *,
    targets,
    now: datetime,
    limit: int,
    offset: int = 0,
    everyone: bool = False,
) -> list[dict]:
    """Bucket counts and the ``limit`` most urgent referrals of each bucket (after the
    first ``offset``), most urgent first: priority, then how long past due. A bucket's
    due times follow from when its referrals entered their state (or from the visit
    time), so that is the order; each bucket is one read of an index in that order.
    ``everyone``: ``referrals`` are all of them, and the counts come from the tallies.
    Eight queries (ten for everyone)."""
    if everyone:
        counts = team_bucket_counts(targets, now)
    else:
        counts = bucket_counts(referrals, targets, now)
    picks = []
    for key, condition in bucket_conditions(targets, now).items():
        passed = key == ReferralBucket.APPOINTMENT_PASSED
        since = "appointment_at" if passed else "status_changed_at"
        order = referrals.filter(condition).order_by("priority_rank", since, "pk")
        picks.append(order[offset : offset + limit])
    with joins_in_written_order():  # the rows and the five tables they point to
        rows = read_in_order(referral_rows(), picks)
    return [
        {"key": key, "label": label, **counts[key], "items": items}
        for (key, label), items in zip(ReferralBucket.choices, rows, strict=True)
    ]


def _end_of_today(now: datetime) -> datetime:
    return timezone.make_aware(
        datetime.combine(timezone.localdate(now) + timedelta(days=1), time.min)
    )


def follow_up_buckets(now: datetime, horizon: timedelta) -> dict[str, Q]:
    """Which open follow-ups each bucket holds: past due, due by the end of today, due
    after today within ``horizon``."""
    end_of_today = _end_of_today(now)
    return {
        FollowUpBucket.OVERDUE: Q(due_at__lt=now),
        FollowUpBucket.DUE_TODAY: Q(due_at__gte=now, due_at__lt=end_of_today),
        FollowUpBucket.UPCOMING: Q(due_at__gte=end_of_today, due_at__lt=now + horizon),
    }


Owner = tuple[int | None, str]  # (assignee id, queue)


def _owner_counts(follow_ups: QuerySet, buckets: dict[str, Q]) -> dict[Owner, dict]:
    rows = (
        follow_ups.order_by()
        .values("assigned_to", "queue")
        .annotate(**{key: Count("pk", filter=condition) for key, condition in buckets.items()})
    )
    return {(row.pop("assigned_to"), row.pop("queue")): row for row in rows}


@dataclass(frozen=True)
class Counted:
    """Which follow-ups a worklist counts from the tallies: those of the owners ``rows``
    selects (``tally``, the same owners over the tally's assignee and queue), but the
    ``hidden`` ones (restricted ones the user may not see)."""

    hidden: Q
    rows: Q = field(default_factory=Q)
    tally: Q = field(default_factory=Q)


def _tallied_owner_counts(now: datetime, horizon: timedelta, counted: Counted) -> dict:
    """:func:`_owner_counts` from the tallies: whole days from the tally, the days of
    now, of the end of today and of the horizon read live, less the hidden ones."""
    buckets = follow_up_buckets(now, horizon)
    cuts = [day_of(moment) for moment in (now, _end_of_today(now), now + horizon)]
    whole_days = {
        FollowUpBucket.OVERDUE: Q(day__lt=cuts[0]),
        FollowUpBucket.DUE_TODAY: Q(day__gt=cuts[0], day__lt=cuts[1]),
        FollowUpBucket.UPCOMING: Q(day__gt=cuts[1], day__lt=cuts[2]),
    }
    rows = (
        FollowUpTally.objects.filter(counted.tally, day__lt=cuts[2])
        .values("assignee", "queue")
        .annotate(**{key: Sum("n", filter=days) for key, days in whole_days.items()})
    )
    counts: dict[Owner, dict] = {
        (row.pop("assignee") or None, row.pop("queue")): {k: n or 0 for k, n in row.items()}
        for row in rows
    }
    starts = {start_of(day) for day in cuts}
    # The days within one range of the due-time index: read by the index alone.
    live_days = Q(due_at__gte=min(starts), due_at__lt=max(starts) + DAY) & reduce(
        operator.or_, (Q(due_at__gte=start, due_at__lt=start + DAY) for start in starts)
    )
    open_ = FollowUp.objects.filter(counted.rows, status=FollowUpStatus.OPEN)
    for rows, sign in (
        (open_.filter(live_days), 1),
        (open_.filter(counted.hidden, due_at__lt=now + horizon), -1),
    ):
        for owner, row in _owner_counts(rows, buckets).items():
            owner_counts = counts.setdefault(owner, dict.fromkeys(buckets, 0))
            for key, n in row.items():
                owner_counts[key] += sign * n
    return counts


def _priority_rank() -> Case:
    return Case(
        *[When(priority=p, then=Value(rank)) for p, rank in FOLLOW_UP_PRIORITY_RANK.items()],
        output_field=models.IntegerField(),
    )


def _people(ids) -> dict[int, dict]:
    people = {}
    for user in User.objects.filter(pk__in=ids).values(
        "pk", "first_name", "last_name", "username"
    ):
        name = f"{user['first_name']} {user['last_name']}".strip()
        people[user["pk"]] = {"id": user["pk"], "name": name or user["username"]}
    return people


def follow_up_worklist(
    follow_ups: QuerySet,
    *,
    now: datetime,
    horizon: timedelta,
    limit: int,
    offset: int = 0,
    by_priority: bool = False,
    counted: Counted | None = None,
) -> dict:
    """Open follow-ups due before ``now + horizon`` by bucket, with counts per owner (a
    person or a department queue). Items earliest due first (each bucket one read of
    the due-time index), or with ``by_priority`` highest priority first and then
    earliest due. With ``counted`` (which says what ``follow_ups`` are) the counts come
    from the tallies. Eight queries (up to ten from the tallies)."""
    buckets = follow_up_buckets(now, horizon)
    open_ = follow_ups.filter(status=FollowUpStatus.OPEN, due_at__lt=now + horizon)
    if counted is None:
        counts = _owner_counts(open_, buckets)
    else:
        counts = _tallied_owner_counts(now, horizon, counted)
    people = _people({person for person, _ in counts if person is not None})
    owners = [
        {"assigned_to": people.get(person), "queue": queue or None, **row}
        for (person, queue), row in counts.items()
        if any(row.values())
    ]
    owners.sort(key=lambda o: (o["assigned_to"] is None, o["queue"] or "", str(o["assigned_to"])))
    order = [_priority_rank().asc()] if by_priority else []
    picks = [
        open_.filter(buckets[key]).order_by(*order, "due_at", "pk")[offset : offset + limit]
        for key, _ in FollowUpBucket.choices
    ]
    return {
        "buckets": [
            {"key": key, "label": label, "count": sum(o[key] for o in owners), "items": items}
            for (key, label), items in zip(
                FollowUpBucket.choices, read_in_order(follow_up_rows(), picks), strict=True
            )
        ],
        "owners": owners,
    }
