from django.urls import reverse
from rest_framework import serializers

from api.fields import ModelSerializer, Serializer
from api.serializers.changes import record_types_field
from integrations.models import Export


class ExportRequestSerializer(Serializer):
    types = record_types_field("Record types; none: every type the caller may read.")
    since = serializers.DateTimeField(
        required=False, help_text="Only records changed at or after this time."
    )


class ExportSerializer(ModelSerializer):
    files = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "status",
            "types",
            "since",
            "counts",
            "files",
            "error",
            "requested_at",
            "finished_at",
            "expires_at",
        ]

    def get_files(self, export: Export) -> list[dict]:
        """Where to download each type's NDJSON, once done."""
        if export.status != Export.Status.DONE:
            return []
        return [
            {
                "type": record_type,
                "count": count,
                "url": reverse("export-file", args=[export.pk, record_type]),
            }
            for record_type, count in export.counts.items()
        ]
