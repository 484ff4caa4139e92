"""Database functions the metrics need, for PostgreSQL and SQLite alike.

PostgreSQL has ``percentile_cont``; SQLite does not, so the same definition (linear
interpolation between the closest ranks) is registered on every SQLite connection.
Either way the figure is computed by the database, in one aggregate query.
"""

import math

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
