from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from crm.history import HistoricalRecords
from crm.scopes import unknown_scopes


class VersionedRecord(models.Model):
    """A record staff work on: its ``version`` moves with every change (the API's ETag,
    checked against ``If-Match``), it knows when it was created and last changed, and
    every change is kept in its history (django-simple-history)."""

    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    # Not kept in history: the change time (the history row has its own) and derived
    # values (a patient's ``name_search``, ``family_key`` and ``given_key``, a referral's
    # ``priority_rank``, an interaction's ``first_reply_at``).
    history = HistoricalRecords(
        inherit=True,
        excluded_fields=[
            "updated_at",
            "name_search",
            "family_key",
            "given_key",
            "priority_rank",
            "first_reply_at",
        ],
    )

    class Meta:
        abstract = True


class TransitionEvent(models.Model):
    """One step of a record's workflow (``crm.workflow``): who, when, from, to, why,
    and the facts the step recorded. Append-only. Each workflow's event model adds the
    foreign key to its record."""

    action = models.CharField(max_length=16)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(max_length=4000, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.action}: {self.from_status or '-'} -> {self.to_status}"


class IdempotencyKey(models.Model):
    """The stored first answer to a POST sent with an ``Idempotency-Key`` header.

    A retry with the same key and the same body gets this answer again instead of
    creating a second record; the same key with another body is refused.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="crm_idempotencykey_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class AccessRecordQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Access records cannot be changed.")

    def delete(self):
        raise PermissionError("Access records cannot be deleted.")


class AccessRecord(models.Model):
    """Who read or changed which patients' data, when, from where, how it went, and
    why. Append-only: the application has no path to change or delete a record, and on
    PostgreSQL a trigger refuses UPDATE and DELETE too."""

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", "Allowed"
        DENIED = "denied", "Denied"
        FAILED = "failed", "Failed (bad request or not found)"

    class Purpose(models.TextChoices):
        TREATMENT = "treatment", "Treatment"
        PAYMENT = "payment", "Payment"
        OPERATIONS = "operations", "Operations"
        BREAK_GLASS = "break_glass", "Break-the-glass emergency access"
        PATIENT = "patient", "The patient's own page"

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Plain columns, not a foreign key: deleting a user must not touch the log.
    user_id = models.BigIntegerField(null=True, db_index=True)
    username = models.CharField(max_length=150, blank=True)
    auth_method = models.CharField(max_length=16, blank=True)
    client = models.CharField(
        max_length=120, blank=True, help_text="The API token used: its name and prefix."
    )
    patient_ids = models.TextField(
        blank=True, help_text="Patients involved, as ',12,40,' (searchable everywhere)."
    )
    action = models.CharField(max_length=64)
    method = models.CharField(max_length=8)
    endpoint = models.CharField(max_length=300)
    status_code = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=8, choices=Outcome)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64)
    purpose = models.CharField(max_length=16, choices=Purpose)

    objects = AccessRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["-occurred_at", "-id"], name="accessrecord_time_idx")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.username} {self.method} {self.endpoint}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Access records cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Access records cannot be deleted.")

    @property
    def patients(self) -> list[int]:
        return [int(pk) for pk in self.patient_ids.strip(",").split(",") if pk]


class ApiToken(models.Model):
    """A named token a script signs in with. Only the SHA-256 of the key is stored; the
    key is shown once, when the token is made. Listed and revoked by its owner (or an
    administrator); "sign out everywhere" revokes them all."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, help_text="First characters, to tell keys apart.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}...)"


class IntegrationClient(models.Model):
    """What an OAuth2 client (an EHR, a billing system, a warehouse) may do: the scopes
    it may ask a token for (SMART backend-services style, ``system/Patient.read``). The
    client's own user (``application.user``) carries its staff role, so the access
    policy applies to it as to a person in that role (``crm.integrations``)."""

    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="integration"
    )
    scopes = models.TextField(help_text="The scopes it may ask for, separated by spaces.")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.application.name}: {self.scopes}"

    def clean(self) -> None:
        if unknown := unknown_scopes(self.scopes.split()):
            raise ValidationError({"scopes": f"Unknown scopes: {', '.join(unknown)}."})
