"""FHIR R4 at ``/fhir/``: the CapabilityStatement, and reading and searching the
resource types in ``TYPES`` (``integrations.fhir`` gives the resources): Patient,
Appointment, Practitioner and Organization (the provider directory), ServiceRequest and
Task (one each per referral), Communication (interactions) and Consent (contact
consents); writes where a type's ``writes`` say so (``integrations.fhir_in`` reads the
resources in). JSON as ``application/fhir+json``; every error an OperationOutcome; the
access policy and the access log as everywhere."""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from api.audit import AuditedMixin
from api.mixins import IdempotentCreateMixin, expected_version
from api.parsers import BoundedJSONParser
from api.serializers.appointments import AppointmentPushSerializer
from api.serializers.interactions import InteractionSerializer
from api.views.appointments import push
from api.views.base import refuse_merged
from appointments.choices import AppointmentStatus
from appointments.models import Appointment
from appointments.selectors import appointment_list
from crm.access import Section, hidden_fields, require_row
from crm.audit import audit_note
from crm.choices import Channel, Department
from integrations.fhir import (
    BSER_BUSINESS_STATUS_SYSTEM,
    CHANNEL_MODE,
    CHANNEL_SYSTEM,
    DEPARTMENT_SYSTEM,
    NPI_SYSTEM,
    PARTICIPATION_MODE,
    capability_statement,
    fhir_appointment,
    fhir_communication,
    fhir_consent,
    fhir_organization,
    fhir_patient,
    fhir_practitioner,
    fhir_service_request,
    fhir_task,
    operation_outcome,
)
from integrations.fhir_in import (
    APPOINTMENT_PATHS,
    COMMUNICATION_PATHS,
    appointment_as_push,
    communication_as_interaction,
)
from interactions.models import Interaction
from interactions.selectors import interaction_list
from interactions.services import interaction_create
from patients.models import CommunicationConsent, Patient, PatientIdentifier
from patients.selectors import consent_list
from referrals.choices import (
    BSER_BUSINESS_STATUS,
    FHIR_SERVICE_REQUEST_STATUS,
    FHIR_TASK_STATUS,
)
from referrals.models import Organization, Practitioner, Referral
from referrals.selectors import organization_list, practitioner_list, referral_list

MAX_COUNT = 200
DEFAULT_COUNT = 50
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# FHIR's issue codes for the answers the API gives.
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
}
NOTHING = Q(pk__in=[])


def _date(name: str, value: str) -> datetime.date:
    """A day as FHIR writes one; a prefix (ge, lt...) or a range is a 400, not ignored."""
    if not DATE.match(value):
        raise exceptions.ValidationError(f"{name}: YYYY-MM-DD (no prefixes).")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise exceptions.ValidationError(f"{name}: not a date.") from None


def _id(value: str) -> Q:
    """``_id``: an id that cannot be one of ours matches nothing (no 500 on overflow)."""
    return Q(pk=int(value)) if value.isdigit() and len(value) < 19 else NOTHING


def _token(value: str) -> tuple[str | None, str]:
    """``[system|]code`` as FHIR's token search reads it: without a bar, any system
    (None)."""
    system, bar, code = value.rpartition("|")
    return (system if bar else None), code


def _patient_identifier(value: str) -> Q:
    """``[system|]value``; the MRN's system is ``FHIR_MRN_SYSTEM``."""
    system, _, code = value.rpartition("|")
    held = PatientIdentifier.objects.filter(patient=OuterRef("pk"), value=code)
    if system == settings.FHIR_MRN_SYSTEM:
        return Q(mrn=code)
    if system:
        return Q(Exists(held.filter(system=system)))
    return Q(mrn=code) | Q(Exists(held))


def _on_day(field: str, name: str) -> Callable[[str], Q]:
    """A ``date`` parameter naming one day (no prefixes): the rows whose ``field`` falls
    on it in the clinic's time zone (a day may have 23 or 25 hours)."""

    def condition(value: str) -> Q:
        day = _date(name, value)
        start, end = (
            timezone.make_aware(datetime.datetime.combine(d, datetime.time.min))
            for d in (day, day + datetime.timedelta(days=1))
        )
        return Q(**{f"{field}__gte": start, f"{field}__lt": end})

    return condition


def _appointment_status(value: str) -> Q:
    """R4 has no "confirmed": booked covers both."""
    if value == AppointmentStatus.BOOKED:
        return Q(status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED])
    if value not in AppointmentStatus.values or value == AppointmentStatus.CONFIRMED:
        raise exceptions.ValidationError(f"status: not an Appointment status here: {value}.")
    return Q(status=value)


def _status_said_as(table: dict[str, str], kind: str) -> Callable[[str], Q]:
    """A ``status`` parameter over a table of our states as FHIR says them: the states
    said that way (several of ours may be one of FHIR's); a code the table never gives is
    a 400, as for appointments."""

    def condition(value: str) -> Q:
        states = [state for state, code in table.items() if code == value]
        if not states:
            raise exceptions.ValidationError(f"status: not a {kind} status here: {value}.")
        return Q(status__in=states)

    return condition


def _business_status(value: str) -> Q:
    """``[system|]code`` of BSeR's business status: the referral states given that code;
    another system matches nothing, a code BSeR's table here lacks is a 400."""
    system, code = _token(value)
    if system not in (None, BSER_BUSINESS_STATUS_SYSTEM):
        return NOTHING
    states = [state for state, (said, _) in BSER_BUSINESS_STATUS.items() if said == code]
    if not states:
        raise exceptions.ValidationError(f"business-status: not a business status here: {code}.")
    return Q(status__in=states)


def _patient_reference(value: str) -> Q:
    """``patient``: ``Patient/<id>`` or the bare id."""
    pk = value.removeprefix("Patient/")
    return Q(patient_id=int(pk)) if pk.isdigit() and len(pk) < 19 else NOTHING


def _npi(value: str) -> Q:
    """``[system|]value`` of the directory's one identifier, the NPI."""
    system, code = _token(value)
    return Q(npi=code) if system in (None, NPI_SYSTEM) and code else NOTHING


def _department(value: str) -> Q:
    """A Communication's category is the department of the interaction: ``[system|]code``
    of ours; another system matches nothing, a code not ours is a 400."""
    system, code = _token(value)
    if system not in (None, DEPARTMENT_SYSTEM):
        return NOTHING
    if code not in Department.values:
        raise exceptions.ValidationError(f"category: not a department here: {code}.")
    return Q(department=code)


def _medium(value: str) -> Q:
    """``[system|]code``: a v3 ParticipationMode code (every channel said that way), or
    one of our channels; a code no channel is said as matches nothing."""
    system, code = _token(value)
    channels = set()
    if system in (None, CHANNEL_SYSTEM) and code in Channel.values:
        channels.add(code)
    if system in (None, PARTICIPATION_MODE):
        channels.update(channel for channel, (mode, _) in CHANNEL_MODE.items() if mode == code)
    return Q(channel__in=sorted(channels)) if channels else NOTHING


def _referral_hidden(user) -> set[str]:
    """The referral fields the reader's role may not read (the clinical reason and the
    report, without the clinical section), left out of both referral resources."""
    return hidden_fields(user, Referral.section_fields)


@dataclass(frozen=True)
class FhirType:
    model: type
    # The access policy's section that reads it; None for what every staff role reads
    # (the provider directory).
    section: str | None
    rows: Callable  # (user) -> the records the user may read, joined for the resource
    to_fhir: Callable  # (record, user) -> the resource, as much as the user may read
    # parameter -> (its FHIR search type, the condition it makes)
    search: dict[str, tuple[str, Callable[[str], Q]]]
    patient_of: Callable  # record -> its patient's id for the access log, or None
    profile: str = ""
    versioned: bool = True  # the record has a version (the ETag, meta.versionId)
    # "create" (POST /fhir/<type>) or "update" (PUT /fhir/<type>?identifier=...)
    writes: tuple[str, ...] = ()


TYPES: dict[str, FhirType] = {
    "Patient": FhirType(
        model=Patient,
        section=Section.IDENTITY,
        rows=lambda user: Patient.objects.prefetch_related(
            "identifiers", "contact_points", "languages"
        ),
        to_fhir=lambda patient, user: fhir_patient(patient),
        search={
            "_id": ("token", _id),
            "identifier": ("token", _patient_identifier),
            "family": ("string", lambda value: Q(family_name__istartswith=value)),
            "given": (
                "string",
                lambda value: (
                    Q(given_name__istartswith=value) | Q(preferred_name__istartswith=value)
                ),
            ),
            "birthdate": ("date", lambda value: Q(birth_date=_date("birthdate", value))),
        },
        patient_of=lambda patient: patient.pk,
        profile="http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient",
    ),
    "Appointment": FhirType(
        model=Appointment,
        section=Section.APPOINTMENTS,
        rows=lambda user: appointment_list(user=user),
        to_fhir=lambda appointment, user: fhir_appointment(appointment),
        search={
            "_id": ("token", _id),
            "identifier": (
                "token",
                lambda value: Q(
                    source=value.rpartition("|")[0], external_id=value.rpartition("|")[2]
                ),
            ),
            "patient": ("reference", _patient_reference),
            "date": ("date", _on_day("start", "date")),
            "status": ("token", _appointment_status),
        },
        patient_of=lambda appointment: appointment.patient_id,
        writes=("update",),
    ),
    "Practitioner": FhirType(
        model=Practitioner,
        section=None,
        rows=lambda user: practitioner_list(),
        to_fhir=lambda practitioner, user: fhir_practitioner(practitioner),
        search={
            "_id": ("token", _id),
            "identifier": ("token", _npi),
            "name": (
                "string",
                lambda value: Q(family_name__istartswith=value) | Q(given_name__istartswith=value),
            ),
        },
        patient_of=lambda practitioner: None,
        versioned=False,
    ),
    "Organization": FhirType(
        model=Organization,
        section=None,
        rows=lambda user: organization_list(),
        to_fhir=lambda organization, user: fhir_organization(organization),
        search={
            "_id": ("token", _id),
            "identifier": ("token", _npi),
            "name": ("string", lambda value: Q(name__istartswith=value)),
        },
        patient_of=lambda organization: None,
        versioned=False,
    ),
    "ServiceRequest": FhirType(
        model=Referral,
        section=Section.REFERRALS,
        rows=lambda user: referral_list(user=user),
        to_fhir=lambda referral, user: fhir_service_request(
            referral, hidden=_referral_hidden(user)
        ),
        search={
            "_id": ("token", _id),
            "patient": ("reference", _patient_reference),
            "status": ("token", _status_said_as(FHIR_SERVICE_REQUEST_STATUS, "ServiceRequest")),
        },
        patient_of=lambda referral: referral.patient_id,
    ),
    "Task": FhirType(
        model=Referral,
        section=Section.REFERRALS,
        rows=lambda user: referral_list(user=user),
        to_fhir=lambda referral, user: fhir_task(referral, hidden=_referral_hidden(user)),
        search={
            "_id": ("token", _id),
            "patient": ("reference", _patient_reference),
            "status": ("token", _status_said_as(FHIR_TASK_STATUS, "Task")),
            "business-status": ("token", _business_status),
        },
        patient_of=lambda referral: referral.patient_id,
    ),
    "Communication": FhirType(
        model=Interaction,
        section=Section.INTERACTIONS,
        # The same rows as /api/interactions/: restricted ones only for who may see them.
        rows=lambda user: interaction_list(user=user),
        to_fhir=lambda interaction, user: fhir_communication(interaction),
        search={
            "_id": ("token", _id),
            "patient": ("reference", _patient_reference),
            "sent": ("date", _on_day("occurred_at", "sent")),
            "category": ("token", _department),
            "medium": ("token", _medium),
        },
        patient_of=lambda interaction: interaction.patient_id,
        writes=("create",),
    ),
    "Consent": FhirType(
        model=CommunicationConsent,
        section=Section.PREFERENCES,
        rows=lambda user: consent_list(user=user),
        to_fhir=lambda consent, user: fhir_consent(consent),
        search={
            "_id": ("token", _id),
            "patient": ("reference", _patient_reference),
        },
        patient_of=lambda consent: consent.patient_id,
        versioned=False,
    ),
}


class FhirJSONRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


class FhirJSONParser(BoundedJSONParser):
    media_type = "application/fhir+json"


class FhirView(GenericAPIView):
    """FHIR's own contract (the CapabilityStatement), not the OpenAPI schema's."""

    schema = None
    renderer_classes = [FhirJSONRenderer, JSONRenderer]
    parser_classes = [FhirJSONParser, BoundedJSONParser]
    pagination_class = None
    filter_backends = []
    # A write's input fields by the resource's paths, for the issues of its errors.
    error_paths: dict[str, str] = {}

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        body = response.data if isinstance(response.data, dict) else {}
        errors: dict[str, list[str]] = {}
        for field, messages in (body.get("errors") or {}).items():
            path = self.error_paths.get(field, field)
            listed = messages if isinstance(messages, list) else [messages]
            errors.setdefault(path, []).extend(str(message) for message in listed)
        response.data = operation_outcome(
            ISSUE_CODES.get(response.status_code, "processing"),
            body.get("message") or str(getattr(exc, "detail", exc)),
            errors=errors,
        )
        return response


class MetadataView(FhirView):
    """What this FHIR server supports."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        resources = [
            {
                "type": name,
                "profile": kind.profile,
                "versioned": kind.versioned,
                "writes": kind.writes,
                "searchParam": [(param, search[0]) for param, search in kind.search.items()],
            }
            for name, kind in sorted(TYPES.items())
        ]
        return Response(capability_statement(request.build_absolute_uri("/fhir"), resources))


class ResourceView(AuditedMixin, FhirView):
    """A resource type of ``TYPES``: its scope (``resource``) and section follow the
    URL's type; an unknown type is a 404."""

    @property
    def fhir_type(self) -> FhirType:
        found = TYPES.get(self.kwargs.get("resource_type", ""))
        if found is None:
            raise exceptions.NotFound("This server has no such resource type.")
        return found

    @property
    def resource(self) -> str:
        """The scope a client's token needs (``crm.scopes``): the type's own name (any
        read scope, for a type this server lacks: the answer is a 404)."""
        name = self.kwargs.get("resource_type", "")
        return name if name in TYPES else "*"

    @property
    def section(self) -> str | None:
        """The section ``SectionPermission`` checks; None: any staff role reads it."""
        return self.fhir_type.section

    def get_queryset(self) -> QuerySet:
        return self.fhir_type.rows(self.request.user)

    def _note_patient_of_unseen_record(self) -> None:
        """A refused read still names the patient it was about."""
        pk = str(self.kwargs.get("pk", ""))
        kind = TYPES.get(self.kwargs.get("resource_type", ""))
        if kind is None or not pk.isdigit() or len(pk) > 18:
            return
        record = kind.model._default_manager.filter(pk=int(pk)).first()
        patient = kind.patient_of(record) if record is not None else None
        if patient is not None:
            audit_note(self.request._request).patients.add(patient)


class ReadView(ResourceView):
    """``GET /fhir/<type>/<id>``, with its version as the ETag where it has one."""

    action = "read"

    def get(self, request, resource_type: str, pk: str):
        kind = self.fhir_type
        record = self.get_queryset().filter(_id(pk)).first()
        if record is None:
            self._note_patient_of_unseen_record()
            raise exceptions.NotFound(f"No {resource_type} with this id.")
        patient = kind.patient_of(record)
        if patient is not None:
            audit_note(request._request).patients.add(patient)
        response = Response(kind.to_fhir(record, request.user))
        if kind.versioned:
            response["ETag"] = f'W/"{record.version}"'
        return response


class FhirCreate:
    """Creating a Communication (under ``IdempotentCreateMixin``, which replays a retry)."""

    def create(self, request):
        """A Communication read into the interaction input, written by its service."""
        self.error_paths = COMMUNICATION_PATHS
        serializer = InteractionSerializer(data=communication_as_interaction(request.data))
        serializer.is_valid(raise_exception=True)
        refuse_merged(serializer.validated_data["patient"])
        require_row(request.user, Section.INTERACTIONS, Interaction(**serializer.validated_data))
        with transaction.atomic():
            interaction = interaction_create(actor=request.user, **serializer.validated_data)
        return self._written(interaction, created=True)


class TypeView(IdempotentCreateMixin, FhirCreate, ResourceView):
    """``/fhir/<type>``: its search (GET); for the types whose ``writes`` say so, create
    (POST, a Communication: an inbound contact from a call center; a retry with the same
    ``Idempotency-Key`` is answered as the first time) and conditional update (PUT
    ``?identifier=system|value``, an Appointment: the scheduling system's push, with
    ``If-Match`` to change only the version the client read)."""

    # The access log's action: FHIR's name of the interaction.
    INTERACTIONS = {"GET": "search-type", "POST": "create", "PUT": "update"}

    def initial(self, request, *args, **kwargs):
        self.action = self.INTERACTIONS.get(request.method)
        super().initial(request, *args, **kwargs)

    def get_serializer_class(self):
        """The input a write's resource is read into (its errors name its fields)."""
        return AppointmentPushSerializer if self.request.method == "PUT" else InteractionSerializer

    def get(self, request, resource_type: str):
        """A searchset Bundle in id order, ``_count`` a page (at most 200), the ``next``
        link to page on; an unknown parameter is a 400."""
        kind = self.fhir_type
        params = request.query_params
        unknown = set(params) - set(kind.search) - {"_count", "_after"}
        if unknown:
            raise exceptions.ValidationError(
                f"Unsupported search parameters: {', '.join(sorted(unknown))}."
            )
        condition = Q()
        for name in params:
            value = params[name]
            if "\x00" in value or len(value) > 300:
                raise exceptions.ValidationError(f"{name}: not a valid value.")
            if name in kind.search:
                condition &= kind.search[name][1](value)
        count = max(self._number(params.get("_count", str(DEFAULT_COUNT)), "_count", MAX_COUNT), 1)
        after = self._number(params.get("_after", "0"), "_after", 2**62)
        rows = list(
            self.get_queryset().filter(condition, pk__gt=after).order_by("pk")[: count + 1]
        )
        page, more = rows[:count], len(rows) > count
        patients = (kind.patient_of(record) for record in page)
        audit_note(request._request).patients.update(p for p in patients if p is not None)
        base = request.build_absolute_uri(f"/fhir/{resource_type}")
        links = [{"relation": "self", "url": request.build_absolute_uri()}]
        if more:
            query = params.copy()
            query["_after"] = str(page[-1].pk)
            links.append({"relation": "next", "url": f"{base}?{query.urlencode()}"})
        return Response(
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "link": links,
                "entry": [
                    {
                        "fullUrl": f"{base}/{record.pk}",
                        "resource": kind.to_fhir(record, request.user),
                        "search": {"mode": "match"},
                    }
                    for record in page
                ],
            }
        )

    def post(self, request, resource_type: str):
        self._require_write("create", "POST")
        return self.create(request)

    def put(self, request, resource_type: str):
        """The Appointment by the identifier the query names, read into the push input:
        created when new (201), else what changed applied (200)."""
        self._require_write("update", "PUT")
        if set(request.query_params) != {"identifier"}:
            raise exceptions.ValidationError(
                "A conditional update names its appointment by identifier=system|value only."
            )
        source, _, external_id = request.query_params["identifier"].rpartition("|")
        if not source or not external_id or "\x00" in source + external_id:
            raise exceptions.ValidationError("identifier: system|value, both given.")
        self.error_paths = APPOINTMENT_PATHS
        body = appointment_as_push(request.data, source=source, external_id=external_id)
        serializer = AppointmentPushSerializer(data=body)
        serializer.is_valid(raise_exception=True)
        version = expected_version(request) if "If-Match" in request.headers else None
        with transaction.atomic():
            appointment, created = push(request.user, serializer.validated_data, version)
        return self._written(appointment_list(user=request.user).get(pk=appointment.pk), created)

    def _require_write(self, interaction: str, method: str) -> None:
        if interaction not in self.fhir_type.writes:
            raise exceptions.MethodNotAllowed(method)

    def _written(self, record, created: bool) -> Response:
        """The resource as stored now, with its version and where to read it."""
        kind = self.fhir_type
        audit_note(self.request._request).patients.add(kind.patient_of(record))
        response = Response(
            kind.to_fhir(record, self.request.user), status=201 if created else 200
        )
        response["ETag"] = f'W/"{record.version}"'
        response["Location"] = self.request.build_absolute_uri(
            f"/fhir/{self.kwargs['resource_type']}/{record.pk}"
        )
        return response

    @staticmethod
    def _number(value: str, name: str, most: int) -> int:
        if not value.isascii() or not value.isdigit() or not 0 <= int(value) <= most:
            raise exceptions.ValidationError(f"{name}: a whole number up to {most}.")
        return int(value)
