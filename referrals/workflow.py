"""The referral state machine of DOMAIN.md section 4, in one table.

Each action names the states it may start from and the state it leads to. ``reopen``
has no fixed target: it returns to the state the referral was in before it was closed
or cancelled.
"""

from dataclasses import dataclass

from referrals.choices import ReferralAction as A
from referrals.choices import ReferralStatus as S


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str | None
    reason_required: bool = False


TRANSITIONS: dict[str, Transition] = {
    A.SEND: Transition(frozenset({S.DRAFT}), S.SENT),
    A.ACCEPT: Transition(frozenset({S.SENT}), S.ACCEPTED),
    A.DECLINE: Transition(frozenset({S.SENT, S.ACCEPTED}), S.DECLINED, reason_required=True),
    # From scheduled it is a reschedule; from no_show a rebooking.
    A.SCHEDULE: Transition(frozenset({S.ACCEPTED, S.SCHEDULED, S.NO_SHOW}), S.SCHEDULED),
    A.NO_SHOW: Transition(frozenset({S.SCHEDULED}), S.NO_SHOW),
    A.SEEN: Transition(frozenset({S.SCHEDULED}), S.SEEN),
    A.CLOSE: Transition(frozenset({S.SEEN}), S.CLOSED),
    A.CANCEL: Transition(
        frozenset({S.DRAFT, S.SENT, S.ACCEPTED, S.SCHEDULED, S.NO_SHOW, S.SEEN}),
        S.CANCELLED,
        reason_required=True,
    ),
    A.REOPEN: Transition(frozenset({S.CLOSED, S.CANCELLED}), None, reason_required=True),
}


def allowed_actions(status: str) -> list[str]:
    return [action for action, t in TRANSITIONS.items() if status in t.sources]
