"""Merging two records of one person, and undoing it.

A merge moves every row that points at the merged record to the survivor, in one
transaction: the record's own child rows and those of every app above this one
(interactions, referrals, follow-ups, complaints, surveys, messages, appointments,
department events...), found through the foreign keys to ``Patient`` so that a table
added later moves too. Rows unique per patient move unless the survivor already has
one with the same key (the same identifier system, contact point, language or
consent); those stay with the merged record. Of two consents for one channel and
purpose, the more restrictive wins: an opt-out on either side becomes the survivor's.
The merged record becomes ``merged`` with ``merged_into``; records merged into it
earlier now point to the survivor.

Every moved row and every changed value is kept on the ``PatientMerge``, and each
move is written to the rows' change history; the change feed sees each row change.
An unmerge within ``PatientMerge.UNDO_DAYS`` moves back exactly those rows (not those
the survivor gained since) and puts back the values the merge changed, where no one
has changed them since.
"""

import datetime
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from crm.errors import Conflict, InvalidInput
from crm.roles import Actor
from crm.services import lock_for_update, require_reason, save_attributed
from patients.choices import CandidateStatus, ConsentStatus, PatientStatus
from patients.models import (
    CommunicationConsent,
    DuplicateCandidate,
    Patient,
    PatientLanguage,
    PatientMerge,
)

# Rows unique per patient, by the fields that make them so.
KEYED: dict[str, tuple[str, ...]] = {
    "patients.PatientIdentifier": ("system",),
    "patients.ContactPoint": ("system", "value"),
    "patients.PatientLanguage": ("language", "mode"),
    "patients.CommunicationConsent": ("channel", "purpose"),
}
# Rows about the two records, not of them.
NOT_MOVED = {"patients.DuplicateCandidate", "patients.PatientMerge"}


def moving_links() -> list[tuple[type[models.Model], str]]:
    """Every (model, field) that points at a patient and moves with the person."""
    return [
        (relation.related_model, relation.field.name)
        for relation in Patient._meta.related_objects
        if relation.related_model._meta.label not in NOT_MOVED
        and isinstance(relation.field, models.ForeignKey)
    ]


def _move(
    model: type[models.Model], field: str, ids: list[int], to: Patient, actor: Actor, reason: str
) -> None:
    """Point the rows at ``to``, with a history row each where the model keeps one."""
    rows = list(model._default_manager.filter(pk__in=ids))
    for row in rows:
        setattr(row, field, to)
    if hasattr(model, "history"):
        bulk_update_with_history(
            rows, model, [field], default_user=actor, default_change_reason=reason
        )
    else:
        model._default_manager.bulk_update(rows, [field])


def _set(row: models.Model, field: str, value: Any, changed: list[dict], actor: Actor) -> None:
    changed.append(
        {
            "model": row._meta.label,
            "id": row.pk,
            "field": field,
            "before": getattr(row, field),
            "after": value,
        }
    )
    setattr(row, field, value)
    save_attributed(row, actor=actor, reason="patient merge", update_fields=[field])


def _keyed_rows(
    model: type[models.Model],
    field: str,
    keys: tuple[str, ...],
    survivor: Patient,
    merged: Patient,
    changed: list[dict],
    actor: Actor,
) -> list[int]:
    """The merged record's rows the survivor can take; the more restrictive consent
    and a single preferred language settled on the survivor's side."""
    kept: dict[tuple, Any] = {
        tuple(getattr(r, k) for k in keys): r
        for r in model._default_manager.filter(**{field: survivor})
    }
    moving: list[Any] = []
    row: Any
    for row in model._default_manager.filter(**{field: merged}):
        own = kept.get(tuple(getattr(row, k) for k in keys))
        if own is None:
            moving.append(row)
        elif (
            model is CommunicationConsent
            and row.status == ConsentStatus.OPT_OUT
            and own.status != ConsentStatus.OPT_OUT
        ):
            _set(own, "status", ConsentStatus.OPT_OUT, changed, actor)
    if model is PatientLanguage and any(r.preferred for r in kept.values()):
        for row in moving:
            if row.preferred:
                _set(row, "preferred", False, changed, actor)
    return [row.pk for row in moving]


@transaction.atomic
def patient_merge(
    *,
    survivor: Patient,
    merged: Patient,
    actor: Actor,
    reason: str,
    expected_version: int | None = None,
) -> PatientMerge:
    """Join ``merged`` into ``survivor`` (see the module docstring)."""
    require_reason(reason)
    if survivor.pk == merged.pk:
        raise InvalidInput(
            "A record cannot be merged into itself.", errors={"other_id": ["The same record."]}
        )
    # Locked in id order, so two merges of the same pair cannot deadlock.
    first, second = sorted((survivor, merged), key=lambda p: p.pk)
    locked = {
        first.pk: lock_for_update(first, expected_version if first.pk == survivor.pk else None),
        second.pk: lock_for_update(second, expected_version if second.pk == survivor.pk else None),
    }
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    for record in (survivor, merged):
        if record.status == PatientStatus.MERGED:
            raise Conflict(
                f"Record {record.mrn} was merged already.",
                code="patient_merged",
                merged_into=record.merged_into_id,
            )
    note = f"merged {merged.mrn} into {survivor.mrn}"
    moved: dict[str, list[int]] = {}
    changed: list[dict] = []
    for model, field in moving_links():
        label = model._meta.label
        if label in KEYED:
            ids = _keyed_rows(model, field, KEYED[label], survivor, merged, changed, actor)
        else:
            ids = list(
                model._default_manager.filter(**{field: merged}).values_list("pk", flat=True)
            )
        if ids:
            _move(model, field, ids, survivor, actor, note)
            moved[f"{label}:{field}"] = ids
    merge = PatientMerge.objects.create(
        survivor=survivor,
        merged=merged,
        reason=reason,
        merged_status=merged.status,
        moved=moved,
        changed=changed,
        merged_by=actor,
    )
    merged.status, merged.merged_into = PatientStatus.MERGED, survivor
    save_attributed(merged, actor=actor, reason=note, update_fields=["status", "merged_into"])
    save_attributed(survivor, actor=actor, reason=note, update_fields=["updated_at"])
    low, high = sorted((survivor.pk, merged.pk))
    DuplicateCandidate.objects.filter(patient_id=low, other_id=high).update(
        status=CandidateStatus.MERGED, decided_by=actor, decided_at=merge.merged_at
    )
    return merge


@transaction.atomic
def patient_unmerge(*, merged: Patient, actor: Actor, reason: str) -> PatientMerge:
    """Undo the latest merge of ``merged`` (see the module docstring); the pair is then
    two people for the duplicate worklist."""
    require_reason(reason)
    merge = (
        PatientMerge.objects.select_for_update()
        .filter(merged=merged, unmerged_at__isnull=True)
        .first()
    )
    if merge is None:
        raise Conflict("This record is not merged into another.", code="not_merged")
    if timezone.now() - merge.merged_at > datetime.timedelta(days=PatientMerge.UNDO_DAYS):
        raise Conflict(
            f"A merge can be undone within {PatientMerge.UNDO_DAYS} days; this one is older.",
            code="unmerge_too_late",
        )
    survivor = lock_for_update(merge.survivor, None)
    merged = lock_for_update(merged, None)
    note = f"unmerged {merged.mrn} from {survivor.mrn}"
    for key, ids in merge.moved.items():
        label, field = key.split(":")
        model = apps.get_model(label)
        back = model._default_manager.filter(pk__in=ids, **{field: survivor})
        _move(model, field, list(back.values_list("pk", flat=True)), merged, actor, note)
    for change in merge.changed:
        row = apps.get_model(change["model"])._default_manager.filter(pk=change["id"]).first()
        if row is not None and getattr(row, change["field"]) == change["after"]:
            setattr(row, change["field"], change["before"])
            save_attributed(row, actor=actor, reason=note, update_fields=[change["field"]])
    merged.status, merged.merged_into = merge.merged_status, None
    save_attributed(merged, actor=actor, reason=note, update_fields=["status", "merged_into"])
    save_attributed(survivor, actor=actor, reason=note, update_fields=["updated_at"])
    merge.unmerged_by, merge.unmerged_at = actor, timezone.now()
    merge.save(update_fields=["unmerged_by", "unmerged_at"])
    low, high = sorted((survivor.pk, merged.pk))
    DuplicateCandidate.objects.filter(patient_id=low, other_id=high).update(
        status=CandidateStatus.DISTINCT, decided_by=actor, decided_at=merge.unmerged_at
    )
    return merge
