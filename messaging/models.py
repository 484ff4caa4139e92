import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from crm.choices import Department
from crm.models import TransitionEvent
from interactions.choices import Direction
from messaging.choices import Keyword, MessageChannel, MessageStatus, Sender, Template
from patients.choices import ConsentPurpose


class Message(models.Model):
    """One text or email to or from a patient. An outbound message is its own outbox
    row: it is written, queued, in the transaction of the change that causes it, and
    background workers send it (``messaging.services.dispatch_due``). Its status moves
    through ``messaging.workflow``; each step is a :class:`MessageEvent`. Every message
    is also an interaction on the patient's timeline (``interaction``)."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="messages"
    )
    channel = models.CharField(max_length=8, choices=MessageChannel)
    direction = models.CharField(max_length=8, choices=Direction)
    purpose = models.CharField(max_length=32, choices=ConsentPurpose, blank=True)
    department = models.CharField(
        max_length=32,
        choices=Department,
        help_text="The team that owns the conversation and answers replies.",
    )
    template = models.CharField(max_length=32, choices=Template, blank=True)
    context = models.JSONField(
        default=dict, blank=True, help_text="The template's values, to render it again."
    )
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(max_length=10000)
    language = models.CharField(
        max_length=35, blank=True, help_text="The patient's language (BCP-47)."
    )
    language_used = models.CharField(
        max_length=35, blank=True, help_text="The language the text is in, after fallback."
    )
    address = models.CharField(
        max_length=254,
        blank=True,
        help_text="The patient's number or email address (to or from); empty when refused.",
    )
    sender = models.CharField(max_length=12, choices=Sender)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    rule = models.CharField(max_length=40, blank=True, help_text="The automation that sent it.")
    occasion = models.CharField(
        max_length=200, blank=True, help_text="What it was sent for; one message per occasion."
    )
    status = models.CharField(max_length=16, choices=MessageStatus, default=MessageStatus.QUEUED)
    status_reason = models.TextField(max_length=2000, blank=True)
    refusal_code = models.CharField(max_length=32, blank=True)
    keyword = models.CharField(max_length=12, choices=Keyword, blank=True)
    send_after = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    claim = models.UUIDField(null=True, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True)
    unconfirmed_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A worker died while sending it: an attempt from this time on may have "
        "reached the provider unrecorded, so the provider is asked before sending again.",
    )
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    provider_id = models.CharField(max_length=64, blank=True)
    error_code = models.CharField(max_length=16, blank=True)
    segments = models.PositiveSmallIntegerField(null=True, blank=True)
    encoding = models.CharField(max_length=8, blank=True, help_text="GSM-7 or UCS-2 (SMS).")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(
        null=True, blank=True, help_text="Inbound: when staff answered it."
    )
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    interaction = models.OneToOneField(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="message",
    )
    referral = models.ForeignKey(
        "referrals.Referral",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    appointment = models.ForeignKey(
        "appointments.Appointment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        help_text="The appointment it reminds of; a reply to it may confirm or cancel it.",
    )
    follow_up = models.ForeignKey(
        "referrals.FollowUp",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        help_text="The to-do the message left for a person (refused, or a reply to answer).",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-created_at", "-id"], name="message_patient_idx"),
            models.Index(
                fields=["send_after"],
                name="message_due_idx",
                condition=Q(status="queued"),
            ),
            models.Index(
                fields=["claimed_until"],
                name="message_sending_idx",
                condition=Q(status="sending"),
            ),
            models.Index(
                fields=["department", "created_at"],
                name="message_unanswered_idx",
                condition=Q(direction="inbound", answered_at__isnull=True),
            ),
            models.Index(fields=["channel", "created_at"], name="message_channel_idx"),
            models.Index(fields=["address", "-created_at"], name="message_address_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "occasion"],
                condition=~Q(rule=""),
                name="%(app_label)s_%(class)s_one_per_occasion",
            ),
            models.UniqueConstraint(
                fields=["provider_id"],
                condition=~Q(provider_id=""),
                name="%(app_label)s_%(class)s_provider_id",
            ),
            models.CheckConstraint(
                condition=Q(direction="inbound") | ~Q(purpose=""),
                name="%(app_label)s_%(class)s_outbound_has_purpose",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.direction} {self.status} ({self.pk})"

    @property
    def fallback(self) -> bool:
        """Whether the text is in another language than the patient's."""
        return bool(self.language) and self.language_used != self.language


class MessageEvent(TransitionEvent):
    """One step of a message (``messaging.workflow``). Append-only."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")

    class Meta(TransitionEvent.Meta):
        indexes = [models.Index(fields=["message", "occurred_at"], name="messageevent_idx")]
