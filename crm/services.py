"""Helpers every write service shares: locking, validation, attribution, updates."""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from crm.errors import InvalidInput, StaleUpdate, validation_errors
from crm.roles import Actor


def lock_for_update[M: models.Model](
    instance: M, expected_version: int | None, *, related: Iterable[str] = ()
) -> M:
    """Reload ``instance`` with a row lock (and the joins in ``related``, so the caller
    and its response need no further query) and check the version the client last saw.

    Two staff saving the same record at once are serialised by the lock; a client
    that sent ``If-Match`` with an older version gets 412 instead of overwriting.
    """
    manager = type(instance)._default_manager
    related = tuple(related)
    queryset = manager.select_related(*related) if related else manager.all()
    # Only this row is locked: PostgreSQL cannot lock the nullable side of an outer join.
    locked = queryset.select_for_update(of=("self",)).get(pk=instance.pk)
    if expected_version is not None and getattr(locked, "version", None) != expected_version:
        raise StaleUpdate(
            "This record was changed by someone else; reload it and try again.",
            current_version=getattr(locked, "version", None),
        )
    return locked


def save_attributed(
    instance: models.Model,
    *,
    actor: Actor,
    reason: str = "",
    update_fields: Iterable[str] | None = None,
    bump: bool = True,
) -> None:
    """Save with the acting user (and reason) recorded in the change history."""
    instance._history_user = actor  # type: ignore[attr-defined]
    if reason:
        # simple-history keeps at most 100 characters of the reason.
        instance._change_reason = reason[:100]  # type: ignore[attr-defined]
    fields = list(update_fields) if update_fields is not None else None
    if bump and instance.pk is not None and hasattr(instance, "version"):
        instance.version += 1
        if fields is not None:
            fields.append("version")
    instance.save(update_fields=fields)


def full_clean(
    instance: models.Model, exclude: Iterable[str] = (), *, only: Iterable[str] | None = None
) -> None:
    """Model validation, raised as the API's 400 with field errors: each field, the
    model's ``clean()``, and uniqueness. Each check that needs the database costs a
    query, so what is already known is not checked again: with ``only``, just those
    fields (what did not change was valid when it was saved), and never a foreign key
    given as a row loaded from the database. The database's CHECK constraints are left
    to the database; each model's ``clean()`` restates, with a field error, those a
    person's input can break."""
    excluded = set(exclude)
    if only is not None:
        kept = {_attname_to_name(instance, name) for name in only}
        excluded |= {f.name for f in instance._meta.concrete_fields if f.name not in kept}
    excluded |= loaded_relations(instance)
    try:
        instance.full_clean(exclude=sorted(excluded), validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput("Some fields are not valid.", errors=validation_errors(exc)) from None


def loaded_relations(instance: models.Model) -> set[str]:
    """The foreign keys of ``instance`` given as rows loaded from the database: they
    exist, and checking so would cost a query each."""
    loaded = set()
    for f in instance._meta.concrete_fields:
        if isinstance(f, models.ForeignKey) and f.is_cached(instance):
            related = f.get_cached_value(instance)
            if related is not None and not related._state.adding:
                loaded.add(f.name)
    return loaded


def _attname_to_name(instance: models.Model, name: str) -> str:
    for f in instance._meta.concrete_fields:
        if name in (f.name, f.attname):
            return f.name
    return name


def apply_changes(instance: models.Model, fields: Mapping[str, Any]) -> list[str]:
    """Set the fields whose value differs; the names of those that changed."""
    changed = [name for name, value in fields.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, fields[name])
    return changed


def update_record[M: models.Model](
    instance: M,
    *,
    actor: Actor,
    fields: Mapping[str, Any],
    reason: str = "",
    check: Callable[[M], None] | None = None,
) -> list[str]:
    """The one update step: apply the changed fields, validate them (and run ``check``
    on the changed instance), save with history when anything changed."""
    changed = apply_changes(instance, fields)
    full_clean(instance, only=changed)
    if check is not None:
        check(instance)
    if changed:
        save_attributed(instance, actor=actor, reason=reason)
    return changed


def require_reason(reason: str) -> None:
    if not reason.strip():
        raise InvalidInput("A reason is required.", errors={"reason": ["This field is required."]})
