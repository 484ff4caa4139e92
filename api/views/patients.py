from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from api.mixins import IDEMPOTENCY_KEY_PARAMETER, IF_MATCH_PARAMETER, expected_version
from api.pagination import SearchPagination, keyset, next_link_after, paginated_list
from api.permissions import HasRole, HasStaffRole, SectionPermission
from api.serializers.care import MovedSerializer, ReassignCoordinatorSerializer
from api.serializers.common import (
    HISTORY_PAGE_PARAMETERS,
    ErrorSerializer,
    HistoryEntrySerializer,
    HistoryPageSerializer,
)
from api.serializers.patients import (
    EmergencyAccessSerializer,
    MergeSerializer,
    Patient360Serializer,
    PatientListSerializer,
    PatientMergeSerializer,
    PatientSerializer,
    PossibleDuplicateSerializer,
    UnmergeSerializer,
)
from api.views.base import WRITE_PARAMETERS, RecordViewSet, refuse_merged
from api.views.interactions import InteractionViewSet
from appointments.selectors import (
    appointment_history_sources,
    appointment_rows,
    patient_appointments,
)
from crm.access import EMERGENCY_ACCESS_ROLES, Section, can
from crm.audit import audit_note
from crm.errors import InvalidInput
from crm.models import AccessRecord
from integrations.selectors import (
    EVENTS_SHOWN,
    department_event_history_sources,
    department_event_list,
)
from interactions.selectors import TIMELINE_SIZE, patient_360, patient_record_history
from messaging.selectors import with_reminders_sent
from patients.filtersets import PatientFilterSet
from patients.merge import patient_merge, patient_unmerge
from patients.models import Patient
from patients.selectors import patient_detail, patient_holding, patient_list
from patients.services import emergency_access_grant, patient_create, patient_update
from referrals.services import patient_reassign_coordinator


@WRITE_PARAMETERS
class PatientViewSet(RecordViewSet):
    """Patients: search, read and write the record; 360 view and change history."""

    resource = "Patient"

    filterset_class = PatientFilterSet
    pagination_class = keyset("family_name", "given_name", "id")
    section = Section.IDENTITY
    audit_patients = True
    # Updates are checked field by field (each field's section); see PatientSerializer.
    section_by_action = {
        "update": (Section.IDENTITY, "read"),
        "partial_update": (Section.IDENTITY, "read"),
        "history": [(Section.HISTORY, "read"), (Section.IDENTITY, "read")],
        "reassign_coordinator": (Section.CARE_TEAM, "write"),
        "break_glass": (Section.IDENTITY, "read"),
        "merge": (Section.IDENTITY, "write"),
        "push": (Section.IDENTITY, "write"),
        "unmerge": (Section.IDENTITY, "write"),
    }
    create_service = patient_create
    update_service = patient_update
    instance_name = "patient"

    @property
    def paginator(self):
        """A search (``q``, ``name``) comes ranked by relevance in numbered pages with the
        total; the plain list in keyset pages by name."""
        if not hasattr(self, "_paginator"):
            params = self.request.query_params
            searching = self.action == "list" and any(
                params.get(name, "").strip() for name in ("q", "name")
            )
            self._paginator = SearchPagination() if searching else self.pagination_class()
        return self._paginator

    def get_queryset(self):
        if self.action == "list":
            return patient_list()
        if self.action in ("retrieve", "view_360"):
            return patient_detail()
        # Writes and actions: the service reloads the row it changes.
        return Patient.objects.all()

    def get_serializer_class(self):
        return PatientListSerializer if self.action == "list" else PatientSerializer

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: PatientSerializer, 409: PossibleDuplicateSerializer},
    )
    def create(self, request, *args, **kwargs):
        """Register a patient. One that looks like a patient already registered is a
        409 listing the records and why, unless ``confirm_new_person`` is sent."""
        return super().create(request, *args, **kwargs)

    @extend_schema(responses=Patient360Serializer)
    @action(detail=True, url_path="360", filter_backends=[], pagination_class=None)
    def view_360(self, request, pk=None):
        now = timezone.now()
        try:
            data = patient_360(patient_id=int(pk), user=request.user, now=now)
        except (Patient.DoesNotExist, ValueError, OverflowError):
            raise Http404 from None
        if can(request.user, Section.APPOINTMENTS):
            data["upcoming_appointments"], data["recent_appointments"] = patient_appointments(
                with_reminders_sent(appointment_rows(user=request.user)),
                patient=data["patient"],
                now=now,
            )
        if can(request.user, Section.DEPARTMENT_EVENTS):
            events = department_event_list(user=request.user).filter(patient=data["patient"])
            data["department_events"] = list(events[:EVENTS_SHOWN])
        context = {
            **self.get_serializer_context(),
            "now": now,
            "service_levels": data.pop("service_levels"),
        }
        data["interactions_next"] = next_link_after(
            InteractionViewSet.pagination_class,
            request,
            f"/api/interactions/?patient={pk}&page_size={TIMELINE_SIZE}",
            data["interactions"],
            data.pop("interactions_following"),
        )
        return Response(Patient360Serializer(data, context=context).data)

    @extend_schema(
        request=ReassignCoordinatorSerializer,
        responses=MovedSerializer,
        parameters=[IF_MATCH_PARAMETER],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="reassign-coordinator",
        filter_backends=[],
    )
    def reassign_coordinator(self, request, pk=None):
        """Give the patient a new coordinator, with their open referrals and the open
        follow-ups the previous coordinator held, in one atomic step."""
        data = ReassignCoordinatorSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        moved = patient_reassign_coordinator(
            patient=self.get_object(),
            actor=request.user,
            expected_version=expected_version(request),
            **data.validated_data,
        )
        return Response(MovedSerializer(moved).data)

    @extend_schema(request=EmergencyAccessSerializer, responses={201: EmergencyAccessSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="break-glass",
        filter_backends=[],
        permission_classes=[HasStaffRole, HasRole.of(*EMERGENCY_ACCESS_ROLES), SectionPermission],
    )
    def break_glass(self, request, pk=None):
        """Emergency access to this patient's restricted items for a limited time, with a
        stated reason; logged with purpose break_glass and flagged for the privacy
        officer."""
        audit_note(request._request).purpose = AccessRecord.Purpose.BREAK_GLASS
        data = EmergencyAccessSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = emergency_access_grant(
            actor=request.user, patient=self.get_object(), reason=data.validated_data["reason"]
        )
        return Response(EmergencyAccessSerializer(grant).data, status=201)

    @extend_schema(
        request=PatientSerializer,
        responses={
            200: PatientSerializer,
            201: PatientSerializer,
            409: PossibleDuplicateSerializer,
        },
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def push(self, request):
        """An integration's patient, by one of its identifiers: the record holding it is
        updated (200; the lists sent replace the stored ones, identifiers excepted);
        otherwise a record is registered (201) under the duplicate rule of ``POST``
        (409 with the candidates, unless ``confirm_new_person``). Sending the same body
        again changes nothing."""
        serializer = PatientSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        identifiers = data.get("identifiers") or []
        if not identifiers:
            raise InvalidInput(
                "A pushed patient is named by an identifier of the sending system.",
                errors={"identifiers": ["Give at least one."]},
            )
        known = patient_holding(identifiers)
        if known is None:
            patient = patient_create(actor=request.user, **data)
            return Response(self.get_serializer(patient).data, status=status.HTTP_201_CREATED)
        refuse_merged(known)
        for name in ("identifiers", "confirm_new_person", "mrn"):
            data.pop(name, None)
        patient = patient_update(patient=known, actor=request.user, **data)
        return Response(self.get_serializer(patient).data)

    @extend_schema(
        request=MergeSerializer,
        responses={201: PatientMergeSerializer, 409: ErrorSerializer},
        parameters=[IF_MATCH_PARAMETER],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def merge(self, request, pk=None):
        """Join another record of this person into this one: every row of the other
        moves here in one step, and the other becomes ``merged`` into this one.
        ``If-Match`` is this record's version."""
        data = MergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        other = data.validated_data["other"]
        audit_note(request._request).patients.add(other.pk)
        merge = patient_merge(
            survivor=self.get_object(),
            merged=other,
            actor=request.user,
            reason=data.validated_data["reason"],
            expected_version=expected_version(request),
        )
        return Response(PatientMergeSerializer(merge).data, status=201)

    @extend_schema(
        request=UnmergeSerializer, responses={200: PatientMergeSerializer, 409: ErrorSerializer}
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def unmerge(self, request, pk=None):
        """Undo this record's merge (within 30 days): what moved goes back."""
        data = UnmergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        merge = patient_unmerge(
            merged=self.get_object(), actor=request.user, **data.validated_data
        )
        audit_note(request._request).patients.add(merge.survivor_id)
        return Response(PatientMergeSerializer(merge).data)

    @extend_schema(responses=HistoryPageSerializer, parameters=HISTORY_PAGE_PARAMETERS)
    @action(detail=True, filter_backends=[], pagination_class=None)
    def history(self, request, pk=None):
        """Every change to the record and its child rows, newest first."""
        patient = self.get_object()
        return paginated_list(
            request,
            self,
            patient_record_history(
                patient,
                user=request.user,
                more=[
                    *appointment_history_sources(patient_id=patient.pk, user=request.user),
                    *department_event_history_sources(patient_id=patient.pk, user=request.user),
                ],
            ),
            HistoryEntrySerializer,
        )
