"""FHIR writes: a call center creates a Communication (an inbound contact), a scheduling
system sends Appointments by conditional update on their identifier. Both go through
the REST API's validation and services; errors are OperationOutcomes naming the
element; fhirpy drives them against a live server."""

import datetime as dt

import pytest
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.communication import Communication as FhirCommunication
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhirpy import SyncFHIRClient

from appointments.models import Appointment
from crm.models import AccessRecord
from crm.roles import Role
from interactions.models import Interaction
from tests.factories import PatientFactory, PractitionerFactory
from tests.integrations.test_fhir import FHIR_JSON, bearer, fhir_client

pytestmark = pytest.mark.django_db

SCHEDULER = "urn:oid:2.16.840.1.113883.3.72.5.20"
SERVICE_TYPES = "urn:patient-crm:service-type"
VISIT = dt.datetime(2031, 3, 3, 15, tzinfo=dt.UTC)


def call(patient, **fields) -> dict:
    return {
        "resourceType": "Communication",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient.pk}"},
        "sender": {"reference": f"Patient/{patient.pk}"},
        "medium": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode",
                        "code": "PHONE",
                    }
                ]
            }
        ],
        "sent": "2026-11-27T14:05:00Z",
        "payload": [{"contentString": "Asked about her refill; transferred to pharmacy."}],
        **fields,
    }


def visit(patient, *, status="booked", at=VISIT, accepted=False, **fields) -> dict:
    return {
        "resourceType": "Appointment",
        "identifier": [{"system": SCHEDULER, "value": "V-100"}],
        "status": status,
        "serviceType": [{"coding": [{"system": SERVICE_TYPES, "code": "follow-up"}]}],
        "start": at.isoformat(),
        "end": (at + dt.timedelta(minutes=20)).isoformat(),
        "participant": [
            {
                "actor": {"reference": f"Patient/{patient.pk}"},
                "status": "accepted" if accepted else "needs-action",
            }
        ],
        **fields,
    }  # fmt: skip


def post(client, body, **headers):
    return client.post("/fhir/Communication", body, content_type=FHIR_JSON, **headers)


def put(client, body, identifier=f"{SCHEDULER}|V-100", **headers):
    return client.put(
        f"/fhir/Appointment?identifier={identifier}", body, content_type=FHIR_JSON, **headers
    )


def test_a_call_center_records_an_inbound_call_with_fhirpy(live_server):
    patient = PatientFactory()
    token = bearer(["system/Communication.write"], role=Role.FRONT_DESK, name="Call center")
    client = SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {token}")
    saved = client.resource("Communication", **call(patient))
    saved.save()
    interaction = Interaction.objects.get()
    assert saved.id == str(interaction.pk)
    assert (interaction.patient, interaction.direction, interaction.channel) == (
        patient,
        "inbound",
        "phone",
    )
    assert interaction.department == "contact_center"  # no category: the call center's
    assert interaction.occurred_at == dt.datetime(2026, 11, 27, 14, 5, tzinfo=dt.UTC)
    assert interaction.summary == "Asked about her refill; transferred to pharmacy."
    assert interaction.staff.username == "client-call-center"
    FhirCommunication.model_validate(saved.serialize())
    record = AccessRecord.objects.get(action="create")
    assert record.patient_ids == f",{patient.pk}," and record.client.startswith("Call center")


def test_a_retried_create_with_its_key_records_one_contact():
    patient = PatientFactory()
    client = fhir_client(bearer(["system/Communication.write"], role=Role.FRONT_DESK))
    first = post(client, call(patient), HTTP_IDEMPOTENCY_KEY="call-7781")
    again = post(client, call(patient), HTTP_IDEMPOTENCY_KEY="call-7781")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and Interaction.objects.count() == 1
    assert first["Location"].endswith(f"/fhir/Communication/{first.json()['id']}")


def test_a_department_writes_its_own_contacts_only():
    patient = PatientFactory()
    billing = fhir_client(bearer(["system/Communication.*"], role=Role.BILLING, name="Billing"))
    category = [{"coding": [{"system": "urn:patient-crm:department", "code": "pharmacy"}]}]
    refused = post(billing, call(patient, category=category))
    assert refused.status_code == 403
    OperationOutcome.model_validate(refused.json())
    category[0]["coding"][0]["code"] = "billing"
    assert post(billing, call(patient, category=category)).status_code == 201
    reader = fhir_client(bearer(["system/Communication.read"], role=Role.FRONT_DESK))
    assert post(reader, call(patient)).status_code == 403
    assert Interaction.objects.count() == 1


@pytest.mark.parametrize(
    "change, path",
    [
        ({"status": "in-progress"}, "Communication.status"),
        ({"sent": "yesterday"}, "Communication.sent"),
        ({"colour": "blue"}, "Communication.colour"),
        ({"subject": {"reference": "Patient/999999"}}, "Communication.subject"),
        ({"subject": {"reference": "Group/1"}}, "Communication.subject"),
        (
            {"medium": [{"coding": [{"system": "urn:patient-crm:channel", "code": "pigeon"}]}]},
            "Communication.medium",
        ),
        ({"payload": [{"contentString": "x" * 10001}]}, "Communication.payload"),
        ({"resourceType": "Appointment"}, "resourceType"),
    ],
)
def test_a_bad_communication_is_a_400_naming_the_element(change, path):
    client = fhir_client(bearer(["system/Communication.write"], role=Role.FRONT_DESK))
    response = post(client, call(PatientFactory(), **change))
    assert response.status_code == 400, response.json()
    outcome = OperationOutcome.model_validate(response.json())
    assert path in [e for issue in outcome.issue for e in issue.expression or []]
    assert not Interaction.objects.exists()


def test_malformed_bodies_are_operation_outcomes():
    client = fhir_client(bearer(["system/*.*"], role=Role.COORDINATOR))
    for body in ("{not json", "[" * 5000, '{"resourceType": "Communication\\u0000"}'):
        response = client.post("/fhir/Communication", body, content_type=FHIR_JSON)
        assert response.status_code == 400
        OperationOutcome.model_validate(response.json())
    assert client.post("/fhir/Patient", {}, content_type=FHIR_JSON).status_code == 405
    assert client.put("/fhir/Communication", {}, content_type=FHIR_JSON).status_code == 405


def test_a_scheduling_system_upserts_an_appointment_with_fhirpy(live_server, service_types):
    patient = PatientFactory()
    doctor = PractitionerFactory()
    token = bearer(["system/Appointment.*"], role=Role.FRONT_DESK, name="Scheduler")
    client = SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {token}")
    booked = visit(patient, description="Main clinic, room 4")
    doctor_takes_part = {"actor": {"reference": f"Practitioner/{doctor.pk}"}, "status": "accepted"}
    booked["participant"].append(doctor_takes_part)
    search = client.resources("Appointment").search(identifier=f"{SCHEDULER}|V-100")
    resource, created = search.update(client.resource("Appointment", **booked))
    assert created
    appointment = Appointment.objects.get()
    assert (appointment.source, appointment.external_id) == (SCHEDULER, "V-100")
    assert (appointment.status, appointment.start, appointment.location) == (
        "booked",
        VISIT,
        "Main clinic, room 4",
    )
    assert appointment.practitioner == doctor
    FhirAppointment.model_validate(resource.serialize())
    # The patient confirmed in the scheduler; then the visit moves a day.
    later = VISIT + dt.timedelta(days=1)
    resource, created = search.update(
        client.resource("Appointment", **visit(patient, at=later, accepted=True))
    )
    assert not created and resource.id == str(appointment.pk)
    appointment.refresh_from_db()
    assert (appointment.start, appointment.status) == (later, "confirmed")
    actions = list(appointment.events.values_list("action", "details__by"))
    assert actions[1:] == [("reschedule", "integration"), ("confirm", "integration")]
    # Sending the same again changes nothing.
    search.update(client.resource("Appointment", **visit(patient, at=later, accepted=True)))
    assert Appointment.objects.get().version == appointment.version
    # And cancelled there, it is cancelled here.
    cancelled = visit(patient, at=later, status="cancelled")
    search.update(client.resource("Appointment", **cancelled))
    assert Appointment.objects.get().status == "cancelled"


def test_if_match_changes_only_the_version_read(service_types):
    patient = PatientFactory()
    client = fhir_client(bearer(["system/Appointment.*"], role=Role.FRONT_DESK))
    created = put(client, visit(patient))
    assert created.status_code == 201 and created["ETag"] == 'W/"1"'
    moved = visit(patient, at=VISIT + dt.timedelta(hours=2))
    stale = put(client, moved, HTTP_IF_MATCH='W/"7"')
    assert stale.status_code == 412
    OperationOutcome.model_validate(stale.json())
    assert Appointment.objects.get().start == VISIT
    fresh = put(client, moved, HTTP_IF_MATCH=created["ETag"])
    assert fresh.status_code == 200 and fresh["ETag"] != created["ETag"]
    # If-Match on an appointment never sent: nothing to match.
    unknown = visit(patient, identifier=[{"system": SCHEDULER, "value": "V-9"}])
    assert put(client, unknown, f"{SCHEDULER}|V-9", HTTP_IF_MATCH='W/"1"').status_code == 412
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(
    "change, identifier, path",
    [
        ({"identifier": [{"system": SCHEDULER, "value": "V-2"}]}, None, "Appointment.identifier"),
        ({"participant": [{"actor": {"reference": "Group/1"}, "status": "accepted"}]}, None,
         "Appointment.participant"),
        ({"serviceType": [{"coding": [{"system": SERVICE_TYPES, "code": "massage"}]}]}, None,
         "Appointment.serviceType"),
        ({"status": "entered-in-error"}, None, "Appointment.status"),
        ({"start": "2031-13-01T00:00:00Z"}, None, "Appointment.start"),
        ({}, "V-100", None),
        ({}, f"{SCHEDULER}|", None),
    ],
)  # fmt: skip
def test_a_bad_appointment_is_a_400(service_types, change, identifier, path):
    client = fhir_client(bearer(["system/Appointment.write"], role=Role.FRONT_DESK))
    response = put(client, visit(PatientFactory(), **change), identifier or f"{SCHEDULER}|V-100")
    assert response.status_code == 400, response.json()
    outcome = OperationOutcome.model_validate(response.json())
    if path:
        assert path in [e for issue in outcome.issue for e in issue.expression or []]
    assert not Appointment.objects.exists()


def test_an_appointment_does_not_move_to_another_patient(service_types):
    client = fhir_client(bearer(["system/Appointment.write"], role=Role.FRONT_DESK))
    patient = PatientFactory()
    assert put(client, visit(patient)).status_code == 201
    moved = put(client, visit(PatientFactory()))
    assert moved.status_code == 409
    assert Appointment.objects.get().patient == patient
    pharmacy = fhir_client(bearer(["system/Appointment.write"], role=Role.PHARMACY, name="Rx"))
    assert put(pharmacy, visit(patient)).status_code == 403  # pharmacy reads no visits
