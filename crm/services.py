"""Helpers every write service shares: optimistic locking and attribution."""

from django.db import models

from crm.errors import StaleUpdate


def lock_for_update(instance: models.Model, expected_version: int | None) -> models.Model:
    """Reload ``instance`` with a row lock and check the version the client last saw.

    Two staff saving the same record at once are serialised by the lock; a client
    that sent ``If-Match`` with an older version gets 412 instead of overwriting.
    """
    locked = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleUpdate(
            "This record was changed by someone else; reload it and try again.",
            current_version=locked.version,
        )
    return locked


def save_attributed(
    instance: models.Model, *, actor, reason: str = "", update_fields=None, bump: bool = True
) -> None:
    """Save with the acting user (and reason) recorded in the change history."""
    instance._history_user = actor
    if reason:
        # simple-history keeps at most 100 characters of the reason.
        instance._change_reason = reason[:100]
    if bump and instance.pk is not None and hasattr(instance, "version"):
        instance.version += 1
        if update_fields is not None:
            update_fields = [*update_fields, "version"]
    instance.save(update_fields=update_fields)
