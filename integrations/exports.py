"""Bulk export: every record of the asked types that the owner may read (changed
since a time, if asked), as one NDJSON file per type, written by a worker.

Each type is read in primary-key order a chunk at a time (keyset, no offset), from
the replica when there is one (``crm.db.replica_reads``), each chunk as plain rows of
the type's exported columns, so the worker's memory stays flat however many rows
there are. The columns are a list per type (what is not on it, such as a message's
link nonces, is never exported), less the fields the owner's role may not read (a
referral's clinical reason, for billing). Files are kept under ``EXPORT_DIR`` until
the export expires (``EXPORT_HOURS``), then deleted.
"""

import datetime
import shutil
from pathlib import Path

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from crm.access import hidden_fields
from crm.db import replica_reads
from crm.scopes import grants
from integrations.feed import FOLLOWED, readable_types
from integrations.models import Export
from referrals.models import Referral

CHUNK = 2000
# The columns each type exports, and the one "since" compares.
COLUMNS: dict[str, tuple[list[str], str]] = {
    "Patient": (
        [
            "id", "mrn", "family_name", "given_name", "middle_name", "preferred_name",
            "birth_date", "administrative_sex", "status", "merged_into_id",
            "interpreter_needed", "accessibility_needs", "accessibility_notes",
            "preferred_channel", "contact_window_start", "contact_window_end", "time_zone",
            "do_not_contact", "care_coordinator_id", "primary_care_practitioner_id",
            "high_risk", "version", "created_at", "updated_at",
        ],
        "updated_at",
    ),
    "Interaction": (
        [
            "id", "patient_id", "channel", "direction", "department", "topic",
            "occurred_at", "duration_seconds", "staff_id", "summary", "outcome", "language",
            "interpreter_used", "interpreter_language", "sensitivity", "parent_id",
            "referral_id", "follow_up_id", "complaint_id", "version", "created_at",
            "updated_at",
        ],
        "updated_at",
    ),
    "Message": (
        [
            "id", "patient_id", "channel", "direction", "purpose", "department", "template",
            "subject", "body", "language", "language_used", "address", "sender",
            "sent_by_id", "rule", "status", "status_reason", "refusal_code", "keyword",
            "send_after", "attempts", "provider_id", "error_code", "segments", "encoding",
            "created_at", "sent_at", "delivered_at", "failed_at", "answered_at",
            "reply_to_id", "interaction_id", "referral_id", "appointment_id",
            "follow_up_id",
        ],
        "created_at",
    ),
    "Referral": (
        [
            "id", "patient_id", "referring_practitioner_id", "receiving_organization_id",
            "receiving_practitioner_id", "specialty", "priority", "status", "reason",
            "coordinator_id", "replaces_id", "appointment_at", "report_received_on",
            "report_from", "report_summary", "report_recommendations", "sent_at",
            "status_changed_at", "created_by_id", "version", "created_at", "updated_at",
        ],
        "updated_at",
    ),
    "FollowUp": (
        [
            "id", "patient_id", "kind", "title", "note", "due_at", "assigned_to_id",
            "queue", "priority", "status", "outcome", "completed_at", "completed_by_id",
            "referral_id", "interaction_id", "rule", "contact_language",
            "contact_channel", "created_by_id", "version", "created_at", "updated_at",
        ],
        "updated_at",
    ),
    "Appointment": (
        [
            "id", "patient_id", "service_type_id", "practitioner_id", "organization_id",
            "department", "location", "start", "end", "time_zone", "status",
            "status_changed_at", "booked_at", "confirmed_at", "source", "external_id",
            "referral_id", "version", "created_at", "updated_at",
        ],
        "updated_at",
    ),
    "Complaint": (
        [
            "id", "patient_id", "channel", "category", "department", "priority", "status",
            "owner_id", "queue", "description", "received_at", "first_response_at",
            "resolved_at", "resolution_note", "patient_informed", "referral_id",
            "created_by_id", "version", "created_at", "updated_at",
        ],
        "updated_at",
    ),
    "SurveyResponse": (
        [
            "id", "patient_id", "interaction_id", "referral_id", "department", "channel",
            "nps_score", "csat_score", "comment", "language", "received_at",
            "recorded_by_id",
        ],
        "received_at",
    ),
    "DepartmentEvent": (
        [
            "id", "patient_id", "kind", "department", "occurred_at", "title", "location",
            "reference", "source", "external_id", "message_id", "created_by_id",
            "version", "created_at", "updated_at",
        ],
        "updated_at",
    ),
}  # fmt: skip
# Fields of sections a role may not read, by type (``crm.access.hidden_fields``).
SECTION_FIELDS = {"Referral": Referral.section_fields}


def export_dir(export: Export) -> Path:
    return Path(settings.EXPORT_DIR) / str(export.pk)


def export_file(export: Export, record_type: str) -> Path:
    return export_dir(export) / f"{record_type}.ndjson"


def export_types(export: Export) -> list[str]:
    scopes = export.scopes.split()
    return readable_types(
        export.owner,
        export.types,
        lambda resource: not scopes or grants(scopes, resource, "read"),
    )


def export_run(export_id: int) -> Export:
    """Write the export's files; safe to run twice (a second run starts over)."""
    with transaction.atomic():
        export = Export.objects.select_for_update().select_related("owner").get(pk=export_id)
        if export.status == Export.Status.DONE:
            return export
        export.status = Export.Status.RUNNING
        export.save(update_fields=["status"])
    folder = export_dir(export)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    counts = {}
    try:
        with replica_reads():
            for record_type in export_types(export):
                counts[record_type] = _write(export, record_type)
    except Exception as exc:  # recorded on the export, for its owner
        Export.objects.filter(pk=export.pk).update(
            status=Export.Status.FAILED, error=f"{type(exc).__name__}"[:500]
        )
        raise
    Export.objects.filter(pk=export.pk).update(
        status=Export.Status.DONE, counts=counts, finished_at=timezone.now()
    )
    export.refresh_from_db()
    return export


def _write(export: Export, record_type: str) -> int:
    columns, changed = COLUMNS[record_type]
    hidden = hidden_fields(export.owner, SECTION_FIELDS.get(record_type, {}))
    columns = [c for c in columns if c not in hidden]
    rows = FOLLOWED[record_type].visible(user=export.owner).order_by()
    if export.since is not None:
        rows = rows.filter(**{f"{changed}__gte": export.since})
    encoder = DjangoJSONEncoder(ensure_ascii=False, separators=(",", ":"))
    written, last = 0, 0
    with export_file(export, record_type).open("w", encoding="utf-8") as out:
        while True:
            chunk = list(rows.filter(pk__gt=last).order_by("pk").values_list(*columns)[:CHUNK])
            if not chunk:
                return written
            out.writelines(
                encoder.encode(dict(zip(columns, row, strict=True))) + "\n" for row in chunk
            )
            written += len(chunk)
            last = chunk[-1][0]


def exports_expire(now: datetime.datetime | None = None) -> int:
    """Delete the files of expired exports; how many."""
    expired = Export.objects.filter(expires_at__lte=now or timezone.now())
    count = 0
    for export in expired:
        if export_dir(export).exists():
            shutil.rmtree(export_dir(export), ignore_errors=True)
            count += 1
    return count
