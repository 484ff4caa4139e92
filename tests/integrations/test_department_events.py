"""Department events: the pharmacy, the lab and billing push what happened; each
department reads its own on the 360 (coordinators and clinicians read them all), the
patient is told once in their language, and integrations follow them in the feed."""

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from crm.models import AccessRecord
from crm.roles import Role
from integrations.models import DepartmentEvent
from messaging.models import Message
from referrals.models import FollowUp
from tests.conftest import client_for
from tests.factories import PatientFactory
from tests.integrations.test_fhir import bearer
from tests.messaging.conftest import reachable_patient

pytestmark = pytest.mark.django_db

# 15:00 in New York: inside anyone's hours.
NOW = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def bearer_client(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def push(api, patient, kind="prescription_ready", **body):
    return api.post(
        "/api/department-events/",
        {
            "patient_id": patient.pk,
            "kind": kind,
            "occurred_at": "2026-12-01T19:30:00Z",
            "source": "pharmacy-main",
            "external_id": "rx-1001",
            **body,
        },
        "json",
    )


def test_a_pharmacy_system_tells_the_patient_once_in_their_language(
    settings, sms_provider, django_capture_on_commit_callbacks
):
    settings.CLINIC_NAME = "Clínica Norte"
    patient = reachable_patient("es")
    api = bearer_client(
        bearer(["system/DepartmentEvent.write"], role=Role.PHARMACY, name="Pharmacy")
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = push(api, patient, notify_patient=True, location="Main St counter")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["department"] == {"value": "pharmacy", "label": "Pharmacy"}
    assert body["message"]["status"]["value"] == "queued"  # sent once the push commits
    event = DepartmentEvent.objects.get()
    assert (event.patient, event.kind, event.location) == (patient, "prescription_ready",
                                                           "Main St counter")  # fmt: skip
    message = event.message
    assert message.status == "sent"
    assert (message.template, message.language_used, message.sender) == (
        "prescription_ready",
        "es",
        "integration",
    )
    [sent] = sms_provider.sent
    assert sent.body == message.body and "Main St counter" in sent.body
    assert "receta" in sent.body  # Spanish, from the catalog
    assert message.interaction.department == "pharmacy"  # on the timeline, the pharmacy's
    # The system retries: the same event, nothing new, nothing sent twice.
    with django_capture_on_commit_callbacks(execute=True):
        again = push(api, patient, notify_patient=True, location="Main St counter")
    assert again.status_code == 200 and again.json()["id"] == event.pk
    assert again.json()["version"] == 1
    assert Message.objects.count() == 1 and len(sms_provider.sent) == 1
    # A correction changes the event, still without a second message.
    moved = push(api, patient, notify_patient=True, location="Oak Ave counter")
    assert moved.status_code == 200 and moved.json()["version"] == 2
    assert Message.objects.count() == 1
    # Every push is in the access log under the client's name.
    logged = AccessRecord.objects.filter(endpoint="/api/department-events/")
    assert logged.count() == 3
    assert all(r.client.startswith("Pharmacy (") and r.auth_method == "oauth2" for r in logged)
    assert all(r.patient_ids == f",{patient.pk}," for r in logged)


def test_a_patient_who_cannot_be_texted_gets_a_call_instead(pharmacist):
    patient = PatientFactory()  # no phone, no email
    response = push(client_for(pharmacist), patient, notify_patient=True)
    assert response.status_code == 201, response.json()
    message = Message.objects.get()
    assert message.status == "refused" and response.json()["message"]["status"]["value"] == (
        "refused"
    )
    follow_up = FollowUp.objects.get(patient=patient)
    assert (follow_up.kind, follow_up.queue) == ("callback", "pharmacy")
    assert follow_up.title.startswith("Reach the patient: the prescription ready")


def test_a_billing_event_tells_nobody_unasked(billing):
    patient = reachable_patient()
    response = push(client_for(billing), patient, kind="statement_issued", external_id="st-9")
    assert response.status_code == 201 and response.json()["message"] is None
    assert not Message.objects.exists()


def test_each_department_records_its_own_events_only(billing, pharmacist, front_desk):
    patient = PatientFactory()
    denied = push(client_for(billing), patient, kind="prescription_ready")
    assert denied.status_code == 403 and denied.json()["code"] == "row_denied"
    assert push(client_for(front_desk), patient).status_code == 403
    assert not DepartmentEvent.objects.exists()
    assert push(client_for(pharmacist), patient).status_code == 201


def test_the_360_shows_each_reader_the_events_it_may_read(
    billing, pharmacist, coordinator, clinician, front_desk
):
    patient = PatientFactory()
    assert push(client_for(pharmacist), patient, title="Lisinopril 10 mg").status_code == 201
    bill = push(client_for(billing), patient, kind="claim_denied", external_id="cl-7")
    assert bill.status_code == 201
    lab = push(client_for(clinician), patient, kind="result_available", external_id="lab-3")
    assert lab.status_code == 201

    def kinds(user):
        record = client_for(user).get(f"/api/patients/{patient.pk}/360/").json()
        if "department_events" not in record:
            return None
        return [e["kind"]["value"] for e in record["department_events"]]

    assert kinds(pharmacist) == ["prescription_ready"]
    assert kinds(billing) == ["claim_denied"]
    assert sorted(kinds(coordinator)) == ["claim_denied", "prescription_ready", "result_available"]
    assert sorted(kinds(clinician)) == ["claim_denied", "prescription_ready", "result_available"]
    assert kinds(front_desk) is None  # not a part of the record the front desk reads
    # The list and the record's history say the same.
    listed = client_for(billing).get("/api/department-events/", {"patient": patient.pk})
    assert [e["kind"]["value"] for e in listed.json()["results"]] == ["claim_denied"]
    history = client_for(coordinator).get(f"/api/patients/{patient.pk}/history/").json()
    events = [e for e in history["results"] if e["record"] == "department_event"]
    assert sorted(e["record_id"] for e in events) == sorted(
        DepartmentEvent.objects.values_list("pk", flat=True)
    )
    assert client_for(front_desk).get("/api/department-events/").status_code == 403


def test_integrations_follow_the_events_they_may_read(billing):
    patient = PatientFactory()
    pharmacy = bearer(
        ["system/*.read", "system/DepartmentEvent.write"], role=Role.PHARMACY, name="Pharmacy"
    )
    assert push(bearer_client(pharmacy), patient).status_code == 201
    push(client_for(billing), patient, kind="statement_issued", external_id="st-1")

    def followed(token):
        page = bearer_client(token).get("/api/changes/", {"types": "DepartmentEvent"}).json()
        return [DepartmentEvent.objects.get(pk=e["id"]).kind for e in page["results"]]

    assert followed(pharmacy) == ["prescription_ready"]
    billing = bearer(["system/DepartmentEvent.read"], role=Role.BILLING, name="Billing")
    assert followed(billing) == ["statement_issued"]
    no_scope = bearer(["system/Patient.read"], role=Role.COORDINATOR, name="EHR")
    assert bearer_client(no_scope).get("/api/department-events/").status_code == 403


def test_a_known_event_keeps_its_patient_and_kind(pharmacist):
    patient, other = PatientFactory(), PatientFactory()
    api = client_for(pharmacist)
    assert push(api, patient).status_code == 201
    moved = push(api, other)
    assert moved.status_code == 409 and moved.json()["code"] == "patient_mismatch"
    changed = push(api, patient, kind="refill_due")
    assert changed.status_code == 409 and changed.json()["code"] == "kind_changed"
    assert DepartmentEvent.objects.get().patient == patient


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "prescription_taken"}, "kind"),
        ({"occurred_at": "someday"}, "occurred_at"),
        ({"source": "", "external_id": "rx-1"}, "source"),
        ({"title": "x" * 201}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"source": "not a slug"}, "source"),
        ({"patient_id": 10**20}, "patient_id"),
    ],
)
def test_bad_input_is_a_400_with_the_field(pharmacist, body, field):
    response = push(client_for(pharmacist), PatientFactory(), **body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not DepartmentEvent.objects.exists()


def test_a_push_takes_a_fixed_number_of_queries(pharmacist, django_assert_max_num_queries):
    api = client_for(pharmacist)
    patients = [reachable_patient("es"), reachable_patient("vi")]
    for n, patient in enumerate(patients):
        # The event, and the message with its timeline line, event row and policy reads.
        with django_assert_max_num_queries(19):
            push(api, patient, notify_patient=True, external_id=f"rx-{n}")
    # A repeat: the lock and the answer.
    with django_assert_max_num_queries(6):
        push(api, patients[0], notify_patient=True, external_id="rx-0")
