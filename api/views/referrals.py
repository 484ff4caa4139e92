from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from api.pagination import keyset, paginated_list
from api.permissions import HasStaffRole
from api.serializers.common import (
    HISTORY_PAGE_PARAMETERS,
    HistoryEntrySerializer,
    HistoryPageSerializer,
)
from api.serializers.referrals import (
    FollowUpSerializer,
    OrganizationSerializer,
    PractitionerSerializer,
    ReferralEventSerializer,
    ReferralSerializer,
)
from api.views.base import (
    DIRECTORY_WRITE_PARAMETERS,
    WRITE_PARAMETERS,
    RecordViewSet,
    with_transitions,
)
from crm.access import Section, hidden_fields, require_row
from crm.history import change_log
from crm.roles import Role, has_role
from referrals import selectors, service_levels, services
from referrals.filtersets import (
    FollowUpFilterSet,
    OrganizationFilterSet,
    PractitionerFilterSet,
    ReferralFilterSet,
)
from referrals.models import FollowUp, Referral
from referrals.services import FOLLOW_UP_TRANSITION_SERVICES, TRANSITION_SERVICES
from referrals.workflow import FOLLOW_UP_WORKFLOW, REFERRAL_WORKFLOW


class DirectoryWrite(BasePermission):
    """Every staff member reads the provider directory; coordinators, clinicians and
    administrators maintain it."""

    message = "Only coordinators, clinicians and administrators change the directory."

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or has_role(
            request.user, Role.COORDINATOR, Role.CLINICIAN, Role.ADMIN
        )


DIRECTORY = [HasStaffRole, DirectoryWrite]


@DIRECTORY_WRITE_PARAMETERS
class OrganizationViewSet(RecordViewSet):
    """The directory of provider organizations that receive referrals."""

    resource = "Organization"
    queryset = selectors.organization_list()
    serializer_class = OrganizationSerializer
    permission_classes = DIRECTORY
    audit = False  # the directory holds no patient data
    filterset_class = OrganizationFilterSet
    create_service = services.organization_create
    update_service = services.organization_update
    instance_name = "organization"


@DIRECTORY_WRITE_PARAMETERS
class PractitionerViewSet(RecordViewSet):
    """The directory of practitioners (NPI checked by its check digit)."""

    resource = "Practitioner"
    queryset = selectors.practitioner_list()
    serializer_class = PractitionerSerializer
    permission_classes = DIRECTORY
    audit = False
    filterset_class = PractitionerFilterSet
    create_service = services.practitioner_create
    update_service = services.practitioner_update
    instance_name = "practitioner"


@WRITE_PARAMETERS
@with_transitions(REFERRAL_WORKFLOW, TRANSITION_SERVICES, ReferralSerializer)
class ReferralViewSet(RecordViewSet):
    """Referrals, their transitions, event log and change history."""

    resource = "ServiceRequest"
    serializer_class = ReferralSerializer
    filterset_class = ReferralFilterSet
    pagination_class = keyset("-created_at", "-id")
    section = Section.REFERRALS
    section_by_action = {"history": [(Section.REFERRALS, "read"), (Section.HISTORY, "read")]}
    create_service = services.referral_create
    update_service = services.referral_update
    instance_name = "referral"

    def get_queryset(self):
        return selectors.referral_list(user=self.request.user)

    def get_serializer_context(self):
        if not hasattr(self, "_service_levels"):
            self._service_levels = service_levels.targets()
        return {**super().get_serializer_context(), "service_levels": self._service_levels}

    @extend_schema(responses=ReferralEventSerializer(many=True))
    @action(detail=True, filter_backends=[], pagination_class=None)
    def events(self, request, pk=None):
        """Every transition: who, when, from, to and why, oldest first."""
        events = selectors.referral_events(self.get_object())
        return Response(
            ReferralEventSerializer(events, many=True, context={"request": request}).data
        )

    @extend_schema(responses=HistoryPageSerializer, parameters=HISTORY_PAGE_PARAMETERS)
    @action(detail=True, filter_backends=[], pagination_class=None)
    def history(self, request, pk=None):
        """Field-level changes to the referral, newest first."""
        referral = self.get_object()
        entries = change_log(
            "referral",
            Referral.history.filter(id=referral.pk),
            hidden=hidden_fields(request.user, Referral.section_fields),
        )
        entries.reverse()
        return paginated_list(request, self, entries, HistoryEntrySerializer)


@WRITE_PARAMETERS
@with_transitions(FOLLOW_UP_WORKFLOW, FOLLOW_UP_TRANSITION_SERVICES, FollowUpSerializer)
class FollowUpViewSet(RecordViewSet):
    """Follow-up tasks for a person or a department queue."""

    resource = "Task"
    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilterSet
    pagination_class = keyset("due_at", "id")
    section = Section.FOLLOW_UPS
    create_service = services.follow_up_create
    update_service = services.follow_up_update
    instance_name = "follow_up"

    def get_queryset(self):
        return selectors.follow_up_list(user=self.request.user)

    def perform_create(self, serializer):
        require_row(self.request.user, Section.FOLLOW_UPS, FollowUp(**serializer.validated_data))
        super().perform_create(serializer)

    def check_write(self, record) -> None:
        require_row(self.request.user, Section.FOLLOW_UPS, record)

    def perform_update(self, serializer):
        self.check_write(serializer.instance)
        moved = FollowUp(
            assigned_to=serializer.validated_data.get(
                "assigned_to", serializer.instance.assigned_to
            ),
            queue=serializer.validated_data.get("queue", serializer.instance.queue),
        )
        require_row(self.request.user, Section.FOLLOW_UPS, moved)
        super().perform_update(serializer)
