"""FHIR R4 at ``/fhir/``: the CapabilityStatement, and reading and searching patients
(``integrations.fhir`` gives the resources). JSON as ``application/fhir+json``; every
error an OperationOutcome; the access policy and the access log as everywhere."""

import re

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from rest_framework import exceptions
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from api.audit import AuditedMixin
from crm.access import Section
from crm.audit import audit_note
from integrations.fhir import capability_statement, fhir_patient, operation_outcome
from patients.models import Patient, PatientIdentifier

MAX_COUNT = 200
DEFAULT_COUNT = 50
SEARCH_PARAMETERS = {"_id", "identifier", "family", "given", "birthdate", "_count", "_after"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# FHIR's issue codes for the answers the API gives.
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
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
        return Response(capability_statement(request.build_absolute_uri("/fhir")))


class PatientResourceMixin(AuditedMixin):
    resource = "Patient"
    section = Section.IDENTITY

    def get_queryset(self):
        return Patient.objects.prefetch_related("identifiers", "contact_points", "languages")

    def _note_patient_of_unseen_record(self) -> None:
        """A refused read still names the patient it was about."""
        pk = str(self.kwargs.get("pk", ""))
        if pk.isdigit() and len(pk) < 19 and Patient.objects.filter(pk=int(pk)).exists():
            audit_note(self.request._request).patients.add(int(pk))


class PatientReadView(PatientResourceMixin, FhirView):
    """``GET /fhir/Patient/<id>``."""

    def get(self, request, pk: str):
        if not pk.isdigit() or len(pk) > 18:
            raise exceptions.NotFound("No Patient with this id.")
        patient = self.get_queryset().filter(pk=int(pk)).first()
        if patient is None:
            raise exceptions.NotFound("No Patient with this id.")
        audit_note(request._request).patients.add(patient.pk)
        response = Response(fhir_patient(patient))
        response["ETag"] = f'W/"{patient.version}"'
        return response


class PatientSearchView(PatientResourceMixin, FhirView):
    """``GET /fhir/Patient?...``: a searchset Bundle in id order, ``_count`` a page
    (at most 200), the ``next`` link to page on."""

    def get(self, request):
        params = request.query_params
        unknown = set(params) - SEARCH_PARAMETERS
        if unknown:
            raise exceptions.ValidationError(
                f"Unsupported search parameters: {', '.join(sorted(unknown))}."
            )
        condition = Q()
        for name in params:
            value = params[name]
            if "\x00" in value or len(value) > 300:
                raise exceptions.ValidationError(f"{name}: not a valid value.")
            condition &= self._condition(name, value)
        count = self._number(params.get("_count", str(DEFAULT_COUNT)), "_count", MAX_COUNT)
        after = self._number(params.get("_after", "0"), "_after", 2**62)
        rows = list(
            self.get_queryset().filter(condition, pk__gt=after).order_by("pk")[: count + 1]
        )
        page, more = rows[:count], len(rows) > count
        audit_note(request._request).patients.update(patient.pk for patient in page)
        base = request.build_absolute_uri("/fhir/Patient")
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
                        "fullUrl": f"{base}/{patient.pk}",
                        "resource": fhir_patient(patient),
                        "search": {"mode": "match"},
                    }
                    for patient in page
                ],
            }
        )

    @staticmethod
    def _number(value: str, name: str, most: int) -> int:
        if not value.isascii() or not value.isdigit() or not 0 <= int(value) <= most:
            raise exceptions.ValidationError(f"{name}: a whole number up to {most}.")
        return max(int(value), 1) if name == "_count" else int(value)

    @staticmethod
    def _condition(name: str, value: str) -> Q:
        if name == "_id":
            return Q(pk=int(value)) if value.isdigit() and len(value) < 19 else Q(pk__in=[])
        if name == "family":
            return Q(family_name__istartswith=value)
        if name == "given":
            return Q(given_name__istartswith=value) | Q(preferred_name__istartswith=value)
        if name == "birthdate":
            if not DATE.match(value):
                raise exceptions.ValidationError("birthdate: YYYY-MM-DD (no prefixes).")
            return Q(birth_date=value)
        if name == "identifier":  # [system|]value; the MRN's system is FHIR_MRN_SYSTEM
            system, _, code = value.rpartition("|")
            held = PatientIdentifier.objects.filter(patient=OuterRef("pk"), value=code)
            if system == settings.FHIR_MRN_SYSTEM:
                return Q(mrn=code)
            if system:
                return Q(Exists(held.filter(system=system)))
            return Q(mrn=code) | Q(Exists(held))
        return Q()  # _count, _after: paging, not filters
