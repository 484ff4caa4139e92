"""Field-level change history from django-simple-history: how it is kept
(:class:`HistoricalRecords`), and how it reads, as entries that name each field as
people say it and show values as people read them (a choice's label, a person's name),
alongside the raw values."""

import functools
from collections import defaultdict
from collections.abc import Collection

import simple_history.manager
import simple_history.models
from django.contrib.auth import get_user_model
from django.db.models import ForeignKey, QuerySet


class HistoryManager(simple_history.manager.HistoryManager):
    """simple-history's manager, its class made once per queryset class. The library
    makes the class anew, copying every queryset method into it, at each access to a
    model's ``history``: on every save of a tracked row, about a third of a millisecond."""

    @classmethod
    @functools.cache
    def from_queryset(cls, queryset_class, class_name=None):
        return super().from_queryset(queryset_class, class_name)


class HistoricalRecords(simple_history.models.HistoricalRecords):
    """How every tracked model keeps its history: simple-history's, with the manager
    above."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("history_manager", HistoryManager)
        super().__init__(*args, **kwargs)


# Columns that change on every save and say nothing to a reader, and the patient a
# row belongs to (fixed, and the history is read by patient or by record).
_SKIP = {"id", "version", "created_at", "updated_at", "name_search", "patient_id", "rule_key"}
_TYPE = {"+": "created", "~": "changed", "-": "deleted"}


def _tracked_fields(historical_model, hidden: Collection[str]) -> list:
    return [
        field
        for field in historical_model._meta.concrete_fields
        if not field.name.startswith("history_")
        and field.attname not in _SKIP
        and field.name not in hidden
    ]


def _display(field, value, names: dict) -> object:
    """How a person reads ``value`` of ``field``."""
    if value is None or value == "":
        return None
    if isinstance(field, ForeignKey):
        return names.get((field.related_model, value), f"#{value}")
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return value


def _name(obj) -> str:
    if isinstance(obj, get_user_model()):
        return obj.get_full_name() or obj.get_username()
    return str(obj)


def _names(rows: list, fields: list) -> dict:
    """The display names of every record the changes point to: one query per model."""
    wanted = defaultdict(set)
    for field in fields:
        if isinstance(field, ForeignKey):
            for row in rows:
                if getattr(row, field.attname) is not None:
                    wanted[field.related_model].add(getattr(row, field.attname))
    return {
        (model, pk): _name(obj)
        for model, ids in wanted.items()
        for pk, obj in model._default_manager.in_bulk(ids).items()
    }


def change_log(record: str, history: QuerySet, hidden: Collection[str] = ()) -> list[dict]:
    """One entry per historical row of ``history`` (one model, any number of objects),
    with the fields that changed from what to what; fields in ``hidden`` (those the
    reader may not see) are left out, and so is a change that touched only them."""
    rows = list(
        history.select_related("history_user").order_by("id", "history_date", "history_id")
    )
    if not rows:
        return []
    model = type(rows[0])
    fields = _tracked_fields(model, hidden)
    display_names = _names(rows, fields)
    label = model.instance_type._meta.verbose_name
    entries = []
    previous_by_object = {}
    for row in rows:
        previous = previous_by_object.get(row.id)
        if row.history_type == "-":
            changes = []
        else:
            changes = [
                {
                    "field": field.name,
                    "label": str(field.verbose_name),
                    "from": getattr(previous, field.attname) if previous else None,
                    "to": getattr(row, field.attname),
                    "from_display": _display(
                        field, getattr(previous, field.attname), display_names
                    )
                    if previous
                    else None,
                    "to_display": _display(field, getattr(row, field.attname), display_names),
                }
                for field in fields
                if (previous is None and getattr(row, field.attname) not in (None, "", [], {}))
                or (
                    previous is not None
                    and getattr(previous, field.attname) != getattr(row, field.attname)
                )
            ]
        previous_by_object[row.id] = row
        if row.history_type == "~" and not changes:
            continue
        entries.append(
            {
                "at": row.history_date,
                "user": row.history_user,
                "type": _TYPE[row.history_type],
                "record": record,
                "record_label": str(label),
                "record_id": row.id,
                "reason": row.history_change_reason or "",
                "changes": changes,
            }
        )
    return entries


def merged_change_log(sources: list[tuple[str, QuerySet, Collection[str]]]) -> list[dict]:
    """Entries of several models (record, history, hidden fields), newest first."""
    entries = [
        entry
        for record, history, hidden in sources
        for entry in change_log(record, history, hidden)
    ]
    return sorted(entries, key=lambda entry: entry["at"], reverse=True)
