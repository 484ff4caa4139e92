"""Care-continuity endpoints: worklists, referral metrics, handoffs."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from api.audit import AuditedMixin
from api.serializers.care import (
    FollowUpWorklistSerializer,
    HandoffSerializer,
    MetricsQuerySerializer,
    MovedSerializer,
    ReferralMetricsSerializer,
    ReferralWorklistSerializer,
    WorklistQuerySerializer,
)
from crm.access import Scope, Section, rows_q
from crm.db import replica_reads
from crm.roles import user_queues
from crm.worklists import mine_q
from referrals import selectors, service_levels
from referrals.filtersets import FollowUpFilterSet, ReferralFilterSet
from referrals.metrics import referral_metrics
from referrals.models import FollowUp
from referrals.services import staff_handoff
from referrals.worklists import Counted, follow_up_worklist, referral_worklist


def query_params(serializer_class, request):
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def unfiltered(view, everything_visible: bool) -> bool:
    """Whether the view reads every row of its model: no filter given, and a user who
    sees them all. The team worklists then count from the tallies."""
    filters = set(view.filterset_class.base_filters)
    return everything_visible and not filters & set(view.request.query_params)


class ReferralWorklistView(AuditedMixin, GenericAPIView):
    """What needs me now: my open referrals by bucket, most urgent first.

    Mine by default; `coordinator` (repeatable) for others, `team=true` for everyone.
    Takes every filter of `/api/referrals/`."""

    section = Section.REFERRALS
    filterset_class = ReferralFilterSet
    serializer_class = ReferralWorklistSerializer

    def get_queryset(self):
        return selectors.referral_list(user=self.request.user)

    @extend_schema(parameters=[WorklistQuerySerializer])
    def get(self, request):
        options = query_params(WorklistQuerySerializer, request)
        referrals = self.filter_queryset(self.get_queryset())
        coordinators = [int(pk) for pk in request.query_params.getlist("coordinator")]
        if options["team"]:
            coordinators = None
        elif not coordinators:
            referrals = referrals.filter(mine_q(request.user, person="coordinator"))
            coordinators = [request.user.pk]
        now = timezone.now()
        targets = service_levels.targets()
        everyone = coordinators is None and unfiltered(
            self, rows_q(request.user, Section.REFERRALS) == Q()
        )
        context = {**self.get_serializer_context(), "now": now, "service_levels": targets}
        buckets = referral_worklist(
            referrals,
            targets=targets,
            now=now,
            limit=options["limit"],
            offset=options["offset"],
            everyone=everyone,
        )
        data = {"coordinators": coordinators, "buckets": buckets}
        return Response(ReferralWorklistSerializer(data, context=context).data)


class FollowUpWorklistView(AuditedMixin, GenericAPIView):
    """My follow-ups and my department queues' ones: overdue, due today, upcoming.

    `assigned_to` or `queue` to look at others', `team=true` for everyone. Takes every
    filter of `/api/follow-ups/`."""

    section = Section.FOLLOW_UPS
    filterset_class = FollowUpFilterSet
    serializer_class = FollowUpWorklistSerializer

    def get_queryset(self):
        return selectors.follow_up_list(user=self.request.user)

    @extend_schema(parameters=[WorklistQuerySerializer])
    def get(self, request):
        options = query_params(WorklistQuerySerializer, request)
        follow_ups = self.filter_queryset(self.get_queryset())
        scoped = {"assigned_to", "queue"} & set(request.query_params)
        owners, tallied_owners = Q(), Q()  # everyone's
        if not options["team"] and not scoped:
            owners = mine_q(request.user, person="assigned_to", queue="queue")
            tallied_owners = Q(assignee=request.user.pk) | Q(queue__in=user_queues(request.user))
            follow_ups = follow_ups.filter(owners)
        counted = None
        if (options["team"] or not scoped) and unfiltered(
            self, rows_q(request.user, Section.FOLLOW_UPS) == Q()
        ):
            # Restricted ones the user may not see are in the tallies: they are taken off.
            hidden = selectors.hidden_follow_ups_q(request.user)
            counted = Counted(hidden, rows=owners, tally=tallied_owners)
        now = timezone.now()
        worklist = follow_up_worklist(
            follow_ups,
            now=now,
            horizon=timedelta(days=options["horizon_days"]),
            limit=options["limit"],
            offset=options["offset"],
            by_priority=options["order"] == "priority",
            counted=counted,
        )
        context = {**self.get_serializer_context(), "now": now}
        return Response(FollowUpWorklistSerializer(worklist, context=context).data)


class ReferralMetricsView(GenericAPIView):
    """Loop closure, times between steps, overdue counts, no-shows, out-of-network share
    and follow-ups on time for referrals sent from `start` to `end` (inclusive), as
    docs/domain.md defines them. Filters: priority, specialty,
    receiving_organization, coordinator."""

    section = Section.REFERRALS
    minimum_scope = Scope.ALL
    filterset_class = ReferralFilterSet
    serializer_class = ReferralMetricsSerializer

    def get_queryset(self):
        return selectors.referral_list(user=self.request.user).order_by()

    @extend_schema(parameters=[MetricsQuerySerializer])
    @replica_reads()
    def get(self, request):
        period = query_params(MetricsQuerySerializer, request)
        referrals = self.filter_queryset(self.get_queryset())
        follow_ups = selectors.follow_up_list(user=request.user).order_by()
        params = request.query_params
        if "coordinator" in params:
            follow_ups = follow_ups.filter(assigned_to__in=params.getlist("coordinator"))
        if {"priority", "specialty", "receiving_organization"} & set(params):
            follow_ups = follow_ups.filter(referral__in=referrals)
        hidden_follow_ups = None
        if unfiltered(self, everything_visible=True):
            hidden_follow_ups = FollowUp.objects.filter(
                selectors.hidden_follow_ups_q(request.user)
            )
        figures = referral_metrics(
            referrals,
            follow_ups,
            start=period["start"],
            end=period["end"],
            targets=service_levels.targets(),
            now=timezone.now(),
            hidden_follow_ups=hidden_follow_ups,
        )
        return Response(ReferralMetricsSerializer(figures).data)


class HandoffView(AuditedMixin, GenericAPIView):
    """Hand everything a departing staff member holds to another user (or their
    follow-ups to a queue), in one atomic step recorded in the change history."""

    section = Section.CARE_TEAM
    serializer_class = HandoffSerializer

    @extend_schema(responses=MovedSerializer)
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        moved = staff_handoff(actor=request.user, **serializer.validated_data)
        return Response(MovedSerializer(moved).data)
