"""Build referrals with fixed timestamps for the hand-computed tests."""

import datetime as dt

from referrals import services
from tests.factories import ReferralFactory

UTC = dt.UTC


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


def walk(actor, steps: list[tuple], **fields):
    """Create a referral at the first step's time and apply each (action, time, input)."""
    (_, created_at, _), *_ = steps
    referral = ReferralFactory(created_at=created_at, status_changed_at=created_at, **fields)
    for action, when, data in steps:
        if action == "create":
            continue
        referral = services.TRANSITION_SERVICES[action](
            referral=referral, actor=actor, at=when, **data
        )
    return referral
