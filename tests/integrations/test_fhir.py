"""FHIR R4 at /fhir/: the CapabilityStatement and Patient read and search, every
resource validated with fhir.resources, errors as OperationOutcome, scopes and the
access log as everywhere; and an independent client (fhirpy) paging a live server."""

import datetime as dt

import pytest
from django.test import Client
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhirpy import SyncFHIRClient

from appointments.models import ServiceType
from appointments.services import appointment_confirm, appointment_create
from crm.integrations import integration_client_create
from crm.models import AccessRecord
from crm.roles import Role
from patients.models import PatientIdentifier
from tests.api.test_integration_clients import token_for
from tests.factories import ContactPointFactory, LanguageFactory, PatientFactory

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
VISIT = dt.datetime(2031, 3, 3, 15, tzinfo=dt.UTC)


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
    assert [(r.type, sorted(i.code for i in r.interaction)) for r in rest.resource] == [
        ("Appointment", ["read", "search-type"]),
        ("Patient", ["read", "search-type"]),
    ]
    # Each listed search parameter is one the server takes (an unknown one is a 400).
    client = fhir_client(bearer(["system/*.read"], role=Role.COORDINATOR))
    for resource in rest.resource:
        for parameter in resource.searchParam:
            value = "1" if parameter.name in ("_id", "_count", "patient") else "x|y"
            value = {"date": "2026-01-01", "birthdate": "2026-01-01", "status": "booked",
                     "family": "x", "given": "x"}.get(parameter.name, value)  # fmt: skip
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
