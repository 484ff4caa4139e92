from django.conf import settings
from django.db import models


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
