from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers, viewsets

from api.audit import AuditedMixin
from api.pagination import keyset
from crm.filtersets import AccessRecordFilterSet
from crm.models import AccessRecord
from crm.roles import HasRole, HasStaffRole, Role


class AccessRecordSerializer(serializers.ModelSerializer):
    patients = serializers.SerializerMethodField()

    class Meta:
        model = AccessRecord
        fields = [
            "id",
            "occurred_at",
            "user_id",
            "username",
            "auth_method",
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
