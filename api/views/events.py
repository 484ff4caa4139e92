"""Department events: what the pharmacy, the lab and billing report about patients."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from api.audit import AuditedMixin
from api.pagination import keyset
from api.serializers.events import DepartmentEventSerializer
from api.views.base import refuse_merged
from crm.access import Section, require_row
from integrations.choices import KIND_DEPARTMENT
from integrations.filtersets import DepartmentEventFilterSet
from integrations.models import DepartmentEvent
from integrations.selectors import department_event_list
from integrations.services import department_event_record


class DepartmentEventViewSet(
    AuditedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Events of the departments, newest first: each department reads and records its
    own (the lab's are the clinicians'); coordinators and clinicians read them all."""

    resource = "DepartmentEvent"
    serializer_class = DepartmentEventSerializer
    filterset_class = DepartmentEventFilterSet
    pagination_class = keyset("-occurred_at", "-id")
    section = Section.DEPARTMENT_EVENTS

    def get_queryset(self):
        return department_event_list(user=self.request.user)

    @extend_schema(responses={200: DepartmentEventSerializer, 201: DepartmentEventSerializer})
    def create(self, request):
        """Record an event: 201 when new, 200 when its ``source`` and ``external_id`` were
        known (what changed is applied; sending the same body again changes nothing)."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        refuse_merged(data["patient"])
        kind = data["kind"]
        require_row(request.user, self.section, DepartmentEvent(department=KIND_DEPARTMENT[kind]))
        event, created = department_event_record(actor=request.user, **data)
        return Response(
            self.get_serializer(event).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
