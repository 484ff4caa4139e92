from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.audit import AuditedMixin
from api.fields import transition_input_serializers
from api.mixins import (
    IDEMPOTENCY_KEY_PARAMETER,
    IF_MATCH_PARAMETER,
    IdempotentCreateMixin,
    VersionedMixin,
    expected_version,
)
from api.serializers.common import InvalidTransitionSerializer
from crm.errors import Conflict
from patients.choices import PatientStatus
from patients.models import Patient

# Documents the Idempotency-Key and If-Match headers on a versioned record's writes.
WRITE_PARAMETERS = extend_schema_view(
    create=extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER]),
    update=extend_schema(parameters=[IF_MATCH_PARAMETER]),
    partial_update=extend_schema(parameters=[IF_MATCH_PARAMETER]),
)
# The directory keeps no version: its writes take an Idempotency-Key only.
DIRECTORY_WRITE_PARAMETERS = extend_schema_view(
    create=extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER])
)


def refuse_merged(record) -> None:
    """A merged record (or a row of one) takes no writes: they belong to the record it
    was merged into, which the 409 names."""
    patient = record if isinstance(record, Patient) else getattr(record, "patient", None)
    if patient is not None and patient.status == PatientStatus.MERGED:
        raise Conflict(
            f"This patient's record was merged into record {patient.merged_into_id}; "
            "write to that one.",
            code="patient_merged",
            merged_into=patient.merged_into_id,
        )


class RecordViewSet(
    AuditedMixin,
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

    def check_write(self, record) -> None:
        """Refuse (403) a write to a row the user's scope does not cover; the section
        itself is checked by the permission class."""

    def perform_create(self, serializer):
        refuse_merged(serializer.validated_data.get("patient"))
        serializer.instance = type(self).create_service(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        refuse_merged(serializer.instance)
        kwargs = {self.instance_name: serializer.instance}
        if "version" in {f.name for f in serializer.instance._meta.fields}:
            kwargs["expected_version"] = expected_version(self.request)
        serializer.instance = type(self).update_service(
            actor=self.request.user, **kwargs, **serializer.validated_data
        )


def with_transitions(workflow, services: dict, response_serializer):
    """A class decorator adding a workflow's ``POST /<records>/{id}/<action>/`` actions
    to a :class:`RecordViewSet`. Each validates the action's input (built from the workflow's
    table), checks the view's row rule (``check_write``), runs the action's service
    (which locks the row and refuses a transition not allowed now with 409) and answers
    with the record the service returns, already loaded with its joins."""
    inputs = transition_input_serializers(workflow)

    def make(name: str):
        def handler(self, request, pk=None):
            record = self.get_object()
            refuse_merged(record)
            self.check_write(record)
            data = inputs[name](data=request.data)
            data.is_valid(raise_exception=True)
            record = services[name](
                **{self.instance_name: record},
                actor=request.user,
                expected_version=expected_version(request),
                **data.validated_data,
            )
            return Response(self.get_serializer(record).data)

        handler.__name__ = name
        transition = workflow.table[name]
        handler.__doc__ = (
            f"{transition.label}. {transition.help} Refused with 409 when not allowed now."
        )
        handler = action(
            detail=True, methods=["post"], url_path=name.replace("_", "-"), filter_backends=[]
        )(handler)
        return extend_schema(
            request=inputs[name],
            responses={200: response_serializer, 409: InvalidTransitionSerializer},
            parameters=[IF_MATCH_PARAMETER],
        )(handler)

    def decorate(viewset):
        for name in workflow.table:
            setattr(viewset, name, make(name))
        return viewset

    return decorate
