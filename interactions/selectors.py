"""Reads of interactions, always through the caller's visibility rule."""

from datetime import datetime

from django.db import models
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm.access import Section, can, rows_q
from crm.worklists import ranked_buckets
from interactions.choices import COMPLAINT_PRIORITY_RANK, ComplaintStatus, Sensitivity
from interactions.models import Complaint, Interaction
from patients.models import EmergencyAccess


def visible_interactions_q(user) -> Q:
    """Normal interactions for every role that reads interactions; restricted ones for
    clinicians and, for their own patients, the assigned coordinator."""
    condition = Q(pk__in=[])
    if can(user, Section.INTERACTIONS):
        condition |= Q(sensitivity=Sensitivity.NORMAL)
    restricted = rows_q(user, Section.RESTRICTED)
    if restricted != Q(pk__in=[]):
        condition |= Q(sensitivity=Sensitivity.RESTRICTED) & restricted
    if getattr(user, "is_authenticated", False):
        # Broken glass: this user's unexpired emergency access to the patient.
        emergency = EmergencyAccess.objects.filter(
            user=user, patient=OuterRef("patient"), expires_at__gt=timezone.now()
        )
        condition |= Q(sensitivity=Sensitivity.RESTRICTED) & Q(Exists(emergency))
    return condition


def interaction_list(*, user) -> QuerySet[Interaction]:
    return (
        Interaction.objects.filter(visible_interactions_q(user))
        .select_related("staff")
        .order_by("-occurred_at", "-id")
    )


class ComplaintBucket(models.TextChoices):
    AWAITING_FIRST_RESPONSE = "awaiting_first_response", "Awaiting first response"
    IN_PROGRESS = "in_progress", "Acknowledged or under investigation"
    RESOLVED = "resolved", "Resolved, to close"


def complaint_list() -> QuerySet[Complaint]:
    return Complaint.objects.select_related("patient", "owner").order_by("-received_at", "-id")


def complaint_worklist(complaints: QuerySet, *, targets, now: datetime, limit: int) -> list[dict]:
    """Open complaints by bucket, most urgent first: priority, then the due time of the
    next target (first response for new ones, resolution for the others). Two queries."""
    in_progress = [ComplaintStatus.ACKNOWLEDGED, ComplaintStatus.INVESTIGATING]
    whens = []
    for priority, target in targets.items():
        whens.append(
            When(
                priority=priority,
                status=ComplaintStatus.NEW,
                then=F("received_at") + Value(target.first_response_within),
            )
        )
        whens.append(
            When(
                priority=priority,
                status__in=in_progress,
                then=F("received_at") + Value(target.resolve_within),
            )
        )
    bucketed = complaints.filter(
        status__in=[ComplaintStatus.NEW, *in_progress, ComplaintStatus.RESOLVED]
    ).annotate(
        bucket=Case(
            When(status=ComplaintStatus.NEW, then=Value(ComplaintBucket.AWAITING_FIRST_RESPONSE)),
            When(status__in=in_progress, then=Value(ComplaintBucket.IN_PROGRESS)),
            default=Value(ComplaintBucket.RESOLVED),
            output_field=models.CharField(),
        ),
        due_at=Case(*whens, default=None, output_field=models.DateTimeField()),
        urgent_since=Coalesce("due_at", "received_at"),
        is_overdue=Case(
            When(due_at__lt=now, then=True), default=False, output_field=models.BooleanField()
        ),
        priority_rank=Case(
            *[When(priority=p, then=Value(rank)) for p, rank in COMPLAINT_PRIORITY_RANK.items()],
            output_field=models.IntegerField(),
        ),
    )
    return ranked_buckets(
        bucketed,
        ComplaintBucket.choices,
        order_by=[F("priority_rank").asc(), F("urgent_since").asc(), F("pk").asc()],
        limit=limit,
    )
