"""When a complaint's first response and resolution are due, and whether it is overdue.
Computed from ``received_at`` and :class:`ComplaintServiceLevel`, never stored."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from interactions.choices import COMPLAINT_OPEN_STATUSES, ComplaintStatus
from interactions.models import Complaint, ComplaintServiceLevel


@dataclass(frozen=True)
class ComplaintDue:
    first_response_due: datetime | None
    resolve_due: datetime | None
    overdue: bool


def targets() -> dict[str, ComplaintServiceLevel]:
    return {target.priority: target for target in ComplaintServiceLevel.objects.all()}


def due(complaint: Complaint, by_priority, now: datetime) -> ComplaintDue:
    target = by_priority.get(complaint.priority)
    if target is None:
        return ComplaintDue(None, None, False)
    first = complaint.received_at + target.first_response_within
    resolve = complaint.received_at + target.resolve_within
    overdue = (complaint.status == ComplaintStatus.NEW and first < now) or (
        complaint.status in COMPLAINT_OPEN_STATUSES and resolve < now
    )
    return ComplaintDue(first, resolve, overdue)


def overdue_q(by_priority, now: datetime) -> Q:
    """Open complaints past their first-response or resolution target."""
    condition = Q(pk__in=[])
    for priority, target in by_priority.items():
        condition |= Q(
            priority=priority,
            status=ComplaintStatus.NEW,
            received_at__lt=now - target.first_response_within,
        )
        condition |= Q(
            priority=priority,
            status__in=COMPLAINT_OPEN_STATUSES,
            received_at__lt=now - target.resolve_within,
        )
    return condition
