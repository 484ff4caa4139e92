"""Referrals and follow-ups counted per day or week, kept by database triggers.

The team worklists show how many of half a million open items are in each bucket, and
buckets move with the clock (a referral becomes overdue when its target passes, a
follow-up when its due time does). Counting the rows on every request took seconds at a
million patients. So each open referral is counted in :class:`ReferralTally` under its
status, priority rank and the day (UTC) it entered its state (for a scheduled one, its
visit day), and each open follow-up in :class:`FollowUpTally` under its assignee, queue
and due day. A count up to any moment is then the tallies of the whole days before it
plus the rows of that moment's own day, read live from an index (:func:`split`).

The referral metrics read a period's figures the same way (:func:`split_period`):
referrals sent per day (:class:`SentReferralTally`, with how many have their report
back, their visits and no-shows), follow-ups due per day (:class:`DueFollowUpTally`,
with how many were done on time), and the times between states per week in duration
bins (:class:`ReferralTimeTally`, ``crm.db``).

The triggers run in the transaction that writes the row, on every write path (the
services, a merge, a bulk update), on PostgreSQL and SQLite. Loads that switch
triggers off (``manage.py seed_scale``) call :func:`rebuild` after. SQLite drops a
table's triggers when a migration rebuilds the table: such a migration calls
:func:`install` again, as it does the change feed's.
"""

import datetime
from collections.abc import Collection

from django.db import connection

from crm.db import elapsed_bin_sql, elapsed_seconds_sql
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
DAY = datetime.timedelta(days=1)
WEEK = 7 * DAY


def day_of(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(datetime.UTC).date()


def start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def split(cut: datetime.datetime) -> tuple[datetime.date, datetime.datetime]:
    """A count before ``cut``: tallies of the days before the returned day, plus the
    rows from the returned start of its day up to ``cut``."""
    day = day_of(cut)
    return day, start_of(day)


def _first(moment: datetime.datetime, weekly: bool) -> datetime.date:
    """The day (UTC) of ``moment``, or the Monday of its week."""
    day = day_of(moment)
    return day - datetime.timedelta(days=day.weekday()) if weekly else day


def split_period(
    begin: datetime.datetime, finish: datetime.datetime, *, weekly: bool = False
) -> tuple[datetime.date, datetime.date, datetime.datetime, datetime.datetime]:
    """[begin, finish) as the days (or weeks) wholly in it, from the first one up to the
    returned last (none when it is not after the first), and the rest, read live:
    [begin, the first returned moment) and [the second, finish)."""
    first = _first(begin, weekly)
    if start_of(first) < begin:
        first += WEEK if weekly else DAY
    last = _first(finish, weekly)
    head_end = min(start_of(first), finish)
    return first, last, head_end, max(start_of(last), head_end)


def _day(vendor: str, moment: str) -> str:
    if vendor == "postgresql":
        return f"(({moment}) AT TIME ZONE 'UTC')::date"
    return f"date({moment})"


def _week(vendor: str, moment: str) -> str:
    """The Monday (UTC) of the week of ``moment``."""
    if vendor == "postgresql":
        return f"date_trunc('week', ({moment}) AT TIME ZONE 'UTC')::date"
    return f"date({moment}, '-6 days', 'weekday 1')"


# Each tally: its trigger's name (on ``table``), the tally table, the counted table, its
# key columns -> expressions over the row as {r} (one of them the day or week), when a
# row is counted, and the columns that sum an expression over the counted rows.
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
                "day": _day(vendor, referral_day),
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
                "day": _day(vendor, "{r}.due_at"),
            },
            "counted": f"{{r}}.status = '{FollowUpStatus.OPEN}'",
        },
        {
            "name": "referrals_referral_sent",
            "tally": "referrals_sentreferraltally",
            "table": "referrals_referral",
            "keys": {"day": _day(vendor, "{r}.sent_at")},
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
            "keys": {"day": _day(vendor, "{r}.due_at")},
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
                    "week": _week(vendor, "{r}.sent_at"),
                    "bin": elapsed_bin_sql(seconds),
                },
                "counted": f"{{r}}.sent_at IS NOT NULL AND {{r}}.{since} IS NOT NULL "
                f"AND {{r}}.{until} IS NOT NULL",
                "sums": {"seconds": seconds},
            }
        )
    return specs


def _statements(spec: dict, row: str) -> tuple[str, str, str]:
    """The counted condition, the decrement and the increment for ``row`` (NEW/OLD)."""
    keys = {column: value.format(r=row) for column, value in spec["keys"].items()}
    sums = {column: value.format(r=row) for column, value in spec.get("sums", {}).items()}
    counted = spec["counted"].format(r=row)
    columns = ", ".join(keys)
    match = " AND ".join(f"{column} = {value}" for column, value in keys.items())
    less = "".join(f", {column} = {column} - ({value})" for column, value in sums.items())
    decrement = f"UPDATE {spec['tally']} SET n = n - 1{less} WHERE {match}"
    more = "".join(f", {column} = {spec['tally']}.{column} + EXCLUDED.{column}" for column in sums)
    increment = (
        f"INSERT INTO {spec['tally']} ({', '.join([*keys, 'n', *sums])}) "
        f"SELECT {', '.join([*keys.values(), '1', *sums.values()])} WHERE {counted} "
        f"ON CONFLICT ({columns}) DO UPDATE SET n = {spec['tally']}.n + 1{more}"
    )
    return counted, decrement, increment


def _changed(spec: dict) -> str:
    """Whether an update moves the row to another tally key (or in or out of one), or
    changes what it adds to a sum."""
    parts = [*spec["keys"].values(), *spec.get("sums", {}).values(), spec["counted"]]
    return " OR ".join(
        f"({part.format(r='OLD')}) IS DISTINCT FROM ({part.format(r='NEW')})" for part in parts
    )


def _selected(vendor: str, names: Collection[str] | None) -> list[dict]:
    return [spec for spec in _tallies(vendor) if names is None or spec["name"] in names]


def install(schema_editor, names: Collection[str] | None = None) -> None:
    """Create (or put back) the tally triggers (those ``names`` gives: a migration
    installs the tallies that exist at its point of the schema)."""
    vendor = schema_editor.connection.vendor
    specs = _selected(vendor, names)
    for spec in specs:
        _drop_trigger(schema_editor, spec)
    for spec in specs:
        old_counted, decrement, _ = _statements(spec, "OLD")
        _, _, increment = _statements(spec, "NEW")
        name = spec["name"]
        if vendor == "postgresql":
            schema_editor.execute(
                f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NOT ({_changed(spec)}) THEN RETURN NULL; END IF;
    IF TG_OP <> 'INSERT' AND {old_counted} THEN {decrement}; END IF;
    IF TG_OP <> 'DELETE' THEN {increment}; END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql"""
            )
            schema_editor.execute(
                f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {spec['table']} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
            continue
        # SQLite's IS NOT is IS DISTINCT FROM.
        changed = _changed(spec).replace("IS DISTINCT FROM", "IS NOT")
        schema_editor.execute(
            f"CREATE TRIGGER {name}_insert AFTER INSERT ON {spec['table']} BEGIN {increment}; END"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {name}_update AFTER UPDATE ON {spec['table']} WHEN {changed} "
            f"BEGIN {decrement} AND {old_counted}; {increment}; END"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {name}_delete AFTER DELETE ON {spec['table']} WHEN {old_counted} "
            f"BEGIN {decrement}; END"
        )


def _drop_trigger(schema_editor, spec: dict) -> None:
    name = spec["name"]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {spec['table']}")
        return
    for event in ("insert", "update", "delete"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}_{event}")


def uninstall(schema_editor, names: Collection[str] | None = None) -> None:
    for spec in _selected(schema_editor.connection.vendor, names):
        _drop_trigger(schema_editor, spec)
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {spec['name']}()")


def rebuild(names: Collection[str] | None = None, using=connection) -> None:
    """Count the tallies again from the rows (after a load with triggers off)."""
    specs = _selected(using.vendor, names)
    with using.cursor() as cursor:
        for tally in {spec["tally"] for spec in specs}:
            cursor.execute(f"DELETE FROM {tally}")
        for spec in specs:
            table, sums = spec["table"], spec.get("sums", {})
            values = [
                *(value.format(r=table) for value in spec["keys"].values()),
                "COUNT(*)",
                *(f"SUM({value.format(r=table)})" for value in sums.values()),
            ]
            cursor.execute(
                f"INSERT INTO {spec['tally']} ({', '.join([*spec['keys'], 'n', *sums])}) "
                f"SELECT {', '.join(values)} FROM {table} "
                f"WHERE {spec['counted'].format(r=table)} "
                f"GROUP BY {', '.join(str(place) for place in range(1, len(spec['keys']) + 1))}"
            )
