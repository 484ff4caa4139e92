"""Build referrals with fixed timestamps for the hand-computed tests."""

import datetime as dt

UTC = dt.UTC


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)
