"""Records as FHIR R4 resources (``/fhir/``): the patient in the US Core shape.

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


def capability_statement(base: str) -> dict:
    """What this server supports, exactly: reading and searching patients."""
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
                    "description": "OAuth2 client credentials at /oauth/token/ with "
                    "system/Patient.read scope; or a staff token.",
                },
                "resource": [
                    {
                        "type": "Patient",
                        "profile": "http://hl7.org/fhir/us/core/StructureDefinition/"
                        "us-core-patient",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "versioning": "versioned",
                        "searchParam": [
                            {"name": name, "type": kind}
                            for name, kind in (
                                ("_id", "token"),
                                ("identifier", "token"),
                                ("family", "string"),
                                ("given", "string"),
                                ("birthdate", "date"),
                                ("_count", "number"),
                            )
                        ],
                    }
                ],
            }
        ],
    }
