"""Helpers every write service shares: optimistic locking and attribution."""

from django.core.exceptions import ValidationError
from django.db import models

from crm.errors import InvalidInput, StaleUpdate, validation_errors


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


def full_clean(instance: models.Model, exclude=()) -> None:
    """Model validation, raised as the API's 400 with field errors."""
    try:
        instance.full_clean(exclude=list(exclude))
    except ValidationError as exc:
        raise InvalidInput("Some fields are not valid.", errors=validation_errors(exc)) from None


def require_reason(reason: str) -> None:
    if not reason.strip():
        raise InvalidInput("A reason is required.", errors={"reason": ["This field is required."]})
