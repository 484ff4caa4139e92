"""Referral metrics, as docs/domain.md defines them, computed by the database.

The cohort is the referrals *sent* in the period (``sent_at`` from the start date to the
end date, inclusive) that match the filters.

- loop closure (CMS50 style): of the cohort, those whose report from the receiving
  provider has been received (each referral counted once);
- time to accept / schedule / close: median and 90th percentile of the days between
  the first transition into each state, over cohort referrals that reached the later
  state;
- no-show rate: of the appointments in the cohort that came due and got an outcome,
  the share recorded as a no-show (no_show events / (no_show + seen events));
- out of network: cohort referrals whose receiving organization or practitioner is out
  of network;
- follow-ups on time: of the follow-ups due in the period and already due (not
  cancelled), those completed by their due time.
"""

from datetime import date, datetime

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum

from crm.db import DAY, ElapsedPercentiles, median_and_p90, triggers_off
from crm.periods import period_bounds
from referrals.choices import FollowUpStatus, ReferralAction
from referrals.choices import ReferralStatus as S
from referrals.models import FollowUp, Referral
from referrals.worklists import bucket_counts, team_bucket_counts

# interval name -> (from timestamp, to timestamp)
INTERVALS = {
    "sent_to_accepted": ("sent_at", "accepted_at"),
    "accepted_to_scheduled": ("accepted_at", "scheduled_at"),
    "seen_to_closed": ("seen_at", "closed_at"),
    "sent_to_closed": ("sent_at", "closed_at"),
}


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


def referral_metrics(
    referrals: QuerySet[Referral],
    follow_ups: QuerySet[FollowUp],
    *,
    start: date,
    end: date,
    targets,
    now: datetime,
    everyone: bool = False,
) -> dict:
    begin, finish = period_bounds(start, end)
    cohort = referrals.filter(sent_at__gte=begin, sent_at__lt=finish)

    # The state times are kept on the referral (a pass over the cohort's events took
    # 4.3 s for a year at 2,000,000 referrals, a subquery per referral and state 27 s).
    aggregates = {
        "sent": Count("pk"),
        "closed": Count("pk", filter=Q(report_received_on__isnull=False)),
        "out_of_network": Count(
            "pk",
            filter=Q(receiving_organization__in_network=False)
            | Q(receiving_practitioner__in_network=False),
        ),
        "no_show": Sum("no_shows", default=0),
        "seen": Sum("visits", default=0),
    }
    for name, (since, until) in INTERVALS.items():
        aggregates[name] = ElapsedPercentiles(since, until)
        aggregates[f"{name}_n"] = Count(F(until))
    figures = cohort.aggregate(**aggregates)

    due = follow_ups.filter(due_at__gte=begin, due_at__lt=min(finish, now)).exclude(
        status=FollowUpStatus.CANCELLED
    )
    on_time = due.aggregate(
        due=Count("pk"),
        on_time=Count("pk", filter=Q(status=FollowUpStatus.DONE, completed_at__lte=F("due_at"))),
    )

    if everyone:  # every referral: counted from the tallies
        overdue_now = team_bucket_counts(targets, now)
    else:
        overdue_now = bucket_counts(referrals, targets, now)

    return {
        "period": {"start": start, "end": end},
        "sent": figures["sent"],
        "loop_closure": _ratio(figures["closed"], figures["sent"]),
        "days": {
            name: {
                **median_and_p90(figures[name], DAY),
                "n": figures[f"{name}_n"],
            }
            for name in INTERVALS
        },
        "overdue_now": overdue_now,
        "no_show": _ratio(figures["no_show"], figures["no_show"] + figures["seen"]),
        "out_of_network": _ratio(figures["out_of_network"], figures["sent"]),
        "follow_ups_on_time": _ratio(on_time["on_time"], on_time["due"]),
    }
