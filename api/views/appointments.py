"""Appointments: booked here or pushed in by the clinic's scheduling system, their
steps and event log, and the service types with their reminder schedules."""

import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from api.pagination import keyset
from api.permissions import HasStaffRole
from api.serializers.appointments import (
    AppointmentEventSerializer,
    AppointmentMetricsSerializer,
    AppointmentPushSerializer,
    AppointmentSerializer,
    DayQuerySerializer,
    DaySerializer,
    ServiceTypeSerializer,
)
from api.serializers.care import MetricsQuerySerializer
from api.serializers.common import InvalidTransitionSerializer
from api.views.base import WRITE_PARAMETERS, RecordViewSet, refuse_merged, with_transitions
from api.views.care import query_params
from appointments import selectors, services
from appointments.choices import AppointmentStatus
from appointments.filtersets import AppointmentFilterSet
from appointments.workflow import APPOINTMENT_WORKFLOW
from crm.access import Scope, Section
from crm.db import replica_reads
from crm.errors import Conflict
from messaging.metrics import appointment_metrics
from messaging.selectors import with_reminders_sent

# The day's call list: those the patient has not confirmed.
NOT_CONFIRMED = (AppointmentStatus.PROPOSED, AppointmentStatus.BOOKED)


def push(user, data: dict, expected_version: int | None = None):
    """A scheduling system's appointment (validated push input), by its source and id:
    refused when the id is another patient's appointment, or the patient's record was
    merged. (The REST push and FHIR's conditional update.)"""
    refuse_merged(data["patient"])
    known = selectors.appointment_list(user=user).filter(
        source=data["source"], external_id=data["external_id"]
    )
    if any(a.patient_id != data["patient"].pk for a in known):
        raise Conflict(
            "This appointment belongs to another patient in this system.",
            code="patient_mismatch",
            errors={"patient_id": ["Differs from the appointment's patient."]},
        )
    return services.appointment_upsert(actor=user, expected_version=expected_version, **data)


@WRITE_PARAMETERS
@with_transitions(APPOINTMENT_WORKFLOW, services.TRANSITION_SERVICES, AppointmentSerializer)
class AppointmentViewSet(RecordViewSet):
    """Appointments, soonest first."""

    resource = "Appointment"

    serializer_class = AppointmentSerializer
    filterset_class = AppointmentFilterSet
    pagination_class = keyset("start", "id")
    section = Section.APPOINTMENTS
    create_service = services.appointment_create
    update_service = services.appointment_update
    instance_name = "appointment"

    def get_queryset(self):
        return selectors.appointment_list(user=self.request.user)

    @extend_schema(
        request=AppointmentPushSerializer,
        responses={
            200: AppointmentSerializer,
            201: AppointmentSerializer,
            409: InvalidTransitionSerializer,
        },
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def push(self, request):
        """The scheduling system's appointment, by its ``source`` and ``external_id``:
        201 when new, 200 when it was known (what changed is applied: a new time is a
        reschedule, a new status the step to it). Sending the same body again changes
        nothing, so a retry is safe."""
        serializer = AppointmentPushSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appointment, created = push(request.user, serializer.validated_data)
        return Response(
            self.get_serializer(appointment).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(parameters=[DayQuerySerializer], responses=DaySerializer)
    @action(detail=False, filter_backends=[], pagination_class=None)
    def day(self, request):
        """The front desk's day (tomorrow unless ``day`` says otherwise): every
        appointment not cancelled, with the patient's phone and language and whether
        they confirmed; ``unconfirmed=true`` is the call list."""
        # A plain dict: an empty ``day=`` is an error, not an omitted parameter.
        query = DayQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        day = query.validated_data.get("day") or timezone.localdate() + dt.timedelta(days=1)
        rows = selectors.day_list(with_reminders_sent(self.get_queryset()), day=day)
        if query.validated_data.get("department"):
            rows = rows.filter(department__iexact=query.validated_data["department"])
        everyone = list(rows[: selectors.DAY_LIMIT + 1])
        truncated = len(everyone) > selectors.DAY_LIMIT
        everyone = everyone[: selectors.DAY_LIMIT]
        to_call = [a for a in everyone if a.status in NOT_CONFIRMED]
        shown = to_call if query.validated_data["unconfirmed"] else everyone
        data = {
            "day": day,
            "appointments": shown,
            "counts": {
                "appointments": len(everyone),
                "confirmed": len(everyone) - len(to_call),
                "unconfirmed": len(to_call),
            },
            "truncated": truncated,
        }
        return Response(DaySerializer(data, context=self.get_serializer_context()).data)

    @extend_schema(responses=AppointmentEventSerializer(many=True))
    @action(detail=True, filter_backends=[], pagination_class=None)
    def events(self, request, pk=None):
        """Every step: who, when, from, to, why, and on whose behalf (``details.by``)."""
        events = selectors.appointment_events(self.get_object())
        return Response(AppointmentEventSerializer(events, many=True).data)


class ServiceTypeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The service types and their reminder schedules (edited in the admin)."""

    resource = "Appointment"
    queryset = selectors.service_type_list()
    serializer_class = ServiceTypeSerializer
    permission_classes = [HasStaffRole]
    pagination_class = None
    filter_backends = []


class AppointmentMetricsView(GenericAPIView):
    """Confirmation rate, reminder reach, no-show rate (overall, by service type, by
    department, by whether a reminder reached the patient), lead time from booking to
    the visit, and the post-visit survey response rate, for the appointments that start
    from `start` to `end` (inclusive)."""

    serializer_class = AppointmentMetricsSerializer
    section = Section.APPOINTMENTS
    minimum_scope = Scope.ALL

    @extend_schema(parameters=[MetricsQuerySerializer])
    @replica_reads()
    def get(self, request):
        period = query_params(MetricsQuerySerializer, request)
        figures = appointment_metrics(
            appointments=selectors.appointment_list(user=request.user),
            start=period["start"],
            end=period["end"],
        )
        return Response(AppointmentMetricsSerializer({"period": period, **figures}).data)
