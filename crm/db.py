"""Database functions the metrics need, for PostgreSQL and SQLite alike.

PostgreSQL has ``percentile_cont``; SQLite does not, so the same definition (linear
interpolation between the closest ranks) is registered on every SQLite connection.
Either way the figure is computed by the database, in one aggregate query.
"""

import datetime
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.db.backends.signals import connection_created
from django.db.models import Aggregate, FloatField, Func


class Percentile(Aggregate):
    """The continuous percentile (0 <= fraction <= 1) of a numeric expression."""

    function = "PERCENTILE_CONT"
    name = "Percentile"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CRM_PERCENTILE(%(expressions)s, %(fraction)s)",
            **extra,
        )


class EpochSeconds(Func):
    """Seconds since 1970 of a datetime, as a float, so intervals subtract as numbers."""

    output_field = FloatField()
    template = "EXTRACT(EPOCH FROM %(expressions)s)"

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont over plain numbers (None when there are none)."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


class _SQLitePercentile:
    def __init__(self):
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value, fraction):
        self.fraction = fraction
        if value is not None:
            self.values.append(float(value))

    def finalize(self):
        return percentile_cont(self.values, self.fraction)


def _register_sqlite_functions(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("CRM_PERCENTILE", 2, _SQLitePercentile)


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
