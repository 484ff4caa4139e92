from django.db import models
from django.db.models import Q


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
