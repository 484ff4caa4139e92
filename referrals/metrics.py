"""Referral metrics, as docs/domain.md defines them, computed by the database.

The cohort is the referrals *sent* in the period (``sent_at`` from the start date to the
end date, inclusive) that match the filters.

- loop closure (CMS50 style): of the cohort, those whose report from the receiving
  provider has been received (each referral counted once);
- time to accept / schedule / close: median and 90th percentile of the days between
  the first transition into each state, over cohort referrals that reached the later
  state; the times are counted in duration bins (``crm.db``), each taken at its bin's
  mean: exact when a bin's times are equal, otherwise within 1%;
- no-show rate: of the appointments in the cohort that came due and got an outcome,
  the share recorded as a no-show (no_show events / (no_show + seen events));
- out of network: cohort referrals whose receiving organization or practitioner is out
  of network;
- follow-ups on time: of the follow-ups due in the period and already due (not
  cancelled), those completed by their due time.
"""

from datetime import date, datetime

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum, Value

from crm.db import (
    DAY,
    ElapsedBin,
    ElapsedSeconds,
    binned_percentiles,
    median_and_p90,
    triggers_off,
)
from crm.periods import period_bounds
from crm.tallies import split_q
from referrals.choices import FollowUpStatus, ReferralAction
from referrals.choices import ReferralStatus as S
from referrals.models import (
    DueFollowUpTally,
    FollowUp,
    Organization,
    Practitioner,
    Referral,
    ReferralTimeTally,
    SentReferralTally,
)
from referrals.tallies import SPANS
from referrals.worklists import bucket_counts, team_bucket_counts

STATE_TIMES = f"""
UPDATE referrals_referral SET
    accepted_at = firsts.accepted_at, scheduled_at = firsts.scheduled_at,
    seen_at = firsts.seen_at, closed_at = firsts.closed_at,
    visits = firsts.visits, no_shows = firsts.no_shows
FROM (
    SELECT referral_id,
        MIN(occurred_at) FILTER (WHERE to_status = '{S.ACCEPTED}') AS accepted_at,
        MIN(occurred_at) FILTER (WHERE action = '{ReferralAction.SCHEDULE}') AS scheduled_at,
        MIN(occurred_at) FILTER (WHERE to_status = '{S.SEEN}') AS seen_at,
        MIN(occurred_at) FILTER (WHERE to_status = '{S.CLOSED}') AS closed_at,
        COUNT(*) FILTER (WHERE action = '{ReferralAction.SEEN}') AS visits,
        COUNT(*) FILTER (WHERE action = '{ReferralAction.NO_SHOW}') AS no_shows
    FROM referrals_referralevent GROUP BY referral_id
) AS firsts
WHERE referrals_referral.id = firsts.referral_id AND referrals_referral.status <> '{S.DRAFT}'
"""


def count_state_times(using=connection) -> None:
    """Set every referral's state times and visit counts from its events, as the
    workflow keeps them (``referrals.workflow``), for rows written without it. No
    change-feed rows: nothing a reader sees changes."""
    with using.cursor() as cursor, triggers_off(cursor, "referrals_referral"):
        cursor.execute(STATE_TIMES)


def _ratio(numerator: int, denominator: int) -> dict:
    rate = round(numerator / denominator, 4) if denominator else None
    return {"numerator": numerator, "denominator": denominator, "rate": rate}


def _sum(*figures: dict) -> dict:
    return {key: sum(figure[key] for figure in figures) for key in figures[0]}


def _counts(referrals: QuerySet[Referral]) -> dict:
    return referrals.aggregate(
        sent=Count("pk"),
        closed=Count("pk", filter=Q(report_received_on__isnull=False)),
        no_show=Sum("no_shows", default=0),
        seen=Sum("visits", default=0),
    )


def _bins(referrals: QuerySet[Referral]) -> list[tuple[str, int, int, int]]:
    """The times between states of ``referrals`` in duration bins: (span, bin, count,
    seconds)."""
    binned = [
        referrals.filter(**{f"{since}__isnull": False, f"{until}__isnull": False})
        .annotate(span=Value(span), bin=ElapsedBin(since, until))
        .values("span", "bin")
        .annotate(n=Count("pk"), seconds=Sum(ElapsedSeconds(since, until)))
        .values_list("span", "bin", "n", "seconds")
        .order_by()
        for span, (since, until) in SPANS.items()
    ]
    return list(binned[0].union(*binned[1:], all=True).order_by())


# Not cancelled, as the statuses the due-time index (status first) can read.
COUNTED_FOLLOW_UPS = [status for status in FollowUpStatus if status != FollowUpStatus.CANCELLED]


def _due_on_time(follow_ups: QuerySet[FollowUp]) -> dict:
    return follow_ups.filter(status__in=COUNTED_FOLLOW_UPS).aggregate(
        due=Count("pk"),
        on_time=Count("pk", filter=Q(status=FollowUpStatus.DONE, completed_at__lte=F("due_at"))),
    )


def referral_metrics(
    referrals: QuerySet[Referral],
    follow_ups: QuerySet[FollowUp],
    *,
    start: date,
    end: date,
    targets,
    now: datetime,
    hidden_follow_ups: QuerySet[FollowUp] | None = None,
) -> dict:
    """The figures for ``referrals`` and ``follow_ups`` (those the user may read, as
    filtered). ``hidden_follow_ups``, for a reader of every referral with no filter: the
    follow-ups the user may not read. The whole days (for the times between states,
    weeks) of the period are then read from the tallies kept for all rows
    (``referrals.tallies``), less the hidden follow-ups; the rows at the ends of the
    period are read live."""
    begin, finish = period_bounds(start, end)
    due_by = max(begin, min(finish, now))
    cohort = referrals.filter(sent_at__gte=begin, sent_at__lt=finish)
    due = follow_ups.filter(due_at__gte=begin, due_at__lt=due_by)
    if hidden_follow_ups is None:
        counts, bins, on_time = _counts(cohort), _bins(cohort), _due_on_time(due)
    else:
        days, edges = split_q("sent_at", begin, finish)
        tallied = SentReferralTally.objects.filter(days).aggregate(
            sent=Sum("n", default=0),
            closed=Sum("closed", default=0),
            no_show=Sum("no_shows", default=0),
            seen=Sum("visits", default=0),
        )
        counts = _sum(_counts(referrals.filter(edges)), tallied)

        weeks, edges = split_q("sent_at", begin, finish, weekly=True)
        bins = _bins(referrals.filter(edges)) + list(
            ReferralTimeTally.objects.filter(weeks)
            .values("span", "bin")
            .annotate(total=Sum("n"), sum_seconds=Sum("seconds"))
            .values_list("span", "bin", "total", "sum_seconds")
        )

        days, edges = split_q("due_at", begin, due_by)
        tallied = DueFollowUpTally.objects.filter(days).aggregate(
            due=Sum("n", default=0), on_time=Sum("on_time", default=0)
        )
        hidden = _due_on_time(hidden_follow_ups.filter(due_at__gte=begin, due_at__lt=due_by))
        on_time = _sum(_due_on_time(follow_ups.filter(edges)), tallied)
        on_time = {key: on_time[key] - hidden[key] for key in on_time}

    # Counted as those sent to an organization out of network, and those sent to a
    # practitioner out of network at another organization: each read from its index.
    organizations = Organization.objects.filter(in_network=False)
    out_of_network = cohort.filter(receiving_organization__in=organizations).count()
    out_of_network += (
        cohort.filter(receiving_practitioner__in=Practitioner.objects.filter(in_network=False))
        .exclude(receiving_organization__in=organizations)
        .count()
    )
    if hidden_follow_ups is not None:  # every referral: counted from the tallies
        overdue_now = team_bucket_counts(targets, now)
    else:
        overdue_now = bucket_counts(referrals, targets, now)

    return {
        "period": {"start": start, "end": end},
        "sent": counts["sent"],
        "loop_closure": _ratio(counts["closed"], counts["sent"]),
        "days": {
            span: {
                **median_and_p90(
                    binned_percentiles(row[1:] for row in bins if row[0] == span), DAY
                ),
                "n": sum(row[2] for row in bins if row[0] == span),
            }
            for span in SPANS
        },
        "overdue_now": overdue_now,
        "no_show": _ratio(counts["no_show"], counts["no_show"] + counts["seen"]),
        "out_of_network": _ratio(out_of_network, counts["sent"]),
        "follow_ups_on_time": _ratio(on_time["on_time"], on_time["due"]),
    }
