"""When each open referral's next step is due, and whether it is overdue.

Computed from ``status_changed_at`` and the :class:`ServiceLevelTarget` rows, never
stored by hand. The same rules are used as a Python function (one referral) and as
query filters (in the database).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from referrals.choices import PRIORITY_RANK
from referrals.choices import ReferralStatus as S
from referrals.models import Referral, ServiceLevelTarget

# status -> (next step as the coordinator reads it, target field or None)
NEXT_STEP = {
    S.DRAFT: ("send the referral", None),
    S.SENT: ("receiver accepts", "accept_within"),
    S.ACCEPTED: ("book the appointment", "schedule_within"),
    S.NO_SHOW: ("rebook the appointment", "schedule_within"),
    S.SCHEDULED: ("record the visit outcome", None),  # due at the appointment time
    S.SEEN: ("receive the consult report", "report_within"),
}


@dataclass(frozen=True)
class NextStep:
    step: str
    due_at: datetime | None
    overdue: bool


def targets() -> dict[str, ServiceLevelTarget]:
    """The targets by priority (one query)."""
    return {target.priority: target for target in ServiceLevelTarget.objects.all()}


def next_step(referral: Referral, by_priority: dict[str, ServiceLevelTarget], now: datetime):
    if referral.status not in NEXT_STEP:
        return None
    step, target_field = NEXT_STEP[referral.status]
    due_at = None
    if referral.status == S.SCHEDULED:
        due_at = referral.appointment_at
    elif target_field and referral.priority in by_priority:
        due_at = referral.status_changed_at + getattr(by_priority[referral.priority], target_field)
    return NextStep(step=step, due_at=due_at, overdue=due_at is not None and due_at < now)


def targets_within(
    by_priority: dict[str, ServiceLevelTarget], statuses=NEXT_STEP
) -> list[tuple[str, int, timedelta]]:
    """(status, priority rank, time allowed in that status) for each status in
    ``statuses`` whose next step has a target, and each priority that has targets."""
    return [
        (status, PRIORITY_RANK[priority], getattr(target, target_field))
        for status in statuses
        if (target_field := NEXT_STEP.get(status, ("", None))[1]) is not None
        for priority, target in by_priority.items()
    ]


def overdue_q(by_priority: dict[str, ServiceLevelTarget], now: datetime, statuses=NEXT_STEP) -> Q:
    """Referrals whose current step is past its target (of those in ``statuses``).
    Compares the indexed ``status_changed_at`` with constants, so it can use
    ``referral_sla_idx``."""
    condition = Q(pk__in=[])
    if S.SCHEDULED in statuses:
        condition = Q(status=S.SCHEDULED, appointment_at__lt=now)
    for status, rank, within in targets_within(by_priority, statuses):
        condition |= Q(status=status, priority_rank=rank, status_changed_at__lt=now - within)
    return condition
