"""Patient-experience endpoints: complaints, surveys, the complaints worklist, metrics."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from api.audit import AuditedMixin
from api.pagination import keyset
from api.serializers.care import (
    ExperienceFilterSerializer,
    MetricsQuerySerializer,
    WorklistQuerySerializer,
)
from api.serializers.experience import (
    ComplaintEventSerializer,
    ComplaintSerializer,
    ComplaintWorklistSerializer,
    ExperienceMetricsSerializer,
    SurveyInvitationSerializer,
    SurveyResponseSerializer,
)
from api.views.base import WRITE_PARAMETERS, RecordViewSet, with_transitions
from api.views.care import query_params
from crm.access import Scope, Section
from crm.db import replica_reads
from crm.worklists import mine_q
from interactions import service_levels
from interactions.filtersets import (
    ComplaintFilterSet,
    SurveyInvitationFilterSet,
    SurveyResponseFilterSet,
)
from interactions.metrics import experience_metrics
from interactions.models import Interaction, SurveyInvitation, SurveyResponse
from interactions.selectors import (
    complaint_list,
    complaint_worklist,
    survey_invitation_list,
    survey_response_list,
    tallied_contacts,
    visible_interactions_q,
)
from interactions.services import (
    COMPLAINT_TRANSITION_SERVICES,
    complaint_create,
    complaint_update,
    survey_response_record,
)
from interactions.workflow import COMPLAINT_WORKFLOW
from messaging.metrics import message_metrics
from messaging.models import Message
from messaging.surveys import survey_send


class ComplaintContextMixin:
    def get_serializer_context(self):
        if not hasattr(self, "_complaint_targets"):
            self._complaint_targets = service_levels.targets()
        return {
            **super().get_serializer_context(),
            "now": timezone.now(),
            "complaint_targets": self._complaint_targets,
        }


@WRITE_PARAMETERS
@with_transitions(COMPLAINT_WORKFLOW, COMPLAINT_TRANSITION_SERVICES, ComplaintSerializer)
class ComplaintViewSet(ComplaintContextMixin, RecordViewSet):
    """Complaints (cases), negative public reviews included, with service levels."""

    resource = "Complaint"
    serializer_class = ComplaintSerializer
    filterset_class = ComplaintFilterSet
    pagination_class = keyset("-received_at", "-id")
    section = Section.FEEDBACK
    create_service = complaint_create
    update_service = complaint_update
    instance_name = "complaint"

    def get_queryset(self):
        return complaint_list(user=self.request.user)

    @extend_schema(responses=ComplaintEventSerializer(many=True))
    @action(detail=True, filter_backends=[], pagination_class=None)
    def events(self, request, pk=None):
        """Every status change: who, when, from, to and why, oldest first."""
        events = self.get_object().events.select_related("actor").order_by("occurred_at", "id")
        return Response(ComplaintEventSerializer(events, many=True).data)


class SurveyInvitationViewSet(
    AuditedMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Surveys sent as single-use links. The link is in the create answer only, and is
    not kept (no Idempotency-Key replay), since it lets anyone holding it answer."""

    resource = "QuestionnaireResponse"
    serializer_class = SurveyInvitationSerializer
    filterset_class = SurveyInvitationFilterSet
    pagination_class = keyset("-sent_at", "-id")
    section = Section.FEEDBACK

    def get_queryset(self):
        return survey_invitation_list(user=self.request.user)

    def perform_create(self, serializer):
        invitation, link, message = survey_send(
            actor=self.request.user, **serializer.validated_data
        )
        invitation.link, invitation.message = link, message
        serializer.instance = invitation


class SurveyResponseViewSet(
    AuditedMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Survey answers; staff record those taken by phone or in person. A detractor
    opens a service-recovery follow-up for the rated department."""

    resource = "QuestionnaireResponse"
    serializer_class = SurveyResponseSerializer
    filterset_class = SurveyResponseFilterSet
    pagination_class = keyset("-received_at", "-id")
    section = Section.FEEDBACK

    def get_queryset(self):
        return survey_response_list(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = survey_response_record(
            actor=self.request.user, **serializer.validated_data
        )


class ComplaintWorklistView(AuditedMixin, ComplaintContextMixin, GenericAPIView):
    """Open complaints I own or my department queues hold, by bucket, most urgent first.
    `owner` or `queue` for others', `team=true` for everyone; every complaint filter
    applies."""

    filterset_class = ComplaintFilterSet
    serializer_class = ComplaintWorklistSerializer
    section = Section.FEEDBACK

    def get_queryset(self):
        return complaint_list(user=self.request.user)

    @extend_schema(parameters=[WorklistQuerySerializer])
    def get(self, request):
        options = query_params(WorklistQuerySerializer, request)
        complaints = self.filter_queryset(self.get_queryset())
        if not options["team"] and not {"owner", "queue"} & set(request.query_params):
            complaints = complaints.filter(mine_q(request.user, person="owner", queue="queue"))
        context = self.get_serializer_context()
        buckets = complaint_worklist(
            complaints,
            targets=context["complaint_targets"],
            now=context["now"],
            limit=options["limit"],
            offset=options["offset"],
        )
        return Response(ComplaintWorklistSerializer({"buckets": buckets}, context=context).data)


class ExperienceMetricsView(GenericAPIView):
    """NPS, CSAT, survey response rate, complaints by category and status with their
    response and resolution times, first-response time per channel, and messages (sent,
    delivered, failed per channel and purpose; opt-out and reply rates; time to answer a
    patient's text), from `start` to `end` (inclusive). Filters: department, channel,
    category (complaints)."""

    serializer_class = ExperienceMetricsSerializer
    section = Section.FEEDBACK
    minimum_scope = Scope.ALL

    @extend_schema(parameters=[MetricsQuerySerializer, ExperienceFilterSerializer])
    @replica_reads()
    def get(self, request):
        period = query_params(MetricsQuerySerializer, request)
        filters = query_params(ExperienceFilterSerializer, request)
        scope = {}
        if filters.get("department"):
            scope["department__in"] = filters["department"]
        if filters.get("channel"):
            scope["channel__in"] = filters["channel"]
        complaint_scope = dict(scope)
        if filters.get("category"):
            complaint_scope["category__in"] = filters["category"]
        # The first responses come from the tallies unless a department is asked for
        # (the reply times are not tallied by department).
        tallied = None
        if not filters.get("department"):
            tallied = tallied_contacts(request.user, filters.get("channel"))
        figures = experience_metrics(
            responses=SurveyResponse.objects.filter(**scope),
            invitations=SurveyInvitation.objects.filter(**scope),
            complaints=complaint_list(user=request.user).filter(**complaint_scope),
            interactions=Interaction.objects.filter(
                visible_interactions_q(request.user, per_row=True), **scope
            ),
            start=period["start"],
            end=period["end"],
            complaint_targets=service_levels.targets(),
            tallied_contacts=tallied,
        )
        figures["messages"] = message_metrics(
            messages=Message.objects.filter(**scope), start=period["start"], end=period["end"]
        )
        return Response(ExperienceMetricsSerializer(figures).data)
