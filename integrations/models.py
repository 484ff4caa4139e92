from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from crm.choices import Department
from crm.models import VersionedRecord
from integrations.choices import EventKind


class Change(models.Model):
    """One create, update or delete of a record integrations follow, written by a
    database trigger in the transaction that made it (``integrations.feed``): no code
    path can change a record without its change row, and none can be lost.

    ``txid`` is the writing transaction's id on PostgreSQL (0 on SQLite, whose one
    writer at a time makes ``id`` the commit order); the feed's order and cursor are
    (``txid``, ``id``). A change to a patient's contact points, languages, consents or
    identifiers is an update of the patient."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"

    txid = models.BigIntegerField(default=0)
    record_type = models.CharField(max_length=32)
    record_id = models.BigIntegerField()
    action = models.CharField(max_length=8, choices=Action)
    patient_id = models.BigIntegerField(null=True)
    # An interaction marked restricted when it changed: only its readers see it.
    restricted = models.BooleanField(default=False)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["txid", "id"]
        indexes = [models.Index(fields=["txid", "id"], name="change_feed_order_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=["create", "update", "delete"]),
                name="%(app_label)s_%(class)s_action",
            )
        ]

    def __str__(self) -> str:
        return f"{self.record_type} {self.record_id} {self.action}"


class WebhookSubscription(models.Model):
    """An integration's URL that receives the change feed as it grows
    (``integrations.webhooks``): the record types it wants, as far as its owner (a
    client's user) may read them, signed with its secret, in feed order. ``after_*``
    is the feed cursor delivered up to."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=500)
    types = models.JSONField(default=list, blank=True, help_text="Empty: every type.")
    # The read scopes of the token that registered it (empty for staff): it never
    # receives more than that token could read.
    scopes = models.TextField(blank=True)
    secret = models.CharField(max_length=64, editable=False)
    active = models.BooleanField(default=True)
    after_txid = models.BigIntegerField(default=0)
    after_id = models.BigIntegerField(default=0)
    failures = models.PositiveIntegerField(
        default=0, help_text="In a row, since the last success."
    )
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["active", "next_attempt_at"], name="webhook_due_idx"),
        ]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One POST to a subscription's URL: which changes, how it went."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    attempted_at = models.DateTimeField(default=timezone.now)
    first_cursor = models.CharField(max_length=40)
    last_cursor = models.CharField(max_length=40)
    count = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField()
    succeeded = models.BooleanField()

    class Meta:
        ordering = ["-attempted_at", "-id"]
        indexes = [
            models.Index(fields=["subscription", "-attempted_at"], name="webhook_delivery_idx")
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.first_cursor}..{self.last_cursor}"


class Export(models.Model):
    """A bulk export (``integrations.exports``): NDJSON files per record type of what
    its owner may read, written by a worker, downloadable by the owner until
    ``expires_at``."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exports"
    )
    types = models.JSONField(default=list)
    # The read scopes of the token that asked (empty for staff).
    scopes = models.TextField(blank=True)
    since = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status, default=Status.QUEUED)
    counts = models.JSONField(default=dict, blank=True, help_text="Rows written, by type.")
    error = models.CharField(max_length=500, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.status})"


class DepartmentEvent(VersionedRecord):
    """Something a department's system (pharmacy, lab, billing) reports about a
    patient: a prescription ready, a result available (never its values), a statement
    issued. It shows on the patient's 360 for the roles that need it (the access
    policy's "department events": each department its own, coordinators and clinicians
    all) and may be told to the patient in their language (``message``).

    A system names its event by ``source`` and ``external_id``: pushing it again
    changes what changed and sends nothing twice."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="department_events"
    )
    kind = models.CharField(max_length=24, choices=EventKind)
    # Follows from the kind (``KIND_DEPARTMENT``); kept for the access policy's rows.
    department = models.CharField(max_length=32, choices=Department, editable=False)
    occurred_at = models.DateTimeField()
    title = models.CharField(
        max_length=200, blank=True, help_text="What it is about: a medicine, a test, a bill."
    )
    location = models.CharField(
        max_length=200, blank=True, help_text="Where the patient goes (a pickup counter)."
    )
    reference = models.CharField(
        max_length=100, blank=True, help_text="The department's number for it."
    )
    source = models.SlugField(max_length=40, blank=True, help_text="The system that sent it.")
    external_id = models.CharField(max_length=100, blank=True, help_text="Its id there.")
    message = models.ForeignKey(
        "messaging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["patient", "-occurred_at", "-id"], name="department_event_patient_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="%(app_label)s_%(class)s_source_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.occurred_at:%Y-%m-%d}"
