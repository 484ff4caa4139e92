"""Database functions the metrics need, for PostgreSQL and SQLite alike, and the
routing of reads to a replica.

PostgreSQL has ``percentile_cont``; SQLite does not, so the same definition (linear
interpolation between the closest ranks) is registered on every SQLite connection.
Either way the figure is computed by the database, in one aggregate query.
"""

import bisect
import datetime
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.signals import connection_created
from django.db.models import (
    Aggregate,
    BigIntegerField,
    Count,
    F,
    Field,
    Func,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

HOUR = 3600.0
DAY = 24 * HOUR

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Read from the replica (``DATABASE_REPLICA_URL``) inside the block, when there is
    one: for reads that may be a moment behind the primary and need not see the
    caller's own writes (the change feed, exports, metrics). Writes, and reads that
    lock (``select_for_update``), still go to the primary. Querysets must be
    evaluated inside the block: the database is chosen when a query runs."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


@contextmanager
def joins_in_written_order() -> Iterator[None]:
    """The block's queries, in a transaction of their own, planned with their joins in
    the order the ORM writes them (PostgreSQL's ``join_collapse_limit = 1``): the
    filtered table first, then the rows it points to (``select_related``). For reads
    whose joins are such lookups: the referral worklist's rows join six tables,
    and choosing their order took the planner 2.3-6 ms per query at a million
    patients, more than running it (0.2-0.7 ms); in that order it takes under 1 ms,
    and the plans are the same. Querysets must be evaluated inside the block."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL join_collapse_limit = 1")
        yield


def count_of(rows: QuerySet, field: str) -> Coalesce:
    """An annotation: how many of ``rows`` point by ``field`` to the annotated row. A
    subquery per row read through ``field``'s index, where a join and a ``Count`` would
    group the rows by every column they select."""
    counted = (
        rows.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


class ReplicaRouter:
    """Routes reads inside ``replica_reads`` to the replica; everything else, and every
    migration, to the primary (``default``)."""

    def db_for_read(self, model, **hints) -> str | None:
        return "replica" if settings.READ_REPLICA and _replica_reads.get() else None

    def db_for_write(self, model, **hints) -> str | None:
        return None

    def allow_relation(self, one, other, **hints) -> bool:
        return True  # the replica holds the primary's rows

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool:
        return db == "default"


class ElapsedPercentiles(Aggregate):
    """The continuous percentiles (each 0 <= fraction <= 1) of the time from ``since``
    to ``until`` over the rows that have both, in seconds: a list, one per fraction,
    of None where no row has both.

    PostgreSQL sorts the intervals once for all the fractions. Sorting
    ``EXTRACT(EPOCH ...)`` values (numerics since PostgreSQL 14) once per fraction took
    four times as long over a year of referrals at a million patients."""

    function = "PERCENTILE_CONT"
    name = "ElapsedPercentiles"
    template = "%(function)s(ARRAY[%(fractions)s]) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, since: str, until: str, fractions: Sequence[float] = (0.5, 0.9)):
        if not fractions or not all(0 <= fraction <= 1 for fraction in fractions):
            raise ValueError("each fraction must be between 0 and 1")
        self.fractions = tuple(float(fraction) for fraction in fractions)
        super().__init__(
            F(until) - F(since),
            fractions=", ".join(map(repr, self.fractions)),
            output_field=_Seconds(),
        )

    def as_sqlite(self, compiler, connection, **extra):
        # The difference is django_timestamp_diff's microseconds.
        return self.as_sql(
            compiler,
            connection,
            template="CRM_PERCENTILES(%(expressions)s, '%(fractions)s')",
            **extra,
        )


class _Seconds(Field):
    """ElapsedPercentiles' result: PostgreSQL's array of intervals, or the JSON list of
    seconds that SQLite's CRM_PERCENTILES gives."""

    def from_db_value(self, value, expression, connection) -> list[float | None]:
        if isinstance(value, str):  # SQLite: seconds already, [] without rows
            return json.loads(value) or [None] * len(expression.fractions)
        if value is None:  # PostgreSQL without rows
            return [None] * len(expression.fractions)
        return [None if elapsed is None else elapsed.total_seconds() for elapsed in value]


def median_and_p90(seconds: Sequence[float | None], unit: float) -> dict[str, float | None]:
    """ElapsedPercentiles' default answer in ``unit`` (HOUR, DAY), to two decimals, as
    the metrics give it."""
    median, p90 = (None if value is None else round(value / unit, 2) for value in seconds)
    return {"median": median, "p90": p90}


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont over plain numbers (None when there are none)."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


# Durations kept in tallies (the metrics') are counted in bins, with their sum of
# seconds: a bin holds the durations of m minutes with the same
# floor(ln(1 + m) / ln(growth)), by default (BIN_GROWTH) about 0.6 s wide near zero and
# 1% of the duration wide from a few hours on; a negative duration takes its size's bin,
# mirrored below zero. The same SQL bins durations read live, so a figure does not
# depend on where its rows were counted.
BIN_GROWTH = 1.01


def elapsed_seconds_sql(vendor: str, since: str, until: str) -> str:
    """SQL: the whole seconds from ``since`` to ``until`` (SQL expressions)."""
    if vendor == "postgresql":
        return f"ROUND(EXTRACT(EPOCH FROM ({until}) - ({since})))::bigint"
    return f"CAST(ROUND((julianday({until}) - julianday({since})) * 86400) AS INTEGER)"


def elapsed_bin_sql(seconds: str, growth: float = BIN_GROWTH) -> str:
    """SQL, the same on both databases: the bin of ``seconds`` (an SQL expression), in
    bins ``growth`` times as wide as the one before."""
    size = f"FLOOR(LN(1 + CAST(ABS({seconds}) AS DOUBLE PRECISION) / 60) / LN({growth}))"
    return f"CAST(CASE WHEN {seconds} < 0 THEN -1 - {size} ELSE {size} END AS INTEGER)"


class _Elapsed(Func):
    """From the field ``since`` to the field ``until`` (columns: no SQL parameters)."""

    output_field = BigIntegerField()

    def __init__(self, since: str, until: str):
        super().__init__(F(since), F(until))

    def as_sql(self, compiler, connection, **extra):
        since, until = (compiler.compile(part)[0] for part in self.get_source_expressions())
        return self.of_seconds(elapsed_seconds_sql(connection.vendor, since, until)), ()

    def of_seconds(self, seconds: str) -> str:
        return seconds


class ElapsedSeconds(_Elapsed):
    pass


class ElapsedBin(_Elapsed):
    def __init__(self, since: str, until: str, growth: float = BIN_GROWTH):
        super().__init__(since, until)
        self.growth = growth

    def of_seconds(self, seconds: str) -> str:
        return elapsed_bin_sql(seconds, self.growth)


def binned_percentiles(
    bins: Iterable[tuple[int, int, int]], fractions: Sequence[float] = (0.5, 0.9)
) -> list[float | None]:
    """percentile_cont over durations counted in bins, given as (bin, count, sum of
    seconds) in any order, a bin possibly more than once: each duration is taken at its
    bin's mean. Exact when a bin's durations are equal, otherwise within its width."""
    merged: dict[int, list[int]] = {}
    for key, n, seconds in bins:
        totals = merged.setdefault(key, [0, 0])
        totals[0] += n
        totals[1] += seconds
    ends, means, total = [], [], 0
    for key in sorted(merged):
        n, seconds = merged[key]
        if n:
            total += n
            ends.append(total)
            means.append(seconds / n)
    if not total:
        return [None] * len(fractions)

    def at(rank: int) -> float:
        return means[bisect.bisect_right(ends, rank)]

    result: list[float | None] = []
    for fraction in fractions:
        position = fraction * (total - 1)
        lower, upper = math.floor(position), math.ceil(position)
        result.append(at(lower) + (at(upper) - at(lower)) * (position - lower))
    return result


class _SQLitePercentiles:
    def __init__(self):
        self.values: list[float] = []
        self.fractions = ""

    def step(self, microseconds, fractions):
        self.fractions = fractions
        if microseconds is not None:
            self.values.append(microseconds / 1e6)

    def finalize(self):
        fractions = [float(fraction) for fraction in self.fractions.split(",") if fraction]
        return json.dumps([percentile_cont(self.values, fraction) for fraction in fractions])


def _register_sqlite_functions(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("CRM_PERCENTILES", 2, _SQLitePercentiles)


connection_created.connect(_register_sqlite_functions, dispatch_uid="crm_sqlite_functions")


def insert_rows(
    cursor: Any,
    table: str,
    columns: Sequence[str],
    rows: Iterable[tuple],
    *,
    types: dict[str, int] | None = None,
) -> int:
    """Write ``rows`` (tuples in ``columns`` order) into ``table`` in as few statements
    as the database allows, for bulk loads: one COPY on PostgreSQL (binary when
    ``types`` gives the columns' type oids), INSERTs of 5,000 rows on SQLite. The rows
    may be a generator, made while they are written; the table's triggers fire. Gives
    the number of rows written."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    written = 0
    if connection.vendor == "postgresql":
        binary = " (FORMAT BINARY)" if types is not None else ""
        # COPY goes around Django's cursor wrapper: its errors are made Django's here
        # (a unique violation an IntegrityError), as those of execute() are.
        with (
            connection.wrap_database_errors,
            cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN{binary}") as copy,
        ):
            if types is not None:
                copy.set_types([types[column] for column in columns])
            for row in rows:
                copy.write_row(row)
                written += 1
        return written
    sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
    batch: list[tuple] = []
    for row in rows:
        batch.append(tuple(_sqlite_value(value) for value in row))
        if len(batch) == 5000:
            cursor.executemany(sql, batch)
            written += len(batch)
            batch = []
    if batch:
        cursor.executemany(sql, batch)
    return written + len(batch)


def _sqlite_value(value: object) -> object:
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value


@contextmanager
def triggers_off(cursor, table: str) -> Iterator[None]:
    """The table's own triggers (the change feed's, the worklist tallies') off while the
    block writes, on PostgreSQL: for loads and backfills that change nothing a reader
    sees, or that count what the triggers keep themselves afterwards. Pending deferred
    checks are run first (ALTER TABLE refuses to run with them), and the transaction
    checks constraints at once from then on. It all happens in one transaction (or
    savepoint): no other session ever sees the triggers off, and a block that fails
    leaves them on. SQLite: the block runs with triggers on."""
    if cursor.db.vendor != "postgresql":  # a Django cursor knows its connection
        yield
        return
    quoted = cursor.db.ops.quote_name(table)
    with transaction.atomic(using=cursor.db.alias):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {quoted} DISABLE TRIGGER USER")
        yield
        cursor.execute(f"ALTER TABLE {quoted} ENABLE TRIGGER USER")


# A table's indexes that no constraint (primary key, unique) stands on.
_PLAIN_INDEXES = """
SELECT index.relname, pg_get_indexdef(pg_index.indexrelid)
FROM pg_index
JOIN pg_class AS index ON index.oid = pg_index.indexrelid
WHERE pg_index.indrelid = %s::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = pg_index.indexrelid)
"""


@contextmanager
def indexes_built_after(cursor, table: str) -> Iterator[None]:
    """The table's plain indexes dropped while the block loads it and built again after,
    on PostgreSQL: one sort per index instead of an index insert per row (keys that
    constraints stand on stay, and are checked row by row). In one transaction (or
    savepoint), like :func:`triggers_off`: no other session ever sees the table without
    them. SQLite: the block runs with the indexes in place."""
    if cursor.db.vendor != "postgresql":
        yield
        return
    quote = cursor.db.ops.quote_name
    with transaction.atomic(using=cursor.db.alias):
        cursor.execute(_PLAIN_INDEXES, [quote(table)])
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
        yield
        for _, definition in indexes:
            cursor.execute(definition)
