"""Records as FHIR R4 resources (``/fhir/``): the patient in the US Core shape,
appointments, the provider directory (Practitioner, Organization), each referral as a
ServiceRequest and the Task that tracks it (BSeR's business status), interactions as
Communication, and contact consents as Consent.

What a resource holds is what the reader's role may read of the record (every staff
role reads a patient's identity, languages and consent; a referral's clinical reason
and report only with the clinical section); the server's own fields (search keys,
versions of child rows, the staff member who logged a contact) stay out.
"""

from collections.abc import Collection

from django.conf import settings
from django.utils import timezone

from crm.choices import Channel, Department, Sensitivity
from interactions.choices import Direction, Topic
from patients.choices import (
    ConsentPurpose,
    ConsentStatus,
    ContactSystem,
    InterpreterNeeded,
    PatientStatus,
)
from patients.contact import patient_zone
from patients.models import Patient
from referrals.choices import (
    BSER_BUSINESS_STATUS,
    FHIR_SERVICE_REQUEST_STATUS,
    FHIR_TASK_STATUS,
)

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
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
BSER_BUSINESS_STATUS_SYSTEM = "http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS"
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"
ORGANIZATION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/organization-type"
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
# The clinic's own code lists, where FHIR has none that says the same thing.
CHANNEL_SYSTEM = "urn:patient-crm:channel"
DEPARTMENT_SYSTEM = "urn:patient-crm:department"
TOPIC_SYSTEM = "urn:patient-crm:interaction-topic"
CONSENT_PURPOSE_SYSTEM = "urn:patient-crm:consent-purpose"
REFERRAL_REPORT_SYSTEM = "urn:patient-crm:referral-report"
# Our channels as v3 ParticipationMode (code, display). R4's list has no text message:
# an SMS is "written", with our own code beside it saying which.
CHANNEL_MODE = {
    Channel.PHONE: ("PHONE", "telephone"),
    Channel.SMS: ("WRITTEN", "written"),
    Channel.EMAIL: ("EMAILWRIT", "email"),
    Channel.CHAT: ("ONLINEWRIT", "online written"),
    Channel.PORTAL: ("ONLINEWRIT", "online written"),
    Channel.VIDEO: ("VIDEO", "videoconferencing"),
    Channel.IN_PERSON: ("FACE", "face-to-face"),
    Channel.SOCIAL: ("ONLINEWRIT", "online written"),
    Channel.LETTER: ("MAILWRIT", "mail"),
    Channel.CHATBOT: ("ONLINEWRIT", "online written"),
}
# Our consent purposes as v3 purposes of use (code, display): reminders are part of
# treatment, surveys of healthcare operations (quality assessment).
CONSENT_PURPOSE_OF_USE = {
    ConsentPurpose.CARE_COORDINATION: ("CAREMGT", "care management"),
    ConsentPurpose.APPOINTMENT_REMINDERS: ("TREAT", "treatment"),
    ConsentPurpose.BILLING: ("HPAYMT", "healthcare payment"),
    ConsentPurpose.SURVEYS: ("HOPERAT", "healthcare operations"),
    ConsentPurpose.MARKETING: ("HMARKT", "healthcare marketing"),
}


def _period(start, end) -> dict:
    """A FHIR Period of what is known (either end may be open)."""
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


def operation_outcome(
    code: str, text: str, *, severity: str = "error", errors: dict[str, list[str]] | None = None
) -> dict:
    """FHIR's error body: every 4xx of ``/fhir/`` is one; each field error an issue of
    its own naming the element (``expression``)."""
    issues = [{"severity": severity, "code": code, "diagnostics": text}]
    for path, messages in (errors or {}).items():
        issues += [
            {"severity": severity, "code": code, "diagnostics": message, "expression": [path]}
            for message in messages
        ]
    return {"resourceType": "OperationOutcome", "issue": issues}


def capability_statement(base: str, resources: list[dict]) -> dict:
    """What this server supports, exactly: the resource types served, each as
    ``{"type", "profile", "versioned", "writes", "searchParam": [(name, kind), ...]}``,
    read and searched, and written as ``writes`` says ("create", or "update" by a
    conditional update)."""
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
                    "system/<type>.read scope (.write to create or update); or a staff "
                    "token.",
                },
                "resource": [
                    {
                        "type": resource["type"],
                        **({"profile": resource["profile"]} if resource.get("profile") else {}),
                        "interaction": [
                            {"code": code}
                            for code in ("read", "search-type", *resource.get("writes", ()))
                        ],
                        "versioning": "versioned"
                        if resource.get("versioned", True)
                        else "no-version",
                        **(
                            {"conditionalUpdate": True, "updateCreate": False}
                            if "update" in resource.get("writes", ())
                            else {}
                        ),
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


def _meta(record) -> dict:
    """The version a record's ETag carries, and when it last changed."""
    return {"versionId": str(record.version), "lastUpdated": record.updated_at.isoformat()}


def _coding(system: str, code: str, display: str = "") -> dict:
    """One Coding (a display only where one is known)."""
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _provider(kind: str, pk: int | None, record) -> dict | None:
    """A reference to a directory entry, named for the reader, or None when unset."""
    if pk is None:
        return None
    return {"reference": f"{kind}/{pk}", "display": str(record)}


def _npi(npi: str) -> list[dict]:
    """The directory's one identifier, the NPI."""
    return [{"system": NPI_SYSTEM, "value": npi}]


def fhir_practitioner(practitioner) -> dict:
    """A practitioner of the directory, identified by NPI. The specialty and the
    organization belong to PractitionerRole, which this server does not serve."""
    resource: dict = {
        "resourceType": "Practitioner",
        "id": str(practitioner.pk),
        "active": practitioner.active,
        "name": [{"family": practitioner.family_name, "given": [practitioner.given_name]}],
    }
    if practitioner.npi:
        resource["identifier"] = _npi(practitioner.npi)
    if practitioner.phone:
        resource["telecom"] = [{"system": "phone", "value": practitioner.phone, "use": "work"}]
    if practitioner.languages:
        resource["communication"] = [
            {"coding": [_coding(BCP47, tag)]} for tag in practitioner.languages
        ]
    return resource


def fhir_organization(organization) -> dict:
    """A provider organization of the directory (a clinic, department or lab)."""
    resource: dict = {
        "resourceType": "Organization",
        "id": str(organization.pk),
        "active": organization.active,
        "type": [{"coding": [_coding(ORGANIZATION_TYPE_SYSTEM, "prov", "Healthcare Provider")]}],
        "name": organization.name,
    }
    if organization.npi:
        resource["identifier"] = _npi(organization.npi)
    telecom = [
        {"system": system, "value": value, "use": "work"}
        for system, value in (
            ("phone", organization.phone),
            ("fax", organization.fax),
            ("email", organization.email),
        )
        if value
    ]
    if telecom:
        resource["telecom"] = telecom
    if organization.address:
        resource["address"] = [{"text": organization.address}]
    return resource


def fhir_service_request(referral, *, hidden: Collection[str]) -> dict:
    """The referral as the request it is (with its providers joined). ``hidden`` are the
    fields the reader's role may not read (``crm.access.hidden_fields``): the clinical
    reason is left out for them, not blanked."""
    resource: dict = {
        "resourceType": "ServiceRequest",
        "id": str(referral.pk),
        "meta": _meta(referral),
        "status": FHIR_SERVICE_REQUEST_STATUS[referral.status],
        "intent": "order",
        "category": [{"coding": [_coding(SNOMED, "3457005", "Patient referral")]}],
        "priority": referral.priority,
        "subject": {"reference": f"Patient/{referral.patient_id}"},
    }
    if referral.specialty:
        resource["performerType"] = {"text": referral.specialty}
    if referral.sent_at:
        resource["authoredOn"] = referral.sent_at.isoformat()
    if referral.appointment_at:
        resource["occurrenceDateTime"] = referral.appointment_at.isoformat()
    requester = _provider(
        "Practitioner", referral.referring_practitioner_id, referral.referring_practitioner
    )
    if requester:
        resource["requester"] = requester
    performers = [
        reference
        for reference in (
            _provider(
                "Practitioner", referral.receiving_practitioner_id, referral.receiving_practitioner
            ),
            _provider(
                "Organization", referral.receiving_organization_id, referral.receiving_organization
            ),
        )
        if reference
    ]
    if performers:
        resource["performer"] = performers
    if "reason" not in hidden and referral.reason:
        resource["reasonCode"] = [{"text": referral.reason}]
    if referral.replaces_id:
        resource["replaces"] = [{"reference": f"ServiceRequest/{referral.replaces_id}"}]
    return resource


# The report's fields as Task outputs: (field, code, text); only the date is not clinical.
REPORT_OUTPUTS = (
    ("report_from", "from", "Report from"),
    ("report_summary", "summary", "Report summary"),
    ("report_recommendations", "recommendations", "Recommendations"),
)


def fhir_task(referral, *, hidden: Collection[str]) -> dict:
    """The Task that tracks the referral's ServiceRequest (BSeR's closed loop): its status
    and business status from the state (docs/domain.md, referrals), the receiver as its
    owner, and the report as its outputs, those in ``hidden`` left out."""
    resource: dict = {
        "resourceType": "Task",
        "id": str(referral.pk),
        "meta": _meta(referral),
        "status": FHIR_TASK_STATUS[referral.status],
        "intent": "order",
        "priority": referral.priority,
        "code": {"coding": [_coding(TASK_CODE_SYSTEM, "fulfill", "Fulfill the focal request")]},
        "focus": {"reference": f"ServiceRequest/{referral.pk}"},
        "for": {"reference": f"Patient/{referral.patient_id}"},
        "authoredOn": referral.created_at.isoformat(),
        "lastModified": referral.updated_at.isoformat(),
    }
    if referral.status in BSER_BUSINESS_STATUS:
        code, display = BSER_BUSINESS_STATUS[referral.status]
        resource["businessStatus"] = {
            "coding": [_coding(BSER_BUSINESS_STATUS_SYSTEM, code, display)]
        }
    requester = _provider(
        "Practitioner", referral.referring_practitioner_id, referral.referring_practitioner
    )
    if requester:
        resource["requester"] = requester
    owner = _provider(
        "Practitioner", referral.receiving_practitioner_id, referral.receiving_practitioner
    ) or _provider(
        "Organization", referral.receiving_organization_id, referral.receiving_organization
    )
    if owner:
        resource["owner"] = owner
    outputs = []
    if referral.report_received_on:
        outputs.append(
            {
                "type": {
                    "coding": [_coding(REFERRAL_REPORT_SYSTEM, "received-on")],
                    "text": "Report received",
                },
                "valueDate": referral.report_received_on.isoformat(),
            }
        )
    for field, code, text in REPORT_OUTPUTS:
        value = getattr(referral, field)
        if value and field not in hidden:
            outputs.append(
                {
                    "type": {"coding": [_coding(REFERRAL_REPORT_SYSTEM, code)], "text": text},
                    "valueString": value,
                }
            )
    if outputs:
        resource["output"] = outputs
    return resource


def fhir_communication(interaction) -> dict:
    """An interaction of the contact timeline. The patient is the sender of an inbound
    contact and the recipient of an outbound one; the clinic's side is named, never the
    staff member. A restricted one carries the v3 confidentiality label R."""
    mode, mode_display = CHANNEL_MODE[interaction.channel]
    channel = Channel(interaction.channel).label
    patient = {"reference": f"Patient/{interaction.patient_id}"}
    clinic = {"display": f"{settings.CLINIC_NAME}, {Department(interaction.department).label}"}
    restricted = interaction.sensitivity == Sensitivity.RESTRICTED
    inbound = interaction.direction == Direction.INBOUND
    resource: dict = {
        "resourceType": "Communication",
        "id": str(interaction.pk),
        "meta": {
            **_meta(interaction),
            "security": [
                _coding(CONFIDENTIALITY, "R", "restricted")
                if restricted
                else _coding(CONFIDENTIALITY, "N", "normal")
            ],
        },
        "status": "completed",
        "category": [
            {
                "coding": [
                    _coding(
                        DEPARTMENT_SYSTEM,
                        interaction.department,
                        Department(interaction.department).label,
                    )
                ]
            }
        ],
        "medium": [
            {
                "coding": [
                    _coding(PARTICIPATION_MODE, mode, mode_display),
                    _coding(CHANNEL_SYSTEM, interaction.channel, channel),
                ],
                "text": channel,
            }
        ],
        "subject": patient,
        "topic": {
            "coding": [_coding(TOPIC_SYSTEM, interaction.topic, Topic(interaction.topic).label)],
            "text": Topic(interaction.topic).label,
        },
        "sent": interaction.occurred_at.isoformat(),
        "sender": patient if inbound else clinic,
        "recipient": [clinic if inbound else patient],
    }
    if interaction.summary:
        resource["payload"] = [{"contentString": interaction.summary}]
    return resource


def fhir_consent(consent) -> dict:
    """The patient's opt-in or opt-out for one channel and purpose, as a privacy
    consent directive: permit or deny (and the v3 OPTIN or OPTOUT policy) for contact on
    that channel for that purpose, over the dates it is in effect. An opt-out is an
    active directive that denies, not a rejected consent; one whose last day has passed
    (in the patient's time zone) is inactive. With the patient joined."""
    today = timezone.now().astimezone(patient_zone(consent.patient)).date()
    ended = consent.effective_to is not None and consent.effective_to < today
    opt_in = consent.status == ConsentStatus.OPT_IN
    mode, mode_display = CHANNEL_MODE[consent.channel]
    channel = Channel(consent.channel).label
    purpose_code, purpose_display = CONSENT_PURPOSE_OF_USE[consent.purpose]
    patient = {"reference": f"Patient/{consent.patient_id}"}
    provision: dict = {
        "type": "permit" if opt_in else "deny",
        "action": [
            {
                "coding": [
                    _coding(PARTICIPATION_MODE, mode, mode_display),
                    _coding(CHANNEL_SYSTEM, consent.channel, channel),
                ],
                "text": f"Contact by {channel}",
            }
        ],
        "purpose": [
            _coding(V3_ACT_REASON, purpose_code, purpose_display),
            _coding(
                CONSENT_PURPOSE_SYSTEM,
                consent.purpose,
                ConsentPurpose(consent.purpose).label,
            ),
        ],
    }
    if period := _period(consent.effective_from, consent.effective_to):
        provision["period"] = period
    return {
        "resourceType": "Consent",
        "id": str(consent.pk),
        "status": "inactive" if ended else "active",
        "scope": {"coding": [_coding(CONSENT_SCOPE, "patient-privacy", "Privacy Consent")]},
        "category": [{"coding": [_coding(LOINC, "59284-0", "Patient Consent")]}],
        "patient": patient,
        "dateTime": consent.captured_at.isoformat(),
        "performer": [patient],
        "organization": [{"display": str(settings.CLINIC_NAME)}],
        "policyRule": {
            "coding": [
                _coding(V3_ACT_CODE, "OPTIN", "opt-in")
                if opt_in
                else _coding(V3_ACT_CODE, "OPTOUT", "opt-out")
            ]
        },
        "provision": provision,
    }
