"""Field-level change history from django-simple-history, as readable entries."""

from collections.abc import Collection

from django.db.models import QuerySet

# Columns that change on every save and say nothing to a reader.
_SKIP = {"id", "version", "created_at", "updated_at", "name_search"}
_TYPE = {"+": "created", "~": "changed", "-": "deleted"}


def _tracked_fields(historical_model) -> list[str]:
    return [
        field.attname
        for field in historical_model._meta.concrete_fields
        if not field.name.startswith("history_") and field.attname not in _SKIP
    ]


def change_log(record: str, history: QuerySet, hidden: Collection[str] = ()) -> list[dict]:
    """One entry per historical row of ``history`` (one model, any number of objects),
    with the fields that changed from what to what; fields in ``hidden`` (those the
    reader may not see) are left out, and so is a change that touched only them."""
    rows = list(
        history.select_related("history_user").order_by("id", "history_date", "history_id")
    )
    if not rows:
        return []
    fields = [f for f in _tracked_fields(type(rows[0])) if f not in hidden]
    entries = []
    previous_by_object = {}
    for row in rows:
        previous = previous_by_object.get(row.id)
        if row.history_type == "-":
            changes = []
        else:
            changes = [
                {
                    "field": name.removesuffix("_id") if name.endswith("_id") else name,
                    "from": getattr(previous, name) if previous else None,
                    "to": getattr(row, name),
                }
                for name in fields
                if (previous is None and getattr(row, name) not in (None, "", [], {}))
                or (previous is not None and getattr(previous, name) != getattr(row, name))
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
                "record_id": row.id,
                "reason": row.history_change_reason or "",
                "changes": changes,
            }
        )
    return entries


def merged_change_log(sources: list[tuple[str, QuerySet]]) -> list[dict]:
    """Entries of several models, newest first."""
    entries = [entry for record, history in sources for entry in change_log(record, history)]
    return sorted(entries, key=lambda entry: entry["at"], reverse=True)
