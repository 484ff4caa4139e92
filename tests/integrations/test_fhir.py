"""FHIR R4 at /fhir/: the CapabilityStatement; Patient, Appointment, Practitioner,
Organization, ServiceRequest, Task, Communication and Consent read and searched, every
resource validated with fhir.resources, each search parameter shown to filter; errors
as OperationOutcome; scopes, the access policy (a referral's clinical fields, restricted
interactions) and the access log as everywhere; and an independent client (fhirpy)
paging a live server."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.communication import Communication as FhirCommunication
from fhir.resources.R4B.consent import Consent as FhirConsent
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.organization import Organization as FhirOrganization
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner
from fhir.resources.R4B.servicerequest import ServiceRequest as FhirServiceRequest
from fhir.resources.R4B.task import Task as FhirTask
from fhirpy import SyncFHIRClient

from appointments.models import ServiceType
from appointments.services import appointment_confirm, appointment_create
from crm.integrations import integration_client_create
from crm.models import AccessRecord
from crm.roles import Role
from patients.models import CommunicationConsent, PatientIdentifier
from tests.api.test_integration_clients import token_for
from tests.factories import (
    ContactPointFactory,
    InteractionFactory,
    LanguageFactory,
    OrganizationFactory,
    PatientFactory,
    PractitionerFactory,
    ReferralFactory,
)

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
VISIT = dt.datetime(2031, 3, 3, 15, tzinfo=dt.UTC)
SENT = dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)
NPI = "http://hl7.org/fhir/sid/us-npi"
BSER = "http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS"
MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
EVERY_READ = [
    f"system/{name}.read"
    for name in (
        "Patient",
        "Practitioner",
        "Organization",
        "ServiceRequest",
        "Task",
        "Communication",
        "Consent",
    )
]


def bearer(scopes, role=Role.FRONT_DESK, name="EHR"):
    application, secret = integration_client_create(name=name, role=role, scopes=scopes)
    return token_for(application, secret).json()["access_token"]


def fhir_client(token):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT=FHIR_JSON)


def test_metadata_lists_exactly_what_is_supported(client):
    response = client.get("/fhir/metadata", HTTP_ACCEPT=FHIR_JSON)
    assert response.status_code == 200 and response["Content-Type"] == FHIR_JSON
    statement = CapabilityStatement.model_validate(response.json())
    [rest] = statement.rest
    assert [
        (r.type, sorted(i.code for i in r.interaction), r.versioning) for r in rest.resource
    ] == [
        ("Appointment", ["read", "search-type", "update"], "versioned"),
        ("Communication", ["create", "read", "search-type"], "versioned"),
        ("Consent", ["read", "search-type"], "no-version"),
        ("Organization", ["read", "search-type"], "no-version"),
        ("Patient", ["read", "search-type"], "versioned"),
        ("Practitioner", ["read", "search-type"], "no-version"),
        ("ServiceRequest", ["read", "search-type"], "versioned"),
        ("Task", ["read", "search-type"], "versioned"),
    ]
    assert {r.type: sorted(p.name for p in r.searchParam) for r in rest.resource} == {
        "Appointment": ["_count", "_id", "date", "identifier", "patient", "status"],
        "Communication": ["_count", "_id", "category", "medium", "patient", "sent"],
        "Consent": ["_count", "_id", "patient"],
        "Organization": ["_count", "_id", "identifier", "name"],
        "Patient": ["_count", "_id", "birthdate", "family", "given", "identifier"],
        "Practitioner": ["_count", "_id", "identifier", "name"],
        "ServiceRequest": ["_count", "_id", "patient", "status"],
        "Task": ["_count", "_id", "business-status", "patient", "status"],
    }
    # Each listed search parameter is one the server takes (an unknown one is a 400).
    client = fhir_client(bearer(["system/*.read"], role=Role.COORDINATOR))
    values = {"date": "2026-01-01", "birthdate": "2026-01-01", "sent": "2026-01-01",
              "family": "x", "given": "x", "name": "x", "category": "billing",
              "medium": "PHONE", "business-status": "2.0"}  # fmt: skip
    statuses = {"Appointment": "booked", "ServiceRequest": "active", "Task": "requested"}
    for resource in rest.resource:
        for parameter in resource.searchParam:
            value = "1" if parameter.name in ("_id", "_count", "patient") else "x|y"
            value = values.get(parameter.name, value)
            if parameter.name == "status":
                value = statuses[resource.type]
            answer = client.get(f"/fhir/{resource.type}", {parameter.name: value})
            assert answer.status_code == 200, (resource.type, parameter.name, answer.json())


def test_a_patient_reads_in_the_us_core_shape(settings):
    patient = PatientFactory(
        given_name="Lucía", middle_name="Ana", preferred_name="Lucy", interpreter_needed="yes"
    )
    ContactPointFactory(patient=patient, system="sms", value="+16175550142", use="mobile")
    LanguageFactory(patient=patient, language="es", preferred=True)
    PatientIdentifier.objects.create(patient=patient, system="urn:payer", value="P-77")
    response = fhir_client(bearer(["system/Patient.read"])).get(f"/fhir/Patient/{patient.pk}")
    assert response.status_code == 200 and response["ETag"] == f'W/"{patient.version}"'
    resource = FhirPatient.model_validate(response.json())
    assert resource.id == str(patient.pk)
    assert {(i.system, i.value) for i in resource.identifier} == {
        (settings.FHIR_MRN_SYSTEM, patient.mrn),
        ("urn:payer", "P-77"),
    }
    assert [(n.use, n.given) for n in resource.name] == [
        ("official", ["Lucía", "Ana"]),
        ("usual", ["Lucy"]),
    ]
    assert [(t.system, t.value, t.use) for t in resource.telecom] == [
        ("sms", "+16175550142", "mobile")
    ]
    [language] = resource.communication
    assert (language.language.coding[0].code, language.preferred) == ("es", True)
    assert resource.extension[0].valueBoolean is True
    logged = AccessRecord.objects.get(endpoint=f"/fhir/Patient/{patient.pk}")
    assert (logged.patients, logged.auth_method) == ([patient.pk], "oauth2")


def test_a_merged_patient_points_to_its_survivor():
    survivor = PatientFactory()
    merged = PatientFactory(status="merged", merged_into=survivor)
    body = fhir_client(bearer(["system/Patient.read"])).get(f"/fhir/Patient/{merged.pk}").json()
    link = FhirPatient.model_validate(body).link[0]
    assert (link.type, link.other.reference) == ("replaced-by", f"Patient/{survivor.pk}")


def test_search_filters_pages_and_validates(settings):
    twins = PatientFactory.create_batch(5, family_name="Okafor", birth_date="1990-04-01")
    PatientFactory(family_name="Other")
    client = fhir_client(bearer(["system/Patient.read"]))
    seen, url = [], "/fhir/Patient?family=oka&birthdate=1990-04-01&_count=2"
    while url:
        bundle = Bundle.model_validate(client.get(url).json())
        seen += [entry.resource.id for entry in bundle.entry or []]
        nxt = [link.url for link in bundle.link if link.relation == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
    assert seen == [str(p.pk) for p in twins]
    by_mrn = client.get(
        "/fhir/Patient", {"identifier": f"{settings.FHIR_MRN_SYSTEM}|{twins[2].mrn}"}
    ).json()
    assert [e["resource"]["id"] for e in by_mrn["entry"]] == [str(twins[2].pk)]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/fhir/Patient?name=x", 400),
        ("/fhir/Patient?_count=1000", 400),
        ("/fhir/Patient?birthdate=ge2000-01-01", 400),
        ("/fhir/Patient?family=a%00b", 400),
        ("/fhir/Patient/424242", 404),
        ("/fhir/Patient/abc", 404),
    ],
)
def test_errors_are_operation_outcomes(path, status):
    response = fhir_client(bearer(["system/Patient.read"])).get(path)
    assert response.status_code == status
    OperationOutcome.model_validate(response.json())


def test_scopes_and_roles_apply():
    patient = PatientFactory()
    refused = fhir_client(bearer(["system/Appointment.read"])).get(f"/fhir/Patient/{patient.pk}")
    assert refused.status_code == 403
    assert OperationOutcome.model_validate(refused.json()).issue[0].code == "forbidden"
    assert Client().get("/fhir/Patient").status_code == 401
    # Each type is its own scope: a ServiceRequest token reads neither Task nor Consent.
    referrals = fhir_client(bearer(["system/ServiceRequest.read"], name="Referrals"))
    assert referrals.get("/fhir/ServiceRequest").status_code == 200
    assert referrals.get("/fhir/Task").status_code == 403
    assert referrals.get("/fhir/Consent").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_fhirpy_reads_and_pages_through_a_live_server(live_server):
    made = PatientFactory.create_batch(5, family_name="Fhirpy")
    client = SyncFHIRClient(
        f"{live_server.url}/fhir", authorization=f"Bearer {bearer(['system/Patient.read'])}"
    )
    found = client.resources("Patient").search(family="Fhirpy").limit(2).fetch_all()
    assert [resource.id for resource in found] == [str(p.pk) for p in made]
    read = client.reference("Patient", str(made[0].pk)).to_resource()
    assert read.name[0]["family"] == "Fhirpy"


def test_appointments_read_and_search_as_fhir(service_types, coordinator):
    patient = PatientFactory()
    confirmed = appointment_create(
        actor=coordinator,
        patient=patient,
        service_type=ServiceType.objects.get(code="follow-up"),
        start=VISIT,
        location="Main clinic",
        source="ehr",
        external_id="A-1",
    )
    appointment_confirm(appointment=confirmed, actor=coordinator)
    other = appointment_create(
        actor=coordinator,
        patient=PatientFactory(),
        service_type=ServiceType.objects.get(code="follow-up"),
        start=VISIT + dt.timedelta(days=1),
    )
    client = fhir_client(bearer(["system/Appointment.read"], role=Role.FRONT_DESK))
    read = client.get(f"/fhir/Appointment/{confirmed.pk}")
    resource = FhirAppointment.model_validate(read.json())
    assert (resource.status, resource.identifier[0].value) == ("booked", "A-1")
    [me] = [p for p in resource.participant if p.actor.reference == f"Patient/{patient.pk}"]
    assert me.status == "accepted"  # confirmed by the patient
    assert resource.serviceType[0].coding[0].code == "follow-up"
    for query, expected in (
        ({"patient": f"Patient/{patient.pk}"}, [confirmed]),
        ({"date": "2031-03-04"}, [other]),
        ({"status": "booked"}, [confirmed, other]),
        ({"identifier": "ehr|A-1"}, [confirmed]),
    ):
        bundle = Bundle.model_validate(client.get("/fhir/Appointment", query).json())
        assert [e.resource.id for e in bundle.entry or []] == [str(a.pk) for a in expected]
    # Pharmacy reads no appointments: neither does its client.
    pharmacy = fhir_client(bearer(["system/Appointment.read"], role=Role.PHARMACY, name="Rx"))
    assert pharmacy.get(f"/fhir/Appointment/{confirmed.pk}").status_code == 403
    assert client.get("/fhir/Observation").status_code == 404


MODELS = {
    "Practitioner": FhirPractitioner,
    "Organization": FhirOrganization,
    "ServiceRequest": FhirServiceRequest,
    "Task": FhirTask,
    "Communication": FhirCommunication,
    "Consent": FhirConsent,
}


def search(client, resource_type, query=None) -> list[str]:
    """The ids a search finds, in order; the Bundle and each resource in it validated
    as R4B."""
    response = client.get(f"/fhir/{resource_type}", query or {})
    assert response.status_code == 200, response.json()
    body = response.json()
    Bundle.model_validate(body)
    for entry in body.get("entry", []):
        MODELS[resource_type].model_validate(entry["resource"])
    return [entry["resource"]["id"] for entry in body.get("entry", [])]


def ids(*records) -> list[str]:
    return [str(record.pk) for record in records]


def test_the_provider_directory_reads_and_searches_for_any_staff_role():
    harbor = OrganizationFactory(
        name="Harbor Cardiology",
        phone="+16175550100",
        fax="+16175550101",
        email="referrals@harbor.example",
        address="1 Harbor Way, Boston MA",
    )
    lab = OrganizationFactory(name="Lakeside Labs", npi=None)
    emi = PractitionerFactory(
        family_name="Nakamura",
        given_name="Emi",
        organization=harbor,
        languages=["ja", "en"],
        phone="+16175550102",
    )
    kofi = PractitionerFactory(family_name="Osei", given_name="Kofi", organization=lab)
    client = fhir_client(
        bearer(["system/Practitioner.read", "system/Organization.read"], role=Role.PHARMACY)
    )

    read = client.get(f"/fhir/Practitioner/{emi.pk}")
    assert read.status_code == 200 and not read.has_header("ETag")  # the directory has none
    practitioner = FhirPractitioner.model_validate(read.json())
    assert [(i.system, i.value) for i in practitioner.identifier] == [(NPI, emi.npi)]
    assert [(n.family, n.given) for n in practitioner.name] == [("Nakamura", ["Emi"])]
    assert [c.coding[0].code for c in practitioner.communication] == ["ja", "en"]
    assert [(t.system, t.value) for t in practitioner.telecom] == [("phone", "+16175550102")]
    organization = FhirOrganization.model_validate(
        client.get(f"/fhir/Organization/{harbor.pk}").json()
    )
    assert (organization.name, organization.identifier[0].value) == (
        "Harbor Cardiology",
        harbor.npi,
    )
    assert [t.system for t in organization.telecom] == ["phone", "fax", "email"]
    assert organization.address[0].text == "1 Harbor Way, Boston MA"
    no_npi = FhirOrganization.model_validate(client.get(f"/fhir/Organization/{lab.pk}").json())
    assert no_npi.identifier is None

    for query, expected in (
        ({"name": "naka"}, [emi]),
        ({"name": "KOF"}, [kofi]),
        ({"identifier": f"{NPI}|{kofi.npi}"}, [kofi]),
        ({"identifier": emi.npi}, [emi]),
        ({"identifier": f"urn:other|{emi.npi}"}, []),
        ({"_id": str(kofi.pk)}, [kofi]),
        ({"name": "naka", "_id": str(kofi.pk)}, []),
    ):
        assert search(client, "Practitioner", query) == ids(*expected), query
    for query, expected in (
        ({"name": "harbor"}, [harbor]),
        ({"name": "lake"}, [lab]),
        ({"identifier": f"{NPI}|{harbor.npi}"}, [harbor]),
        ({"_id": str(lab.pk)}, [lab]),
    ):
        assert search(client, "Organization", query) == ids(*expected), query
    # Logged like every read, naming no patient.
    logged = AccessRecord.objects.get(endpoint=f"/fhir/Practitioner/{emi.pk}")
    assert (logged.patients, logged.status_code) == ([], 200)


# docs/domain.md, "Referrals and the closed loop", as it is written there: state, FHIR
# ServiceRequest status, FHIR Task status, BSeR business status.
DOMAIN_TABLE = [
    ("draft", "draft", "draft", None),
    ("sent", "active", "requested", "2.0"),
    ("accepted", "active", "accepted", "3.0"),
    ("declined", "revoked", "rejected", "4.0"),
    ("scheduled", "active", "in-progress", "5.1.1"),
    ("no_show", "active", "in-progress", "5.1.2"),
    ("seen", "active", "in-progress", "5.1.4"),
    ("closed", "completed", "completed", "7.0"),
    ("cancelled", "revoked", "cancelled", "6.0"),
]


def referral_in(state: str, **fields):
    """A referral in ``state`` with the facts the state needs."""
    if state != "draft":
        fields = {"sent_at": SENT, "appointment_at": VISIT, **fields}
    if state == "closed":
        fields = {"report_received_on": dt.date(2031, 3, 10), **fields}
    return ReferralFactory(status=state, **fields)


@pytest.mark.parametrize(("state", "request_status", "task_status", "business"), DOMAIN_TABLE)
def test_each_referral_state_is_said_as_the_domain_table_says(
    state, request_status, task_status, business
):
    referral = referral_in(state)
    client = fhir_client(
        bearer(["system/ServiceRequest.read", "system/Task.read"], role=Role.COORDINATOR)
    )
    request = FhirServiceRequest.model_validate(
        client.get(f"/fhir/ServiceRequest/{referral.pk}").json()
    )
    task = FhirTask.model_validate(client.get(f"/fhir/Task/{referral.pk}").json())
    assert (request.status, task.status) == (request_status, task_status)
    said = task.businessStatus and [(c.system, c.code) for c in task.businessStatus.coding]
    assert said == ([(BSER, business)] if business else None)
    assert search(client, "ServiceRequest", {"status": request_status}) == ids(referral)
    assert search(client, "Task", {"status": task_status}) == ids(referral)
    if business:
        assert search(client, "Task", {"business-status": f"{BSER}|{business}"}) == ids(referral)


def test_referrals_read_as_a_service_request_and_the_task_that_tracks_it():
    patient = PatientFactory()
    closed = referral_in(
        "closed",
        patient=patient,
        priority="urgent",
        report_from="Dr. Quill's practice",
        report_summary="Stress test normal.",
        report_recommendations="Review in a year.",
    )
    declined = referral_in("declined", patient=patient)
    redirected = referral_in("sent", patient=patient, replaces=declined)
    elsewhere = referral_in("draft")
    client = fhir_client(
        bearer(["system/ServiceRequest.read", "system/Task.read"], role=Role.COORDINATOR)
    )

    read = client.get(f"/fhir/ServiceRequest/{closed.pk}")
    assert read.status_code == 200 and read["ETag"] == f'W/"{closed.version}"'
    request = FhirServiceRequest.model_validate(read.json())
    assert (request.status, request.intent, request.priority) == ("completed", "order", "urgent")
    assert request.category[0].coding[0].code == "3457005"  # SNOMED: patient referral
    assert request.subject.reference == f"Patient/{patient.pk}"
    assert request.reasonCode[0].text == "Chest pain on exertion."
    assert request.requester.reference == f"Practitioner/{closed.referring_practitioner_id}"
    assert [p.reference for p in request.performer] == [
        f"Practitioner/{closed.receiving_practitioner_id}",
        f"Organization/{closed.receiving_organization_id}",
    ]
    assert (request.performerType.text, request.authoredOn.isoformat()) == (
        "Cardiology",
        SENT.isoformat(),
    )
    replacing = FhirServiceRequest.model_validate(
        client.get(f"/fhir/ServiceRequest/{redirected.pk}").json()
    )
    assert replacing.replaces[0].reference == f"ServiceRequest/{declined.pk}"

    task = FhirTask.model_validate(client.get(f"/fhir/Task/{closed.pk}").json())
    assert (task.status, task.intent, task.code.coding[0].code) == (
        "completed",
        "order",
        "fulfill",
    )
    assert task.focus.reference == f"ServiceRequest/{closed.pk}"
    assert task.for_fhir.reference == f"Patient/{patient.pk}"
    assert task.owner.reference == f"Practitioner/{closed.receiving_practitioner_id}"
    assert {o.type.text: o.valueString or o.valueDate.isoformat() for o in task.output} == {
        "Report received": "2031-03-10",
        "Report from": "Dr. Quill's practice",
        "Report summary": "Stress test normal.",
        "Recommendations": "Review in a year.",
    }

    for query, expected in (
        ({"patient": f"Patient/{patient.pk}"}, [closed, declined, redirected]),
        ({"patient": str(elsewhere.patient_id)}, [elsewhere]),
        ({"patient": patient.pk, "status": "active"}, [redirected]),
        ({"status": "revoked"}, [declined]),
        ({"_id": str(closed.pk)}, [closed]),
    ):
        assert search(client, "ServiceRequest", query) == ids(*expected), query
    for query, expected in (
        ({"patient": f"Patient/{patient.pk}"}, [closed, declined, redirected]),
        ({"status": "rejected"}, [declined]),
        ({"business-status": f"{BSER}|7.0"}, [closed]),
        ({"business-status": "2.0"}, [redirected]),
        ({"business-status": "urn:other|2.0"}, []),
        ({"_id": str(elsewhere.pk)}, [elsewhere]),
    ):
        assert search(client, "Task", query) == ids(*expected), query
    for path in ("/fhir/ServiceRequest?status=booked", "/fhir/Task?business-status=9.9"):
        refused = client.get(path)
        assert refused.status_code == 400
        assert OperationOutcome.model_validate(refused.json()).issue[0].code == "invalid"
    logged = AccessRecord.objects.get(endpoint=f"/fhir/Task/{closed.pk}")
    assert logged.patients == [patient.pk]


def test_front_desk_reads_referrals_without_the_clinical_fields_and_billing_none():
    referral = referral_in(
        "closed",
        report_from="Dr. Quill's practice",
        report_summary="Stress test normal.",
        report_recommendations="Review in a year.",
    )
    clinical = (referral.reason, "Dr. Quill", "Stress test normal.", "Review in a year.")
    front_desk = fhir_client(
        bearer(["system/ServiceRequest.read", "system/Task.read"], role=Role.FRONT_DESK)
    )
    for path in (
        f"/fhir/ServiceRequest/{referral.pk}",
        f"/fhir/Task/{referral.pk}",
        f"/fhir/ServiceRequest?patient={referral.patient_id}",
        f"/fhir/Task?patient={referral.patient_id}",
    ):
        response = front_desk.get(path)
        assert response.status_code == 200, path
        assert not [text for text in clinical if text in response.content.decode()], path
    request = FhirServiceRequest.model_validate(
        front_desk.get(f"/fhir/ServiceRequest/{referral.pk}").json()
    )
    assert (request.status, request.reasonCode) == ("completed", None)
    task = FhirTask.model_validate(front_desk.get(f"/fhir/Task/{referral.pk}").json())
    assert [o.type.text for o in task.output] == ["Report received"]  # a date, not clinical

    billing = fhir_client(
        bearer(["system/ServiceRequest.read", "system/Task.read"], role=Role.BILLING, name="Bill")
    )
    for path in (
        f"/fhir/ServiceRequest/{referral.pk}",
        f"/fhir/ServiceRequest?patient={referral.patient_id}",
        f"/fhir/Task/{referral.pk}",
    ):
        refused = billing.get(path)
        assert refused.status_code == 403, path
        assert OperationOutcome.model_validate(refused.json()).issue[0].code == "forbidden"
    logged = AccessRecord.objects.get(
        endpoint=f"/fhir/ServiceRequest/{referral.pk}", status_code=403
    )
    assert logged.patients == [referral.patient_id]


def test_interactions_read_and_search_as_communications(settings):
    patient = PatientFactory()
    call = InteractionFactory(
        patient=patient,
        channel="phone",
        direction="inbound",
        department="contact_center",
        topic="scheduling",
        occurred_at=dt.datetime(2026, 5, 4, 12, tzinfo=dt.UTC),
        summary="Asked to move the visit.",
    )
    text = InteractionFactory(
        patient=patient,
        channel="sms",
        direction="outbound",
        department="billing",
        topic="billing",
        occurred_at=dt.datetime(2026, 5, 5, 12, tzinfo=dt.UTC),
        summary="Sent the balance due.",
    )
    email = InteractionFactory(
        channel="email",
        direction="outbound",
        department="billing",
        occurred_at=dt.datetime(2026, 5, 5, 13, tzinfo=dt.UTC),
        summary="",
    )
    client = fhir_client(bearer(["system/Communication.read"], role=Role.FRONT_DESK))

    read = client.get(f"/fhir/Communication/{call.pk}")
    assert read.status_code == 200 and read["ETag"] == f'W/"{call.version}"'
    inbound = FhirCommunication.model_validate(read.json())
    assert inbound.status == "completed"
    assert [(c.system, c.code) for c in inbound.medium[0].coding] == [
        (MODE, "PHONE"),
        ("urn:patient-crm:channel", "phone"),
    ]
    assert inbound.subject.reference == inbound.sender.reference == f"Patient/{patient.pk}"
    assert inbound.recipient[0].display.startswith(settings.CLINIC_NAME)
    assert inbound.sent.isoformat() == call.occurred_at.isoformat()
    assert inbound.payload[0].contentString == "Asked to move the visit."
    assert inbound.category[0].coding[0].code == "contact_center"
    assert inbound.topic.coding[0].code == "scheduling"
    assert inbound.meta.security[0].code == "N"
    outbound = FhirCommunication.model_validate(
        client.get(f"/fhir/Communication/{text.pk}").json()
    )
    assert outbound.recipient[0].reference == f"Patient/{patient.pk}"
    assert outbound.sender.reference is None and "Billing" in outbound.sender.display
    assert outbound.medium[0].coding[0].code == "WRITTEN"  # R4's ParticipationMode has no SMS
    no_summary = FhirCommunication.model_validate(
        client.get(f"/fhir/Communication/{email.pk}").json()
    )
    assert (no_summary.payload, no_summary.medium[0].coding[0].code) == (None, "EMAILWRIT")

    for query, expected in (
        ({"patient": f"Patient/{patient.pk}"}, [call, text]),
        ({"sent": "2026-05-05"}, [text, email]),
        ({"sent": "2026-05-05", "patient": patient.pk}, [text]),
        ({"sent": "2026-05-06"}, []),
        ({"category": "billing"}, [text, email]),
        ({"category": "urn:patient-crm:department|contact_center"}, [call]),
        ({"category": "urn:other|billing"}, []),
        ({"medium": "PHONE"}, [call]),
        ({"medium": f"{MODE}|EMAILWRIT"}, [email]),
        ({"medium": "urn:patient-crm:channel|sms"}, [text]),
        ({"medium": "ONLINEWRIT"}, []),
        ({"_id": str(text.pk)}, [text]),
    ):
        assert search(client, "Communication", query) == ids(*expected), query
    for path in (
        "/fhir/Communication?category=gardening",
        "/fhir/Communication?sent=ge2026-05-05",
        "/fhir/Communication?sent=2026-13-01",
    ):
        assert client.get(path).status_code == 400, path
    logged = AccessRecord.objects.filter(endpoint="/fhir/Communication").order_by("id").first()
    assert logged.patients == [patient.pk]  # the first search: this patient's contacts


def test_a_restricted_interaction_reaches_only_who_may_see_it():
    patient = PatientFactory()
    normal = InteractionFactory(patient=patient)
    restricted = InteractionFactory(
        patient=patient,
        department="clinical",
        sensitivity="restricted",
        summary="Discussed a sensitive result.",
    )
    billing = fhir_client(bearer(["system/Communication.read"], role=Role.BILLING, name="Bill"))
    assert search(billing, "Communication", {"patient": patient.pk}) == ids(normal)
    assert search(billing, "Communication", {"_id": str(restricted.pk)}) == []
    unseen = billing.get(f"/fhir/Communication/{restricted.pk}")
    assert unseen.status_code == 404
    assert "sensitive" not in unseen.content.decode()
    # The refused read still names the patient it was about.
    logged = AccessRecord.objects.get(endpoint=f"/fhir/Communication/{restricted.pk}")
    assert (logged.patients, logged.status_code) == ([patient.pk], 404)

    clinician = fhir_client(
        bearer(["system/Communication.read"], role=Role.CLINICIAN, name="Clinical")
    )
    assert search(clinician, "Communication", {"patient": patient.pk}) == ids(normal, restricted)
    seen = FhirCommunication.model_validate(
        clinician.get(f"/fhir/Communication/{restricted.pk}").json()
    )
    assert (seen.meta.security[0].code, seen.payload[0].contentString) == (
        "R",
        "Discussed a sensitive result.",
    )


def test_contact_consents_read_and_search_as_consents():
    patient = PatientFactory(time_zone="America/New_York")
    reminders = CommunicationConsent.objects.create(
        patient=patient,
        channel="sms",
        purpose="appointment_reminders",
        status="opt_in",
        source="portal",
        captured_at=SENT,
        effective_from=dt.date(2026, 5, 4),
    )
    marketing = CommunicationConsent.objects.create(
        patient=patient,
        channel="email",
        purpose="marketing",
        status="opt_out",
        source="phone",
        captured_at=dt.datetime(2018, 12, 1, tzinfo=dt.UTC),
        effective_from=dt.date(2019, 1, 1),
        effective_to=dt.date(2020, 1, 1),
    )
    billing_calls = CommunicationConsent.objects.create(
        patient=patient, channel="phone", purpose="billing", status="opt_out", source="phone"
    )
    elsewhere = CommunicationConsent.objects.create(
        patient=PatientFactory(),
        channel="sms",
        purpose="surveys",
        status="opt_in",
        source="portal",
    )
    client = fhir_client(bearer(["system/Consent.read"], role=Role.PHARMACY))

    read = client.get(f"/fhir/Consent/{reminders.pk}")
    assert read.status_code == 200 and not read.has_header("ETag")
    consent = FhirConsent.model_validate(read.json())
    assert consent.status == "active"
    assert [(c.system, c.code) for c in consent.scope.coding] == [
        ("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy")
    ]
    assert [(c.system, c.code) for c in consent.category[0].coding] == [
        ("http://loinc.org", "59284-0")
    ]
    assert consent.patient.reference == f"Patient/{patient.pk}"
    assert consent.dateTime.isoformat() == SENT.isoformat()
    assert consent.policyRule.coding[0].code == "OPTIN"
    provision = consent.provision
    assert provision.type == "permit" and provision.period.start.isoformat() == "2026-05-04"
    assert {(c.system, c.code) for c in provision.purpose} == {
        ("http://terminology.hl7.org/CodeSystem/v3-ActReason", "TREAT"),
        ("urn:patient-crm:consent-purpose", "appointment_reminders"),
    }
    assert {c.code for c in provision.action[0].coding} == {"WRITTEN", "sms"}
    ended = FhirConsent.model_validate(client.get(f"/fhir/Consent/{marketing.pk}").json())
    assert (ended.status, ended.provision.type, ended.policyRule.coding[0].code) == (
        "inactive",
        "deny",
        "OPTOUT",
    )
    # An opt-out in effect is an active directive that denies, not a rejected consent.
    standing = FhirConsent.model_validate(client.get(f"/fhir/Consent/{billing_calls.pk}").json())
    assert (standing.status, standing.provision.type) == ("active", "deny")

    for query, expected in (
        ({"patient": f"Patient/{patient.pk}"}, [reminders, marketing, billing_calls]),
        ({"patient": str(elsewhere.patient_id)}, [elsewhere]),
        ({"_id": str(marketing.pk)}, [marketing]),
        ({"_id": str(marketing.pk), "patient": elsewhere.patient_id}, []),
    ):
        assert search(client, "Consent", query) == ids(*expected), query
    logged = AccessRecord.objects.get(endpoint=f"/fhir/Consent/{reminders.pk}")
    assert logged.patients == [patient.pk]


def _consent():
    return CommunicationConsent.objects.create(
        patient=PatientFactory(),
        channel="sms",
        purpose="surveys",
        status="opt_in",
        source="portal",
    )


MAKERS = {
    "Practitioner": PractitionerFactory,
    "Organization": OrganizationFactory,
    "ServiceRequest": lambda: referral_in("sent"),
    "Task": lambda: referral_in("sent"),
    "Communication": InteractionFactory,
    "Consent": _consent,
}


@pytest.mark.parametrize("resource_type", sorted(MAKERS))
def test_a_search_takes_as_many_queries_for_many_rows_as_for_one(resource_type):
    client = fhir_client(bearer(EVERY_READ, role=Role.COORDINATOR))
    MAKERS[resource_type]()
    assert len(search(client, resource_type)) == 1  # and the first request's warm-up
    with CaptureQueriesContext(connection) as one:
        search(client, resource_type)
    for _ in range(4):
        MAKERS[resource_type]()
    with CaptureQueriesContext(connection) as five:
        assert len(search(client, resource_type)) == 5
    assert len(five) == len(one), [q["sql"] for q in five.captured_queries]
