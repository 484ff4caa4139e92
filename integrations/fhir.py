"""Records as FHIR R4 resources (``/fhir/``): the patient in the US Core shape, and
appointments.

What a resource holds is what the reader's role may read of the record (every staff
role reads a patient's identity, languages and consent); the server's own fields
(search keys, versions of child rows) stay out.
"""

from django.conf import settings

from patients.choices import ContactSystem, InterpreterNeeded, PatientStatus
from patients.models import Patient

INTERPRETER_REQUIRED = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
BCP47 = "urn:ietf:bcp:47"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
# The clinic's own service type codes (appointments.ServiceType.code).
SERVICE_TYPE_SYSTEM = "urn:patient-crm:service-type"
# Our contact systems as FHIR's (SMS is a phone that takes texts).
TELECOM_SYSTEM = {
    ContactSystem.PHONE: "phone",
    ContactSystem.SMS: "sms",
    ContactSystem.EMAIL: "email",
    ContactSystem.FAX: "fax",
    ContactSystem.OTHER: "other",
}


def _period(start, end) -> dict:
    period = {}
    if start:
        period["start"] = start.isoformat()
    if end:
        period["end"] = end.isoformat()
    return period


def fhir_patient(patient: Patient) -> dict:
    """The patient (with identifiers, contact points and languages prefetched)."""
    identifiers = [
        {
            "use": "usual",
            "type": {"coding": [{"system": V2_0203, "code": "MR"}], "text": "MRN"},
            "system": settings.FHIR_MRN_SYSTEM,
            "value": patient.mrn,
        }
    ] + [
        {"system": identifier.system, "value": identifier.value}
        for identifier in patient.identifiers.all()
    ]
    names = [
        {
            "use": "official",
            "family": patient.family_name,
            "given": [n for n in (patient.given_name, patient.middle_name) if n],
        }
    ]
    if patient.preferred_name:
        names.append({"use": "usual", "given": [patient.preferred_name]})
    telecom = []
    for point in patient.contact_points.all():
        entry = {
            "system": TELECOM_SYSTEM[point.system],
            "value": point.value,
            "rank": point.rank,
        }
        if point.use:
            entry["use"] = point.use
        if period := _period(point.period_start, point.period_end):
            entry["period"] = period
        telecom.append(entry)
    resource: dict = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "meta": {"versionId": str(patient.version), "lastUpdated": patient.updated_at.isoformat()},
        "identifier": identifiers,
        "active": patient.status in (PatientStatus.ACTIVE, PatientStatus.DECEASED),
        "name": names,
        "gender": patient.administrative_sex,
        "birthDate": patient.birth_date.isoformat(),
    }
    if telecom:
        resource["telecom"] = telecom
    if patient.status == PatientStatus.DECEASED:
        resource["deceasedBoolean"] = True
    languages = sorted(patient.languages.all(), key=lambda language: language.rank)
    if languages:
        resource["communication"] = [
            {
                "language": {"coding": [{"system": BCP47, "code": language.language}]},
                "preferred": language.preferred,
            }
            for language in languages
        ]
    if patient.interpreter_needed != InterpreterNeeded.UNKNOWN:
        resource["extension"] = [
            {
                "url": INTERPRETER_REQUIRED,
                "valueBoolean": patient.interpreter_needed == InterpreterNeeded.YES,
            }
        ]
    if patient.merged_into_id:
        resource["link"] = [
            {"other": {"reference": f"Patient/{patient.merged_into_id}"}, "type": "replaced-by"}
        ]
    return resource


def operation_outcome(code: str, text: str, *, severity: str = "error") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": text}],
    }


def capability_statement(base: str, resources: list[dict]) -> dict:
    """What this server supports, exactly: the resource types served, each as
    ``{"type", "profile", "searchParam": [(name, kind), ...]}``, read and searched."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-27",
        "publisher": str(settings.CLINIC_NAME),
        "kind": "instance",
        "software": {"name": "patient-crm"},
        "implementation": {"description": "Patient CRM FHIR API", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "description": "OAuth2 client credentials at /oauth/token/ with a "
                    "system/<type>.read scope; or a staff token.",
                },
                "resource": [
                    {
                        "type": resource["type"],
                        **({"profile": resource["profile"]} if resource.get("profile") else {}),
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "versioning": "versioned",
                        "searchParam": [
                            {"name": name, "type": kind}
                            for name, kind in [*resource["searchParam"], ("_count", "number")]
                        ],
                    }
                    for resource in resources
                ],
            }
        ],
    }


def fhir_appointment(appointment) -> dict:
    """The appointment (with its service type, practitioner and organization joined).
    R4 has no "confirmed" status: a confirmed visit is booked with the patient's
    participation accepted (needs-action while unconfirmed)."""
    confirmed = appointment.status == "confirmed"
    patient_status = "accepted" if confirmed or appointment.status != "booked" else "needs-action"
    participants = [
        {
            "actor": {"reference": f"Patient/{appointment.patient_id}"},
            "required": "required",
            "status": patient_status,
        }
    ]
    if appointment.practitioner_id:
        participants.append(
            {
                "actor": {
                    "reference": f"Practitioner/{appointment.practitioner_id}",
                    "display": str(appointment.practitioner),
                },
                "status": "accepted",
            }
        )
    if appointment.organization_id:
        participants.append(
            {
                "actor": {
                    "reference": f"Organization/{appointment.organization_id}",
                    "display": str(appointment.organization),
                },
                "status": "accepted",
            }
        )
    resource: dict = {
        "resourceType": "Appointment",
        "id": str(appointment.pk),
        "meta": {
            "versionId": str(appointment.version),
            "lastUpdated": appointment.updated_at.isoformat(),
        },
        "status": "booked" if confirmed else appointment.status,
        "serviceType": [
            {
                "coding": [{"system": SERVICE_TYPE_SYSTEM, "code": appointment.service_type.code}],
                "text": appointment.service_type.name,
            }
        ],
        "start": appointment.start.isoformat(),
        "end": appointment.end.isoformat(),
        "participant": participants,
    }
    if appointment.external_id:
        resource["identifier"] = [{"system": appointment.source, "value": appointment.external_id}]
    if appointment.booked_at:
        resource["created"] = appointment.booked_at.isoformat()
    if appointment.location:
        resource["description"] = appointment.location
    return resource
