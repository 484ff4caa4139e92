"""``/api/exports/``: bulk exports (``integrations.exports``)."""

import datetime

from django.conf import settings
from django.db import transaction
from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from oauth2_provider.models import AccessToken
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from api.audit import AuditedMixin
from api.serializers.exports import ExportRequestSerializer, ExportSerializer
from crm.errors import Gone
from integrations.exports import export_file
from integrations.models import Export
from integrations.tasks import export as export_task


class ExportViewSet(
    AuditedMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """Ask for a bulk export of every record of the asked types the caller may read
    (changed since a time, if asked): a worker writes one NDJSON file per type, and
    the export's `files` link to them once `status` is done. Files can be downloaded
    by whoever asked, until `expires_at`; each download is in the access log."""

    serializer_class = ExportSerializer
    resource = "*"  # it only reads: any read scope will do
    scope_mode = "read"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema, with no user
            return Export.objects.none()
        return Export.objects.filter(owner=self.request.user)

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportSerializer})
    def create(self, request):
        data = ExportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = request.auth if isinstance(request.auth, AccessToken) else None
        export = Export.objects.create(
            owner=request.user,
            types=data.validated_data.get("types", []),
            since=data.validated_data.get("since"),
            scopes=token.scope if token else "",
            expires_at=timezone.now() + datetime.timedelta(hours=settings.EXPORT_HOURS),
        )
        transaction.on_commit(lambda: export_task.delay(export.pk))
        return Response(ExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(description="One record a line.")
        }
    )
    @action(detail=True, url_path=r"files/(?P<record_type>[A-Za-z]+)", url_name="file")
    def file(self, request, pk=None, record_type=None):
        """One type's NDJSON file."""
        export = self.get_object()
        if record_type not in export.counts:
            raise NotFound("This export has no file of that type.")
        if export.expires_at <= timezone.now():
            raise Gone("This export has expired; ask for a new one.")
        return FileResponse(
            export_file(export, record_type).open("rb"),
            content_type="application/x-ndjson",
            as_attachment=True,
            filename=f"export-{export.pk}-{record_type}.ndjson",
        )
