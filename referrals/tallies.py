"""Referrals and follow-ups counted per day or week, kept by database triggers.

The team worklists show how many of half a million open items are in each bucket, and
buckets move with the clock (a referral becomes overdue when its target passes, a
follow-up when its due time does). Counting the rows on every request took seconds at a
million patients. So each open referral is counted in :class:`ReferralTally` under its
status, priority rank and the day (UTC) it entered its state (for a scheduled one, its
visit day), and each open follow-up in :class:`FollowUpTally` under its assignee, queue
and due day. A count up to any moment is then the tallies of the whole days before it
plus the rows of that moment's own day, read live from an index (:func:`split`).

The referral metrics read a period's figures the same way (``crm.tallies``):
referrals sent per day (:class:`SentReferralTally`, with how many have their report
back, their visits and no-shows), follow-ups due per day (:class:`DueFollowUpTally`,
with how many were done on time), and the times between states per week in duration
bins (:class:`ReferralTimeTally`, ``crm.db``).

The triggers (``crm.tallies``) run in the transaction that writes the row, on every
write path (the services, a merge, a bulk update), on PostgreSQL and SQLite. Loads that switch
triggers off (``manage.py seed_scale``) call :func:`rebuild` after. SQLite drops a
table's triggers when a migration rebuilds the table: such a migration calls
:func:`install` again, as it does the change feed's.
"""

import datetime

from crm import tallies
from crm.db import elapsed_bin_sql, elapsed_seconds_sql
from crm.tallies import day_of, day_sql, start_of, week_sql
from referrals.choices import FollowUpStatus
from referrals.choices import ReferralStatus as S

# The worklists' tallies, the first ones (migrations 0008 and 0009 install these).
WORKLIST_TALLIES = ("referrals_referral_tally", "referrals_followup_tally")

# The times between states the referral metrics give (docs/domain.md): name -> (from
# timestamp, to timestamp), both kept on the referral.
SPANS = {
    "sent_to_accepted": ("sent_at", "accepted_at"),
    "accepted_to_scheduled": ("accepted_at", "scheduled_at"),
    "seen_to_closed": ("seen_at", "closed_at"),
    "sent_to_closed": ("sent_at", "closed_at"),
}

# The statuses a referral can be in a worklist bucket in; only these are counted.
COUNTED_STATUSES = (S.SENT, S.ACCEPTED, S.SCHEDULED, S.SEEN, S.DECLINED, S.NO_SHOW)


def split(cut: datetime.datetime) -> tuple[datetime.date, datetime.datetime]:
    """A count before ``cut``: tallies of the days before the returned day, plus the
    rows from the returned start of its day up to ``cut``."""
    day = day_of(cut)
    return day, start_of(day)


# The referral tallies, as ``crm.tallies`` specs.
def _tallies(vendor: str) -> list[dict]:
    statuses = ", ".join(f"'{status}'" for status in COUNTED_STATUSES)
    referral_day = (
        f"CASE WHEN {{r}}.status = '{S.SCHEDULED}' THEN {{r}}.appointment_at "
        "ELSE {r}.status_changed_at END"
    )
    specs = [
        {
            "name": "referrals_referral_tally",
            "tally": "referrals_referraltally",
            "table": "referrals_referral",
            "keys": {
                "status": "{r}.status",
                "priority_rank": "{r}.priority_rank",
                "day": day_sql(vendor, referral_day),
            },
            "counted": f"{{r}}.status IN ({statuses})",
        },
        {
            "name": "referrals_followup_tally",
            "tally": "referrals_followuptally",
            "table": "referrals_followup",
            "keys": {
                "assignee": "COALESCE({r}.assigned_to_id, 0)",
                "queue": "{r}.queue",
                "day": day_sql(vendor, "{r}.due_at"),
            },
            "counted": f"{{r}}.status = '{FollowUpStatus.OPEN}'",
        },
        {
            "name": "referrals_referral_sent",
            "tally": "referrals_sentreferraltally",
            "table": "referrals_referral",
            "keys": {"day": day_sql(vendor, "{r}.sent_at")},
            "counted": "{r}.sent_at IS NOT NULL",
            "sums": {
                "closed": "CASE WHEN {r}.report_received_on IS NULL THEN 0 ELSE 1 END",
                "visits": "{r}.visits",
                "no_shows": "{r}.no_shows",
            },
        },
        {
            "name": "referrals_followup_due",
            "tally": "referrals_duefollowuptally",
            "table": "referrals_followup",
            "keys": {"day": day_sql(vendor, "{r}.due_at")},
            "counted": f"{{r}}.status <> '{FollowUpStatus.CANCELLED}'",
            "sums": {
                "on_time": f"CASE WHEN {{r}}.status = '{FollowUpStatus.DONE}' "
                "AND {r}.completed_at <= {r}.due_at THEN 1 ELSE 0 END"
            },
        },
    ]
    for span, (since, until) in SPANS.items():
        seconds = elapsed_seconds_sql(vendor, f"{{r}}.{since}", f"{{r}}.{until}")
        specs.append(
            {
                "name": f"referrals_referral_{span}",
                "tally": "referrals_referraltimetally",
                "table": "referrals_referral",
                "keys": {
                    "span": f"'{span}'",
                    "week": week_sql(vendor, "{r}.sent_at"),
                    "bin": elapsed_bin_sql(seconds),
                },
                "counted": f"{{r}}.sent_at IS NOT NULL AND {{r}}.{since} IS NOT NULL "
                f"AND {{r}}.{until} IS NOT NULL",
                "sums": {"seconds": seconds},
            }
        )
    return specs


_referral_tallies = tallies.Tallies(_tallies)
install = _referral_tallies.install
uninstall = _referral_tallies.uninstall
rebuild = _referral_tallies.rebuild
migration = _referral_tallies.migration
