"""Every write endpoint runs a fixed number of SQL statements, pinned here as the reads
are: authentication, the visibility read, the row lock with its joins, the write, its
history row, its event row, the care rules, the access record. A new query in a write
path fails the test that covers it."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from appointments.models import ServiceType
from appointments.services import appointment_create, appointment_upsert
from interactions import services as experience
from messaging.services import inbound_receive, message_queue
from patients.models import DuplicateCandidate, Patient, PatientIdentifier
from referrals.models import Referral
from tests.factories import (
    ContactPointFactory,
    FollowUpFactory,
    InteractionFactory,
    LanguageFactory,
    OrganizationFactory,
    PatientFactory,
    PractitionerFactory,
    UserFactory,
)
from tests.referrals.helpers import action_input, referral_in

pytestmark = pytest.mark.django_db


def a_patient(coordinator):
    patient = PatientFactory(care_coordinator=coordinator, preferred_channel="sms")
    LanguageFactory(patient=patient, language="vi")
    ContactPointFactory(patient=patient, system="sms")
    return patient


def a_complaint(coordinator, status="new"):
    complaint = experience.complaint_create(
        actor=coordinator,
        patient=a_patient(coordinator),
        channel="phone",
        category="wait_time",
        department="front_desk",
        description="Waited an hour.",
    )
    steps = {"new": [], "acknowledged": ["acknowledge"], "resolved": ["acknowledge", "resolve"]}
    for step in steps[status]:
        extra = {"resolution_note": "Fixed", "patient_informed": True} if step == "resolve" else {}
        complaint = experience.COMPLAINT_TRANSITION_SERVICES[step](
            complaint=complaint, actor=coordinator, **extra
        )
    return complaint


PATIENT_BODY = {
    "family_name": "Nguyễn",
    "given_name": "Hoa",
    "birth_date": "1980-04-02",
    "contact_points": [
        {"system": "sms", "value": "+16175550111"},
        {"system": "email", "value": "hoa@example.org"},
    ],
    "languages": [{"language": "vi", "preferred": True}, {"language": "en", "rank": 2}],
    "consents": [
        {"channel": "sms", "purpose": "billing", "status": "opt_out", "source": "phone"},
        {"channel": "email", "purpose": "surveys", "status": "opt_in", "source": "portal"},
    ],
    "identifiers": [{"system": "urn:ehr", "value": "E-1"}],
}


def a_pushed_patient(coordinator):
    """The body of a second push of a record, with a new phone number."""
    patient = a_patient(coordinator)
    PatientIdentifier.objects.create(patient=patient, system="urn:ehr", value="E-9")
    return {
        "family_name": patient.family_name,
        "given_name": patient.given_name,
        "birth_date": patient.birth_date.isoformat(),
        "identifiers": [{"system": "urn:ehr", "value": "E-9"}],
        "contact_points": [{"system": "sms", "value": "+13125550199"}],
    }


def a_duplicate_pair():
    one, other = PatientFactory(), PatientFactory()
    return DuplicateCandidate.objects.create(
        patient=one, other=other, score=10, found_by="scan", evidence=[]
    )


def a_text_from(coordinator):
    patient = a_patient(coordinator)
    number = patient.contact_points.get(system="sms").value
    return inbound_receive(from_number=number, body="Can I come at 3?", provider_id="SM1")


def a_queued_text(coordinator):
    return message_queue(
        actor=coordinator,
        patient=a_patient(coordinator),
        purpose="care_coordination",
        department="care_coordination",
        channel="sms",
        values={"text": "See you Monday."},
    )


def appointment_body(coordinator, *, pushed=False):
    """A follow-up visit in ten days; pushed, one the scheduling system sent before."""
    body = {
        "patient_id": a_patient(coordinator).pk,
        "service_type": "follow-up",
        "start": (timezone.now() + datetime.timedelta(days=10)).replace(microsecond=0).isoformat(),
    }
    if pushed:
        body |= {"source": "ehr", "external_id": "W-1"}
        appointment_upsert(
            actor=coordinator,
            source="ehr",
            external_id="W-1",
            patient=Patient.objects.get(pk=body["patient_id"]),
            service_type=ServiceType.objects.get(code="follow-up"),
            start=datetime.datetime.fromisoformat(body["start"]),
        )
        body["status"] = "confirmed"
    return body


def an_appointment(coordinator):
    return appointment_create(
        actor=coordinator,
        patient=a_patient(coordinator),
        service_type=ServiceType.objects.get(code="follow-up"),
        start=timezone.now() + datetime.timedelta(days=10),
    )


def referral_transition(state, action):
    def case(coordinator):
        referral = referral_in(state, coordinator, patient=a_patient(coordinator))
        body = action_input(action)
        if action == "no_show":  # the visit was five minutes ago
            start = timezone.now() - datetime.timedelta(minutes=5)
            Referral.objects.filter(pk=referral.pk).update(appointment_at=start)
            referral.appointments.update(start=start, end=start + datetime.timedelta(hours=1))
        return "post", f"/api/referrals/{referral.pk}/{action.replace('_', '-')}/", body

    return case


def complaint_transition(state, action, body=None):
    def case(coordinator):
        complaint = a_complaint(coordinator, state)
        return "post", f"/api/complaints/{complaint.pk}/{action}/", body or {}

    return case


def follow_up(action, body):
    def case(coordinator):
        item = FollowUpFactory(assigned_to=coordinator, patient=a_patient(coordinator))
        method = "patch" if action == "update" else "post"
        path = f"/api/follow-ups/{item.pk}/" + ("" if action == "update" else f"{action}/")
        return method, path, body

    return case


# name -> (build the request, the most statements it may run)
CASES = {
    "patient create with every section": (
        lambda c: ("post", "/api/patients/", PATIENT_BODY),
        # The roles, the MRN, the duplicate lookup, the row and its history, the
        # identifier's check, each child list and its history in two, the access record;
        # and the savepoint of the test's transaction and its release (15 without).
        17,
    ),
    "patient push, new": (
        lambda c: ("post", "/api/patients/push/", PATIENT_BODY),
        18,  # the create, after the identifier's lookup, after the identifier's lookup
    ),
    "patient push, known and changed": (
        lambda c: ("post", "/api/patients/push/", a_pushed_patient(c)),
        17,
    ),
    "duplicate pair marked two people": (
        lambda c: ("post", f"/api/duplicates/{a_duplicate_pair().pk}/distinct/", {}),
        12,  # the pair locked and decided, then read with both records to answer
    ),
    "patient update": (
        lambda c: ("patch", f"/api/patients/{a_patient(c).pk}/", {"preferred_name": "Hoa"}),
        12,
    ),
    "interaction create": (
        lambda c: (
            "post",
            "/api/interactions/",
            {
                "patient_id": a_patient(c).pk,
                "channel": "sms",
                "direction": "outbound",
                "department": "care_coordination",
                "outcome": "follow_up_needed",
                "summary": "Texted the time.",
            },
        ),
        18,
    ),
    "interaction update": (
        lambda c: (
            "patch",
            f"/api/interactions/{InteractionFactory(patient=a_patient(c)).pk}/",
            {"summary": "Corrected."},
        ),
        8,
    ),
    "referral create": (
        lambda c: (
            "post",
            "/api/referrals/",
            {
                "patient_id": a_patient(c).pk,
                "specialty": "Cardiology",
                "reason": "Palpitations.",
                "receiving_organization_id": OrganizationFactory().pk,
            },
        ),
        12,
    ),
    "referral update": (
        lambda c: (
            "patch",
            f"/api/referrals/{referral_in('draft', c).pk}/",
            {"priority": "urgent"},
        ),
        9,
    ),
    "referral send": (referral_transition("draft", "send"), 11),
    "referral accept": (referral_transition("sent", "accept"), 11),
    "referral decline": (referral_transition("sent", "decline"), 16),
    # Scheduling books the referral's appointment (its service type and reminders, the
    # row, its history and event) and queues the booking confirmation (the contact
    # policy's three reads, the message, its interaction and its event); leaving
    # "scheduled" moves the appointment too and cancels the queued messages it made moot.
    "referral schedule": (referral_transition("accepted", "schedule"), 27),
    # A no-show also offers the patient another time (the policy's reads, the message,
    # its interaction and its event).
    "referral no-show": (referral_transition("scheduled", "no_show"), 38),
    "referral seen": (referral_transition("scheduled", "seen"), 21),
    # Closing invites the patient to a survey by text: the 30-day check, the policy's
    # three reads, the invitation and the message with their history and events.
    "referral close": (referral_transition("seen", "close"), 32),
    "referral cancel": (referral_transition("sent", "cancel"), 11),
    "referral reopen": (referral_transition("cancelled", "reopen"), 12),
    "follow-up create": (
        lambda c: (
            "post",
            "/api/follow-ups/",
            {
                "patient_id": a_patient(c).pk,
                "title": "Call back",
                "due_at": (timezone.now() + datetime.timedelta(days=1)).isoformat(),
                "queue": "care_coordination",
            },
        ),
        7,
    ),
    "follow-up update": (follow_up("update", {"title": "Call back after 3"}), 8),
    "follow-up complete": (follow_up("complete", {"outcome": "Reached her."}), 8),
    "follow-up cancel": (follow_up("cancel", {"reason": "Duplicate."}), 8),
    "complaint create": (
        lambda c: (
            "post",
            "/api/complaints/",
            {
                "patient_id": a_patient(c).pk,
                "channel": "phone",
                "category": "billing",
                "department": "billing",
                "description": "Charged twice.",
            },
        ),
        9,
    ),
    "complaint update": (
        lambda c: ("patch", f"/api/complaints/{a_complaint(c).pk}/", {"priority": "urgent"}),
        9,
    ),
    "complaint acknowledge": (complaint_transition("new", "acknowledge"), 10),
    "complaint resolve": (
        complaint_transition(
            "acknowledged", "resolve", {"resolution_note": "Refunded.", "patient_informed": True}
        ),
        10,
    ),
    "complaint close": (complaint_transition("resolved", "close"), 10),
    "complaint reopen": (complaint_transition("resolved", "reopen", {"reason": "Again."}), 10),
    "survey invitation": (
        lambda c: (
            "post",
            "/api/surveys/invitations/",
            {"patient_id": a_patient(c).pk, "channel": "sms", "department": "clinical"},
        ),
        17,  # the invitation, and the text that carries it
    ),
    "message send": (
        lambda c: (
            "post",
            "/api/messages/",
            {"patient_id": a_patient(c).pk, "purpose": "care_coordination", "text": "Hello"},
        ),
        12,  # the policy's three reads, the message, its interaction and event
    ),
    "message reply": (
        lambda c: (
            "post",
            f"/api/messages/{a_text_from(c).pk}/reply/",
            {"text": "Yes, 3 is fine."},
        ),
        19,  # the reply, and the thread's texts and follow-up marked answered
    ),
    "message cancel": (
        lambda c: (
            "post",
            f"/api/messages/{a_queued_text(c).pk}/cancel/",
            {"reason": "Sent in error."},
        ),
        9,  # the lock, the message and its event
    ),
    "survey response by phone": (
        lambda c: (
            "post",
            "/api/surveys/responses/",
            {
                "patient_id": a_patient(c).pk,
                "channel": "phone",
                "department": "billing",
                "nps_score": 3,
            },
        ),
        15,
    ),
    "reassign the coordinator": (
        lambda c: (
            "post",
            f"/api/patients/{a_patient(c).pk}/reassign-coordinator/",
            {"coordinator_id": UserFactory(username="bea").pk, "reason": "Caseload."},
        ),
        12,
    ),
    "break the glass": (
        lambda c: (
            "post",
            f"/api/patients/{a_patient(c).pk}/break-glass/",
            {"reason": "Patient in the emergency room now."},
        ),
        7,
    ),
    # Booking writes the appointment, its history and event, and queues its reminders
    # (the contact policy's reads, each message with its interaction and event).
    "appointment create": (
        lambda c: ("post", "/api/appointments/", appointment_body(c)),
        31,
    ),
    "appointment push, known": (
        lambda c: ("post", "/api/appointments/push/", appointment_body(c, pushed=True)),
        16,
    ),
    "appointment confirm": (
        lambda c: ("post", f"/api/appointments/{an_appointment(c).pk}/confirm/", {}),
        9,
    ),
    "practitioner create": (
        lambda c: (
            "post",
            "/api/practitioners/",
            {
                "npi": PractitionerFactory.build().npi,
                "family_name": "Hayes",
                "given_name": "Ann",
                "specialty": "Cardiology",
            },
        ),
        7,
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_a_write_runs_a_fixed_number_of_statements(
    api, coordinator, django_assert_max_num_queries, name
):
    build, most = CASES[name]
    # Inside the clinic's messaging hours whenever the suite runs: a message queued
    # outside them waits, and one that would wait past its visit costs more statements.
    with time_machine.travel(timezone.now().replace(hour=15, minute=0), tick=True):
        method, path, body = build(coordinator)
        version = api.version_header(method, path)  # read before the write, as a client does
        with django_assert_max_num_queries(most):
            response = getattr(api, method)(path, body, "json", **version)
    assert response.status_code in (200, 201), response.json()
