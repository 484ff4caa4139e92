from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from crm.choices import Channel, Department
from crm.history import HistoricalRecords
from crm.models import TransitionEvent, VersionedRecord
from interactions.choices import (
    ComplaintCategory,
    ComplaintPriority,
    ComplaintStatus,
    Direction,
    Outcome,
    Sensitivity,
    SurveyLanguage,
    Topic,
)
from patients.validators import normalize_language_tag

ZERO = timedelta(0)


class Interaction(VersionedRecord):
    """One touchpoint with a patient on any channel; all channels share this table so
    one timeline shows everything."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="interactions"
    )
    channel = models.CharField(max_length=16, choices=Channel)
    direction = models.CharField(max_length=8, choices=Direction)
    department = models.CharField(max_length=32, choices=Department)
    topic = models.CharField(max_length=16, choices=Topic, default=Topic.GENERAL)
    occurred_at = models.DateTimeField()
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
    )
    summary = models.TextField(max_length=10000, blank=True)
    outcome = models.CharField(max_length=24, choices=Outcome, blank=True)
    language = models.CharField(max_length=35, blank=True, help_text="BCP-47 tag used.")
    interpreter_used = models.BooleanField(default=False)
    interpreter_language = models.CharField(max_length=35, blank=True)
    sensitivity = models.CharField(max_length=16, choices=Sensitivity, default=Sensitivity.NORMAL)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    referral = models.ForeignKey(
        "referrals.Referral",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
    )
    follow_up = models.ForeignKey(
        "referrals.FollowUp",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
    )
    complaint = models.ForeignKey(
        "Complaint",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
    )
    # An inbound contact's first reply on its thread, kept by triggers
    # (interactions.replies); derived, so not in history, the API or the change feed.
    first_reply_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["patient", "-occurred_at", "-id"], name="interaction_timeline_idx"
            ),
            models.Index(fields=["-occurred_at", "-id"], name="interaction_recent_idx"),
            models.Index(fields=["department", "occurred_at"], name="interaction_department_idx"),
            models.Index(fields=["channel", "occurred_at"], name="interaction_channel_idx"),
            # The first-response metrics: a period's inbound contacts, read from the index
            # alone (the patient: whether the reader may count a restricted one).
            models.Index(
                fields=[
                    "occurred_at",
                    "channel",
                    "department",
                    "sensitivity",
                    "first_reply_at",
                    "patient",
                ],
                condition=Q(direction="inbound"),
                name="interaction_inbound_idx",
            ),
            # The restricted ones alone: a coordinator counts those of their own patients
            # beside the tallies (``interactions.tallies``).
            models.Index(
                fields=["occurred_at", "channel", "first_reply_at", "patient"],
                condition=Q(direction="inbound", sensitivity="restricted"),
                name="interaction_restricted_in_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(interpreter_used=True) | Q(interpreter_language=""),
                name="%(app_label)s_%(class)s_interpreter_language_needs_interpreter",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.direction} {self.occurred_at:%Y-%m-%d}"

    def clean(self) -> None:
        errors = {}
        for field in ("language", "interpreter_language"):
            value = getattr(self, field)
            if value:
                try:
                    setattr(self, field, normalize_language_tag(value))
                except ValidationError as exc:
                    errors[field] = exc.messages
        if self.interpreter_language and not self.interpreter_used:
            errors["interpreter_language"] = "Set interpreter_used when naming its language."
        for link in ("parent", "referral", "follow_up", "complaint"):
            linked = getattr(self, link)
            if linked is not None and linked.patient_id != self.patient_id:
                errors[link] = f"The linked {link.replace('_', '-')} belongs to another patient."
        if self.parent_id and self.parent_id == self.pk:
            errors["parent"] = "An interaction cannot reply to itself."
        if errors:
            raise ValidationError(errors)


class FirstReplyTally(models.Model):
    """The inbound contacts of a week (UTC, from its Monday), by channel and sensitivity,
    and their times to the first reply in duration bins (``crm.db``, 2% wide) with their
    seconds; the unanswered ones in the bin ``interactions.tallies.UNANSWERED``. Kept by
    database triggers (``interactions.tallies``)."""

    week = models.DateField()
    channel = models.CharField(max_length=16, choices=Channel)
    sensitivity = models.CharField(max_length=16, choices=Sensitivity)
    bin = models.IntegerField()
    n = models.IntegerField(default=0)
    seconds = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "sensitivity", "week", "bin"], name="firstreplytally_key"
            )
        ]
        # A period's weeks, each channel's bins summed: index-only.
        indexes = [
            models.Index(
                fields=["week", "sensitivity", "channel", "bin", "n", "seconds"],
                name="firstreplytally_week_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.week} {self.channel} bin {self.bin}: {self.n}"


class ComplaintServiceLevel(models.Model):
    """How fast a complaint of each priority gets a first response and a resolution.
    Edited in the admin; overdue is computed from these, never stored."""

    priority = models.CharField(max_length=8, choices=ComplaintPriority, unique=True)
    first_response_within = models.DurationField()
    resolve_within = models.DurationField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["priority"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_response_within__gt=ZERO, resolve_within__gt=ZERO),
                name="%(app_label)s_%(class)s_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.priority} complaint service levels"


class Complaint(VersionedRecord):
    """A patient's complaint (a case), including negative public reviews, tracked from
    receipt to resolution. Status changes go through services that write an event."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="complaints"
    )
    channel = models.CharField(max_length=16, choices=Channel)
    category = models.CharField(max_length=32, choices=ComplaintCategory)
    department = models.CharField(max_length=32, choices=Department)
    priority = models.CharField(max_length=8, choices=ComplaintPriority)
    status = models.CharField(max_length=16, choices=ComplaintStatus, default=ComplaintStatus.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="complaints",
    )
    queue = models.CharField(max_length=32, choices=Department, blank=True)
    description = models.TextField(max_length=10000)
    received_at = models.DateTimeField(default=timezone.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(max_length=10000, blank=True)
    patient_informed = models.BooleanField(null=True, blank=True)
    referral = models.ForeignKey(
        "referrals.Referral",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="complaints",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "priority", "received_at"], name="complaint_sla_idx"),
            models.Index(fields=["-received_at", "-id"], name="complaint_received_idx"),
            models.Index(fields=["owner", "status"], name="complaint_owner_idx"),
            models.Index(fields=["queue", "status"], name="complaint_queue_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=False) | ~Q(queue=""),
                name="%(app_label)s_%(class)s_has_owner",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["resolved", "closed"])
                | (
                    Q(resolved_at__isnull=False)
                    & ~Q(resolution_note="")
                    & Q(patient_informed__isnull=False)
                ),
                name="%(app_label)s_%(class)s_resolution_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"Complaint {self.pk} ({self.category}, {self.status})"

    def clean(self) -> None:
        if not self.owner_id and not self.queue:
            raise ValidationError({"owner": "Give the complaint an owner or a team queue."})
        if self.referral is not None and self.referral.patient_id != self.patient_id:
            raise ValidationError({"referral": "The referral belongs to another patient."})


class ComplaintEvent(TransitionEvent):
    """One status change of a complaint (``interactions.workflow``). Append-only."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")

    class Meta(TransitionEvent.Meta):
        indexes = [models.Index(fields=["complaint", "occurred_at"], name="complaintevent_idx")]


class SurveyInvitation(models.Model):
    """A survey sent to a patient as a single-use link. Only the SHA-256 of the link's
    token is stored, so the table alone cannot be used to answer."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="survey_invitations"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    channel = models.CharField(max_length=16, choices=Channel)
    language = models.CharField(
        max_length=8, choices=SurveyLanguage, default=SurveyLanguage.ENGLISH
    )
    interaction = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    department = models.CharField(max_length=32, choices=Department)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    history = HistoricalRecords(excluded_fields=["token_hash"])

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["sent_at"], name="surveyinvitation_sent_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("sent_at")),
                name="%(app_label)s_%(class)s_expires_after_sent",
            ),
        ]

    def __str__(self) -> str:
        return f"Survey for patient {self.patient_id} ({self.channel})"


class SurveyResponse(models.Model):
    """A patient's answer rating a touchpoint: an interaction, a referral's visit, or a
    department. NPS is 0-10, CSAT 1-5; at least one is given."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="survey_responses"
    )
    invitation = models.OneToOneField(
        SurveyInvitation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="response",
    )
    interaction = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    department = models.CharField(max_length=32, choices=Department)
    channel = models.CharField(max_length=16, choices=Channel)
    nps_score = models.PositiveSmallIntegerField(null=True, blank=True)
    csat_score = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(max_length=5000, blank=True)
    language = models.CharField(max_length=35, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The staff member who took it by phone; empty when the patient answered.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["received_at"], name="surveyresponse_received_idx"),
            models.Index(fields=["department", "received_at"], name="surveyresponse_dept_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(nps_score__isnull=False) | Q(csat_score__isnull=False),
                name="%(app_label)s_%(class)s_has_a_score",
            ),
            models.CheckConstraint(
                condition=Q(nps_score__isnull=True) | Q(nps_score__lte=10),
                name="%(app_label)s_%(class)s_nps_range",
            ),
            models.CheckConstraint(
                condition=Q(csat_score__isnull=True) | Q(csat_score__gte=1, csat_score__lte=5),
                name="%(app_label)s_%(class)s_csat_range",
            ),
            models.CheckConstraint(
                condition=Q(interaction__isnull=True) | Q(referral__isnull=True),
                name="%(app_label)s_%(class)s_one_touchpoint",
            ),
        ]

    def __str__(self) -> str:
        return f"Survey response {self.pk}"

    @property
    def is_detractor(self) -> bool:
        """NPS 0-6 or CSAT 1-2: the patient had a bad experience."""
        return (self.nps_score is not None and self.nps_score <= 6) or (
            self.csat_score is not None and self.csat_score <= 2
        )
