"""Reads of interactions, always through the caller's visibility rule."""

from collections.abc import Collection, Iterable
from datetime import datetime

from django.db import models
from django.db.models import (
    Case,
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce

from crm.access import Section, can, hidden_fields, rows_q
from crm.db import count_of
from crm.history import merged_change_log
from crm.roles import StaffUser
from crm.worklists import ranked_buckets
from interactions.choices import COMPLAINT_PRIORITY_RANK, ComplaintStatus, Sensitivity
from interactions.metrics import TalliedContacts
from interactions.models import Complaint, Interaction, SurveyInvitation, SurveyResponse
from patients.models import EmergencyAccess, Patient
from patients.selectors import patient_detail, patient_history_sources, restricted_visible_q
from referrals import service_levels
from referrals.choices import OPEN_STATUSES, FollowUpStatus
from referrals.models import FollowUp, Referral
from referrals.selectors import REFERRAL_RELATED, visible_follow_ups_q, with_replacement


def visible_interactions_q(user: StaffUser, *, per_row: bool = False) -> Q:
    """Normal interactions for every role that reads interactions; restricted ones for
    clinicians and, for their own patients, the assigned coordinator (``per_row``: see
    ``restricted_visible_q``)."""
    restricted = restricted_visible_q(user, per_row=per_row)
    condition = Q(sensitivity=Sensitivity.RESTRICTED) & restricted
    if can(user, Section.INTERACTIONS):
        condition |= Q(sensitivity=Sensitivity.NORMAL)
    return condition


def tallied_contacts(user: StaffUser, channels: list[str] | None) -> TalliedContacts:
    """How the user's first-response figures read the tallies: every contact of the
    sensitivities they may read in full, and, read live beside them, the restricted
    contacts they may read (a coordinator's own patients')."""
    sensitivities = [Sensitivity.NORMAL] if can(user, Section.INTERACTIONS) else []
    restricted = restricted_visible_q(user, in_sets=True)
    beside = Interaction.objects.none()
    if restricted == Q():  # Q() is "all"
        sensitivities.append(Sensitivity.RESTRICTED)
    else:
        beside = Interaction.objects.filter(restricted, sensitivity=Sensitivity.RESTRICTED)
        if channels:
            beside = beside.filter(channel__in=channels)
    return TalliedContacts(sensitivities, channels or None, beside)


def interaction_list(*, user: StaffUser) -> QuerySet[Interaction]:
    """Interactions the user may read, with who logged them and, for a text or email,
    the message it is (the messaging app's row, joined by its reverse one-to-one), so
    a timeline shows each message's status without a query per row."""
    return (
        Interaction.objects.filter(visible_interactions_q(user))
        .select_related("staff", "message")
        .order_by("-occurred_at", "-id")
    )


class ComplaintBucket(models.TextChoices):
    AWAITING_FIRST_RESPONSE = "awaiting_first_response", "Awaiting first response"
    IN_PROGRESS = "in_progress", "Acknowledged or under investigation"
    RESOLVED = "resolved", "Resolved, to close"


def complaint_list(*, user: StaffUser) -> QuerySet[Complaint]:
    return (
        Complaint.objects.filter(rows_q(user, Section.FEEDBACK))
        .select_related("patient", "owner")
        .order_by("-received_at", "-id")
    )


def survey_invitation_list(*, user: StaffUser) -> QuerySet[SurveyInvitation]:
    return (
        SurveyInvitation.objects.filter(rows_q(user, Section.FEEDBACK))
        .select_related("patient")
        .order_by("-sent_at", "-id")
    )


def survey_response_list(*, user: StaffUser) -> QuerySet[SurveyResponse]:
    return (
        SurveyResponse.objects.filter(rows_q(user, Section.FEEDBACK))
        .select_related("patient", "recorded_by")
        .order_by("-received_at", "-id")
    )


def complaint_worklist(
    complaints: QuerySet[Complaint], *, targets: dict, now: datetime, limit: int, offset: int = 0
) -> list[dict]:
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
        offset=offset,
    )


# The 360 reads every app, so it lives in the top domain layer.

TIMELINE_SIZE = 20
PAST_REFERRALS_SHOWN = 10
# Open referrals (newest first) and open follow-ups (soonest due first) the 360 brings;
# the counts say how many there are, and the lists page through the rest.
OPEN_SHOWN = 20


def patient_360(*, patient_id: int, user: StaffUser, now: datetime) -> dict:
    """Everything staff need before talking to the patient, in a constant number of
    queries whatever the patient's history: the record, the latest interactions, the
    newest open referrals and the latest others (declined, closed, cancelled), the open
    follow-ups due first, and how many of each there are."""
    visible = Interaction.objects.filter(visible_interactions_q(user))
    # The user's own emergency access to this patient, while it lasts: the app's banner.
    # (The 360 is for signed-in staff; an anonymous user's pk is None and matches none.)
    emergency = EmergencyAccess.objects.filter(
        patient=OuterRef("pk"), user_id=user.pk or 0, expires_at__gt=now
    ).order_by("-expires_at")
    patient = (
        patient_detail()
        .annotate(
            interactions_total=count_of(visible, "patient"),
            referrals_total=count_of(Referral.objects.all(), "patient"),
            open_referrals_total=count_of(
                Referral.objects.filter(status__in=OPEN_STATUSES), "patient"
            ),
            emergency_access_until=Subquery(emergency.values("expires_at")[:1]),
        )
        .get(pk=patient_id)
    )
    timeline = list(interaction_list(user=user).filter(patient=patient)[: TIMELINE_SIZE + 1])
    # Through the related managers, each row's ``patient`` is already this patient.
    referrals = []
    may_read_referrals = can(user, Section.REFERRALS)
    if may_read_referrals:
        # One query: the newest open referrals and the latest past ones (a patient seen
        # for years by many services may have hundreds of either).
        newest = patient.referrals.order_by("-created_at", "-id")
        is_open = Q(status__in=OPEN_STATUSES)
        shown = newest.filter(is_open).values("pk")[:OPEN_SHOWN]
        latest_past = newest.exclude(is_open).values("pk")[:PAST_REFERRALS_SHOWN]
        referrals = list(
            with_replacement(patient.referrals.select_related(*REFERRAL_RELATED))
            .filter(Q(pk__in=shown) | Q(pk__in=latest_past))
            .order_by("-created_at", "-id")
        )
    past = [r for r in referrals if r.status not in OPEN_STATUSES]
    referrals = [r for r in referrals if r.status in OPEN_STATUSES]
    # Each row counts them all (a window over the rows before the limit).
    follow_ups = list(
        patient.follow_ups.filter(status=FollowUpStatus.OPEN)
        .filter(visible_follow_ups_q(user))
        .select_related("assigned_to")
        .annotate(
            open_total=Window(Count("pk")),
            overdue_total=Window(Count("pk", filter=Q(due_at__lt=now))),
        )
        .order_by("due_at", "id")[:OPEN_SHOWN]
    )
    return {
        "patient": patient,
        "interactions": timeline[:TIMELINE_SIZE],
        # The row after the timeline, if any: where the interaction list goes on.
        "interactions_following": timeline[TIMELINE_SIZE]
        if len(timeline) > TIMELINE_SIZE
        else None,
        "open_referrals": referrals,
        "past_referrals": past,
        "open_follow_ups": follow_ups,
        "emergency_access_until": patient.emergency_access_until,
        "service_levels": service_levels.targets(),
        "counts": {
            "interactions": patient.interactions_total,
            "referrals": patient.referrals_total if may_read_referrals else 0,
            "open_referrals": patient.open_referrals_total if may_read_referrals else 0,
            "past_referrals": patient.referrals_total - patient.open_referrals_total
            if may_read_referrals
            else 0,
            "open_follow_ups": follow_ups[0].open_total if follow_ups else 0,
            "overdue_follow_ups": follow_ups[0].overdue_total if follow_ups else 0,
        },
    }


def patient_record_history(
    patient: Patient,
    *,
    user: StaffUser,
    more: Iterable[tuple[str, QuerySet, Collection[str]]] = (),
) -> list[dict]:
    """Every change to the patient's record, newest first: the record and its child rows,
    and the referrals, interactions, follow-ups and complaints the user may read, and
    the ``more`` sources of the apps above this one (appointments). Each historical
    row is judged by its own values (an interaction restricted then is left out for a
    reader who may not see restricted items), and fields the user may not read are
    left out."""
    sources = [*patient_history_sources(patient), *more]
    if can(user, Section.REFERRALS):
        hidden = hidden_fields(user, Referral.section_fields)
        sources.append(("referral", Referral.history.filter(patient_id=patient.pk), hidden))
    if can(user, Section.INTERACTIONS) or can(user, Section.RESTRICTED):
        interactions = Interaction.history.filter(patient_id=patient.pk)
        sources.append(("interaction", interactions.filter(visible_interactions_q(user)), ()))
    if can(user, Section.FOLLOW_UPS):
        follow_ups = FollowUp.history.filter(patient_id=patient.pk)
        sources.append(("follow_up", follow_ups.filter(visible_follow_ups_q(user)), ()))
    if can(user, Section.FEEDBACK):
        complaints = Complaint.history.filter(patient_id=patient.pk)
        sources.append(("complaint", complaints.filter(rows_q(user, Section.FEEDBACK)), ()))
    return merged_change_log(sources)
