"""Counts kept per day or week by database triggers, for figures that would otherwise
count many rows on every request: the worklists' and the metrics' (``referrals.tallies``,
``interactions.tallies``).

A tally is a table with key columns (one of them the day or week), a count ``n`` and
columns that sum an expression over the counted rows. Its spec (a dict) names the
trigger (``name``), the tally table (``tally``), the counted table (``table``), the key
columns -> SQL expressions over the row as ``{r}`` (``keys``), when a row is counted
(``counted``), and the sums (``sums``, optional). The triggers run in the transaction
that writes the row, on every write path, on PostgreSQL and SQLite; an update that
changes nothing a tally holds returns at once. A figure over a period is then the
tallies of the whole days (or weeks) in it plus the rows at its ends, read live
(:func:`split_period`).
"""

import datetime
from collections.abc import Callable, Collection, Iterable

from django.db import connection, migrations
from django.db.models import Q

DAY = datetime.timedelta(days=1)
WEEK = 7 * DAY


def day_of(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(datetime.UTC).date()


def start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


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


def split_q(
    field: str, begin: datetime.datetime, finish: datetime.datetime, *, weekly: bool = False
) -> tuple[Q, Q]:
    """[begin, finish) of the rows' ``field``, as the filter of a tally's whole days (or
    weeks, its column ``week``) in it, and the filter of the rows at its ends, read live."""
    first, last, head_end, tail_start = split_period(begin, finish, weekly=weekly)
    edges = Q(pk__in=[])
    for since, until in ((begin, head_end), (tail_start, finish)):
        if since < until:
            edges |= Q(**{f"{field}__gte": since, f"{field}__lt": until})
    key = "week" if weekly else "day"
    return Q(**{f"{key}__gte": first, f"{key}__lt": last}), edges


def day_sql(vendor: str, moment: str) -> str:
    """SQL: the day (UTC) of ``moment``."""
    if vendor == "postgresql":
        return f"(({moment}) AT TIME ZONE 'UTC')::date"
    return f"date({moment})"


def week_sql(vendor: str, moment: str) -> str:
    """SQL: the Monday (UTC) of the week of ``moment``."""
    if vendor == "postgresql":
        return f"date_trunc('week', ({moment}) AT TIME ZONE 'UTC')::date"
    return f"date({moment}, '-6 days', 'weekday 1')"


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


def install(schema_editor, specs: Iterable[dict]) -> None:
    """Create (or put back) the triggers of the tallies ``specs`` give."""
    vendor = schema_editor.connection.vendor
    specs = list(specs)
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


def uninstall(schema_editor, specs: Iterable[dict]) -> None:
    for spec in specs:
        _drop_trigger(schema_editor, spec)
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {spec['name']}()")


def rebuild(specs: Iterable[dict], using=connection) -> None:
    """Count the tallies ``specs`` give again from the rows (after a load with triggers
    off)."""
    specs = list(specs)
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


class Tallies:
    """An app's tallies: ``specs`` gives them for a database vendor. Each operation takes
    those ``names`` gives (all by default): a migration installs the tallies that exist
    at its point of the schema."""

    def __init__(self, specs: Callable[[str], list[dict]]):
        self.specs = specs

    def _selected(self, vendor: str, names: Collection[str] | None) -> list[dict]:
        return [spec for spec in self.specs(vendor) if names is None or spec["name"] in names]

    def install(self, schema_editor, names: Collection[str] | None = None) -> None:
        install(schema_editor, self._selected(schema_editor.connection.vendor, names))

    def uninstall(self, schema_editor, names: Collection[str] | None = None) -> None:
        uninstall(schema_editor, self._selected(schema_editor.connection.vendor, names))

    def rebuild(self, names: Collection[str] | None = None, using=connection) -> None:
        rebuild(self._selected(using.vendor, names), using=using)

    def migration(self, names: Collection[str]) -> migrations.RunPython:
        """The migration step that installs the ``names`` tallies and counts them from
        the rows already there; reversed, it takes them out."""

        def forwards(apps, schema_editor):
            self.install(schema_editor, names)
            self.rebuild(names, using=schema_editor.connection)

        def backwards(apps, schema_editor):
            self.uninstall(schema_editor, names)

        return migrations.RunPython(forwards, backwards)
