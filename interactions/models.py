from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from crm.choices import Channel, Department
from interactions.choices import Direction, Outcome, Sensitivity, Topic
from patients.validators import normalize_language_tag


class Interaction(models.Model):
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
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["patient", "-occurred_at", "-id"], name="interaction_timeline_idx"
            ),
            models.Index(fields=["-occurred_at", "-id"], name="interaction_recent_idx"),
            models.Index(fields=["department", "occurred_at"], name="interaction_department_idx"),
            models.Index(fields=["channel", "occurred_at"], name="interaction_channel_idx"),
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
        for link in ("parent", "referral", "follow_up"):
            linked = getattr(self, link)
            if linked is not None and linked.patient_id != self.patient_id:
                errors[link] = f"The linked {link.replace('_', '-')} belongs to another patient."
        if self.parent_id and self.parent_id == self.pk:
            errors["parent"] = "An interaction cannot reply to itself."
        if errors:
            raise ValidationError(errors)
