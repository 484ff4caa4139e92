"""FHIR R4 at ``/fhir/``: the CapabilityStatement, and reading and searching the
resource types in ``TYPES`` (``integrations.fhir`` gives the resources). JSON as
``application/fhir+json``; every error an OperationOutcome; the access policy and the
access log as everywhere."""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from api.audit import AuditedMixin
from appointments.choices import AppointmentStatus
from appointments.models import Appointment
from appointments.selectors import appointment_list
from crm.access import Section
from crm.audit import audit_note
from integrations.fhir import (
    capability_statement,
    fhir_appointment,
    fhir_patient,
    operation_outcome,
)
from patients.models import Patient, PatientIdentifier

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


def _date(name: str, value: str) -> datetime.date:
    if not DATE.match(value):
        raise exceptions.ValidationError(f"{name}: YYYY-MM-DD (no prefixes).")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise exceptions.ValidationError(f"{name}: not a date.") from None


def _id(value: str) -> Q:
    return Q(pk=int(value)) if value.isdigit() and len(value) < 19 else Q(pk__in=[])


def _patient_identifier(value: str) -> Q:
    """``[system|]value``; the MRN's system is ``FHIR_MRN_SYSTEM``."""
    system, _, code = value.rpartition("|")
    held = PatientIdentifier.objects.filter(patient=OuterRef("pk"), value=code)
    if system == settings.FHIR_MRN_SYSTEM:
        return Q(mrn=code)
    if system:
        return Q(Exists(held.filter(system=system)))
    return Q(mrn=code) | Q(Exists(held))


def _appointment_day(value: str) -> Q:
    day = _date("date", value)
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return Q(start__gte=start, start__lt=start + datetime.timedelta(days=1))


def _appointment_status(value: str) -> Q:
    # R4 has no "confirmed": booked covers both.
    if value == AppointmentStatus.BOOKED:
        return Q(status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED])
    if value not in AppointmentStatus.values or value == AppointmentStatus.CONFIRMED:
        raise exceptions.ValidationError(f"status: not an Appointment status here: {value}.")
    return Q(status=value)


def _patient_reference(value: str) -> Q:
    pk = value.removeprefix("Patient/")
    return Q(patient_id=int(pk)) if pk.isdigit() and len(pk) < 19 else Q(pk__in=[])


@dataclass(frozen=True)
class FhirType:
    model: type
    section: str  # the access policy's section that reads it
    rows: Callable  # (user) -> the records the user may read, joined for the resource
    to_fhir: Callable  # record -> resource
    # parameter -> (its FHIR search type, the condition it makes)
    search: dict[str, tuple[str, Callable[[str], Q]]]
    patient_of: Callable  # record -> its patient's id, for the access log
    profile: str = ""


TYPES: dict[str, FhirType] = {
    "Patient": FhirType(
        model=Patient,
        section=Section.IDENTITY,
        rows=lambda user: Patient.objects.prefetch_related(
            "identifiers", "contact_points", "languages"
        ),
        to_fhir=fhir_patient,
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
        to_fhir=fhir_appointment,
        search={
            "_id": ("token", _id),
            "identifier": (
                "token",
                lambda value: Q(
                    source=value.rpartition("|")[0], external_id=value.rpartition("|")[2]
                ),
            ),
            "patient": ("reference", _patient_reference),
            "date": ("date", _appointment_day),
            "status": ("token", _appointment_status),
        },
        patient_of=lambda appointment: appointment.patient_id,
    ),
}


class FhirJSONRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


class FhirView(GenericAPIView):
    """FHIR's own contract (the CapabilityStatement), not the OpenAPI schema's."""

    schema = None
    renderer_classes = [FhirJSONRenderer, JSONRenderer]
    pagination_class = None
    filter_backends = []

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        text = response.data.get("message") if isinstance(response.data, dict) else None
        response.data = operation_outcome(
            ISSUE_CODES.get(response.status_code, "processing"),
            text or str(getattr(exc, "detail", exc)),
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
    def section(self) -> str:
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
        if record is not None:
            audit_note(self.request._request).patients.add(kind.patient_of(record))


class ReadView(ResourceView):
    """``GET /fhir/<type>/<id>``, with its version as the ETag."""

    def get(self, request, resource_type: str, pk: str):
        kind = self.fhir_type
        record = self.get_queryset().filter(_id(pk)).first()
        if record is None:
            self._note_patient_of_unseen_record()
            raise exceptions.NotFound(f"No {resource_type} with this id.")
        audit_note(request._request).patients.add(kind.patient_of(record))
        response = Response(kind.to_fhir(record))
        response["ETag"] = f'W/"{record.version}"'
        return response


class SearchView(ResourceView):
    """``GET /fhir/<type>?...``: a searchset Bundle in id order, ``_count`` a page (at
    most 200), the ``next`` link to page on; an unknown parameter is a 400."""

    def get(self, request, resource_type: str):
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
        audit_note(request._request).patients.update(kind.patient_of(r) for r in page)
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
                        "resource": kind.to_fhir(record),
                        "search": {"mode": "match"},
                    }
                    for record in page
                ],
            }
        )

    @staticmethod
    def _number(value: str, name: str, most: int) -> int:
        if not value.isascii() or not value.isdigit() or not 0 <= int(value) <= most:
            raise exceptions.ValidationError(f"{name}: a whole number up to {most}.")
        return int(value)
