from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from api.mixins import IF_MATCH_PARAMETER, expected_version
from api.pagination import keyset, paginated_list
from api.serializers.common import HistoryEntrySerializer, InvalidTransitionSerializer
from api.serializers.referrals import (
    TRANSITION_INPUTS,
    CompleteInputSerializer,
    FollowUpSerializer,
    OrganizationSerializer,
    PractitionerSerializer,
    ReasonInputSerializer,
    ReferralEventSerializer,
    ReferralSerializer,
)
from api.views.base import WRITE_PARAMETERS, RecordViewSet, transition_action
from crm.access import Section, require_row, rows_q
from crm.history import change_log
from crm.roles import HasStaffRole, Role, has_role
from referrals import selectors, service_levels, services
from referrals.filtersets import (
    FollowUpFilterSet,
    OrganizationFilterSet,
    PractitionerFilterSet,
    ReferralFilterSet,
)
from referrals.models import FollowUp, Referral
from referrals.services import TRANSITION_SERVICES


class DirectoryWrite(BasePermission):
    """Every staff member reads the provider directory; coordinators, clinicians and
    administrators maintain it."""

    message = "Only coordinators, clinicians and administrators change the directory."

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or has_role(
            request.user, Role.COORDINATOR, Role.CLINICIAN, Role.ADMIN
        )


DIRECTORY = [HasStaffRole, DirectoryWrite]


@WRITE_PARAMETERS
class OrganizationViewSet(RecordViewSet):
    """The directory of provider organizations that receive referrals."""

    queryset = selectors.organization_list()
    serializer_class = OrganizationSerializer
    permission_classes = DIRECTORY
    audit = False  # the directory holds no patient data
    filterset_class = OrganizationFilterSet
    create_service = services.organization_create
    update_service = services.organization_update
    instance_name = "organization"


@WRITE_PARAMETERS
class PractitionerViewSet(RecordViewSet):
    """The directory of practitioners (NPI checked by its check digit)."""

    queryset = selectors.practitioner_list()
    serializer_class = PractitionerSerializer
    permission_classes = DIRECTORY
    audit = False
    filterset_class = PractitionerFilterSet
    create_service = services.practitioner_create
    update_service = services.practitioner_update
    instance_name = "practitioner"


def _transition_action(name: str):
    return transition_action(
        name,
        inputs=TRANSITION_INPUTS,
        services=TRANSITION_SERVICES,
        response_serializer=ReferralSerializer,
        conflict_serializer=InvalidTransitionSerializer,
    )


@WRITE_PARAMETERS
class ReferralViewSet(RecordViewSet):
    """Referrals, their transitions, event log and change history."""

    serializer_class = ReferralSerializer
    filterset_class = ReferralFilterSet
    pagination_class = keyset("-created_at", "-id")
    section = Section.REFERRALS
    section_by_action = {"history": [(Section.REFERRALS, "read"), (Section.HISTORY, "read")]}
    create_service = services.referral_create
    update_service = services.referral_update
    instance_name = "referral"

    def get_queryset(self):
        return selectors.referral_list()

    def get_serializer_context(self):
        if not hasattr(self, "_service_levels"):
            self._service_levels = service_levels.targets()
        return {**super().get_serializer_context(), "service_levels": self._service_levels}

    send = _transition_action("send")
    accept = _transition_action("accept")
    decline = _transition_action("decline")
    schedule = _transition_action("schedule")
    no_show = _transition_action("no_show")
    seen = _transition_action("seen")
    close = _transition_action("close")
    cancel = _transition_action("cancel")
    reopen = _transition_action("reopen")

    @extend_schema(responses=ReferralEventSerializer(many=True))
    @action(detail=True, filter_backends=[], pagination_class=None)
    def events(self, request, pk=None):
        """Every transition: who, when, from, to and why, oldest first."""
        events = selectors.referral_events(self.get_object())
        return Response(ReferralEventSerializer(events, many=True).data)

    @extend_schema(responses=HistoryEntrySerializer(many=True))
    @action(detail=True, filter_backends=[], pagination_class=None)
    def history(self, request, pk=None):
        """Field-level changes to the referral, newest first."""
        referral = self.get_object()
        entries = change_log("referral", Referral.history.filter(id=referral.pk))
        entries.reverse()
        return paginated_list(request, self, entries, HistoryEntrySerializer)


@WRITE_PARAMETERS
class FollowUpViewSet(RecordViewSet):
    """Follow-up tasks for a person or a department queue."""

    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilterSet
    pagination_class = keyset("due_at", "id")
    section = Section.FOLLOW_UPS
    create_service = services.follow_up_create
    update_service = services.follow_up_update
    instance_name = "follow_up"

    def get_queryset(self):
        return selectors.follow_up_list().filter(rows_q(self.request.user, Section.FOLLOW_UPS))

    def perform_create(self, serializer):
        require_row(self.request.user, Section.FOLLOW_UPS, FollowUp(**serializer.validated_data))
        super().perform_create(serializer)

    def perform_update(self, serializer):
        require_row(self.request.user, Section.FOLLOW_UPS, serializer.instance)
        moved = FollowUp(
            assigned_to=serializer.validated_data.get(
                "assigned_to", serializer.instance.assigned_to
            ),
            queue=serializer.validated_data.get("queue", serializer.instance.queue),
        )
        require_row(self.request.user, Section.FOLLOW_UPS, moved)
        super().perform_update(serializer)

    def _finish(self, request, service, input_serializer):
        follow_up = self.get_object()
        require_row(request.user, Section.FOLLOW_UPS, follow_up)
        data = input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        service(
            follow_up=follow_up,
            actor=request.user,
            expected_version=expected_version(request),
            **data.validated_data,
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=follow_up.pk)).data)

    @extend_schema(
        request=CompleteInputSerializer,
        responses=FollowUpSerializer,
        parameters=[IF_MATCH_PARAMETER],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def complete(self, request, pk=None):
        """Mark the follow-up done, with its outcome."""
        return self._finish(request, services.follow_up_complete, CompleteInputSerializer)

    @extend_schema(
        request=ReasonInputSerializer,
        responses=FollowUpSerializer,
        parameters=[IF_MATCH_PARAMETER],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request, pk=None):
        """Cancel the follow-up; a reason is required."""
        return self._finish(request, services.follow_up_cancel, ReasonInputSerializer)
