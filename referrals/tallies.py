"""Open referrals and follow-ups counted per day, kept by database triggers.

The team worklists show how many of half a million open items are in each bucket, and
buckets move with the clock (a referral becomes overdue when its target passes, a
follow-up when its due time does). Counting the rows on every request took seconds at a
million patients. So each open referral is counted in :class:`ReferralTally` under its
status, priority rank and the day (UTC) it entered its state (for a scheduled one, its
visit day), and each open follow-up in :class:`FollowUpTally` under its assignee, queue
and due day. A count up to any moment is then the tallies of the whole days before it
plus the rows of that moment's own day, read live from an index (:func:`split`).

The triggers run in the transaction that writes the row, on every write path (the
services, a merge, a bulk update), on PostgreSQL and SQLite. Loads that switch
triggers off (``manage.py seed_scale``) call :func:`rebuild` after. SQLite drops a
table's triggers when a migration rebuilds the table: such a migration calls
:func:`install` again, as it does the change feed's.
"""

import datetime
from collections.abc import Iterable

from django.db import connection

from referrals.choices import FollowUpStatus
from referrals.choices import ReferralStatus as S

# The statuses a referral can be in a worklist bucket in; only these are counted.
COUNTED_STATUSES = (S.SENT, S.ACCEPTED, S.SCHEDULED, S.SEEN, S.DECLINED, S.NO_SHOW)
DAY = datetime.timedelta(days=1)


def day_of(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(datetime.UTC).date()


def start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def split(cut: datetime.datetime) -> tuple[datetime.date, datetime.datetime]:
    """A count before ``cut``: tallies of the days before the returned day, plus the
    rows from the returned start of its day up to ``cut``."""
    day = day_of(cut)
    return day, start_of(day)


# (tally table, counted table, key columns of the tally -> expression over the row as
# {r}, day expression over {r}, when a row is counted)
def _day(vendor: str, moment: str) -> str:
    if vendor == "postgresql":
        return f"(({moment}) AT TIME ZONE 'UTC')::date"
    return f"date({moment})"


def _tallies(vendor: str) -> list[dict]:
    statuses = ", ".join(f"'{status}'" for status in COUNTED_STATUSES)
    referral_day = (
        f"CASE WHEN {{r}}.status = '{S.SCHEDULED}' THEN {{r}}.appointment_at "
        "ELSE {r}.status_changed_at END"
    )
    return [
        {
            "tally": "referrals_referraltally",
            "table": "referrals_referral",
            "keys": {"status": "{r}.status", "priority_rank": "{r}.priority_rank"},
            "day": _day(vendor, referral_day),
            "counted": f"{{r}}.status IN ({statuses})",
        },
        {
            "tally": "referrals_followuptally",
            "table": "referrals_followup",
            "keys": {"assignee": "COALESCE({r}.assigned_to_id, 0)", "queue": "{r}.queue"},
            "day": _day(vendor, "{r}.due_at"),
            "counted": f"{{r}}.status = '{FollowUpStatus.OPEN}'",
        },
    ]


def _statements(spec: dict, row: str) -> tuple[str, str, str]:
    """The counted condition, the decrement and the increment for ``row`` (NEW/OLD)."""
    keys = {column: value.format(r=row) for column, value in spec["keys"].items()}
    keys["day"] = spec["day"].format(r=row)
    counted = spec["counted"].format(r=row)
    columns = ", ".join(keys)
    match = " AND ".join(f"{column} = {value}" for column, value in keys.items())
    decrement = f"UPDATE {spec['tally']} SET n = n - 1 WHERE {match}"
    increment = (
        f"INSERT INTO {spec['tally']} ({columns}, n) SELECT {', '.join(keys.values())}, 1 "
        f"WHERE {counted} ON CONFLICT ({columns}) DO UPDATE SET n = {spec['tally']}.n + 1"
    )
    return counted, decrement, increment


def _changed(spec: dict) -> str:
    """Whether an update moves the row to another tally key (or in or out of one)."""
    parts = [*spec["keys"].values(), spec["day"], spec["counted"]]
    return " OR ".join(
        f"({part.format(r='OLD')}) IS DISTINCT FROM ({part.format(r='NEW')})" for part in parts
    )


def install(schema_editor) -> None:
    """Create (or put back) the tally triggers."""
    vendor = schema_editor.connection.vendor
    for spec in _tallies(vendor):
        uninstall_table(schema_editor, spec["table"])
        old_counted, decrement, _ = _statements(spec, "OLD")
        _, _, increment = _statements(spec, "NEW")
        name = f"{spec['table']}_tally"
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


def uninstall_table(schema_editor, table: str) -> None:
    name = f"{table}_tally"
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        return
    for event in ("insert", "update", "delete"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}_{event}")


def uninstall(schema_editor) -> None:
    for spec in _tallies(schema_editor.connection.vendor):
        uninstall_table(schema_editor, spec["table"])
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {spec['table']}_tally()")


def rebuild(
    tables: Iterable[str] = ("referrals_referral", "referrals_followup"), using=connection
) -> None:
    """Count the tallies again from the rows (after a load with triggers off)."""
    with using.cursor() as cursor:
        for spec in _tallies(using.vendor):
            if spec["table"] not in tables:
                continue
            keys = [value.format(r=spec["table"]) for value in spec["keys"].values()]
            day = spec["day"].format(r=spec["table"])
            columns = ", ".join(spec["keys"])
            cursor.execute(f"DELETE FROM {spec['tally']}")
            cursor.execute(
                f"INSERT INTO {spec['tally']} ({columns}, day, n) "
                f"SELECT {', '.join(keys)}, {day}, COUNT(*) FROM {spec['table']} "
                f"WHERE {spec['counted'].format(r=spec['table'])} "
                f"GROUP BY {', '.join(keys)}, {day}"
            )
