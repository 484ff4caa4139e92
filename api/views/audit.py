from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.audit import AuditedMixin
from api.fields import ChoiceField, ModelSerializer
from api.pagination import keyset
from api.permissions import HasRole, HasStaffRole
from api.serializers.patients import EmergencyAccessReviewSerializer, EmergencyAccessSerializer
from crm.filtersets import AccessRecordFilterSet
from crm.models import AccessRecord
from crm.roles import Role
from patients.filtersets import EmergencyAccessFilterSet
from patients.models import EmergencyAccess
from patients.services import emergency_access_review


class AccessRecordSerializer(ModelSerializer):
    patients = serializers.SerializerMethodField()
    outcome = ChoiceField(choices=AccessRecord.Outcome.choices)
    purpose = ChoiceField(choices=AccessRecord.Purpose.choices, allow_blank=True)

    class Meta:
        model = AccessRecord
        fields = [
            "id",
            "occurred_at",
            "user_id",
            "username",
            "auth_method",
            "client",
            "patients",
            "action",
            "method",
            "endpoint",
            "status_code",
            "outcome",
            "client_address",
            "request_id",
            "purpose",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_patients(self, record) -> list[int]:
        return record.patients


class AccessRecordViewSet(AuditedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Who accessed which patients, when, from where, with what outcome and why.
    For the privacy officer (the administrator role) only; read-only."""

    permission_classes = [HasStaffRole, HasRole.of(Role.ADMIN)]
    serializer_class = AccessRecordSerializer
    filterset_class = AccessRecordFilterSet
    pagination_class = keyset("-occurred_at", "-id")
    queryset = AccessRecord.objects.all()


class EmergencyAccessViewSet(AuditedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Broken-glass grants for the privacy officer to review; `reviewed=false` lists
    the flagged ones."""

    permission_classes = [HasStaffRole, HasRole.of(Role.ADMIN)]
    serializer_class = EmergencyAccessSerializer
    filterset_class = EmergencyAccessFilterSet
    pagination_class = keyset("-granted_at", "-id")
    queryset = EmergencyAccess.objects.select_related("user", "reviewed_by")

    @extend_schema(request=EmergencyAccessReviewSerializer, responses=EmergencyAccessSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def review(self, request, pk=None):
        """Mark a grant reviewed, with the privacy officer's note."""
        data = EmergencyAccessReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = emergency_access_review(
            grant=self.get_object(), actor=request.user, note=data.validated_data["note"]
        )
        return Response(EmergencyAccessSerializer(grant).data)
