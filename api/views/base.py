from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from api.mixins import (
    IDEMPOTENCY_KEY_PARAMETER,
    IF_MATCH_PARAMETER,
    IdempotentCreateMixin,
    VersionedMixin,
    expected_version,
)

# Documents the Idempotency-Key and If-Match headers on a RecordViewSet's writes.
WRITE_PARAMETERS = extend_schema_view(
    create=extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER]),
    update=extend_schema(parameters=[IF_MATCH_PARAMETER]),
    partial_update=extend_schema(parameters=[IF_MATCH_PARAMETER]),
)


class RecordViewSet(
    IdempotentCreateMixin,
    VersionedMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """List, retrieve, create and update; writes go to the ``create_service`` and
    ``update_service`` named by the subclass. Records are never deleted over the API."""

    create_service = None
    update_service = None
    instance_name = None  # keyword the update service takes the instance by

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def perform_create(self, serializer):
        serializer.instance = type(self).create_service(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        kwargs = {self.instance_name: serializer.instance}
        if "version" in {f.name for f in serializer.instance._meta.fields}:
            kwargs["expected_version"] = expected_version(self.request)
        serializer.instance = type(self).update_service(
            actor=self.request.user, **kwargs, **serializer.validated_data
        )
