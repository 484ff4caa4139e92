import datetime as dt

import pytest

from appointments.models import ServiceType
from appointments.selectors import appointment_history_sources
from appointments.services import appointment_create, appointment_update
from referrals import services
from tests.conftest import client_for
from tests.factories import FollowUpFactory, InteractionFactory, PatientFactory, UserFactory
from tests.referrals.helpers import referral_in

pytestmark = pytest.mark.django_db


def test_history_lists_each_change_with_user_and_fields(api, coordinator):
    created = api.post(
        "/api/patients/",
        {
            "family_name": "Doe",
            "given_name": "Jane",
            "birth_date": "1980-01-01",
            "contact_points": [{"system": "phone", "value": "617-555-0142"}],
        },
        "json",
    ).json()
    api.patch(
        f"/api/patients/{created['id']}/",
        {"given_name": "Janet", "contact_points": [{"system": "phone", "value": "617-555-0143"}]},
        "json",
    )

    response = api.get(f"/api/patients/{created['id']}/history/")

    assert response.status_code == 200
    entries = response.json()["results"]
    patient_change = next(
        e for e in entries if e["record"] == "patient" and e["type"] == "changed"
    )
    assert patient_change["user"] == {"id": coordinator.pk, "name": coordinator.get_full_name()}
    assert {
        "field": "given_name",
        "label": "given name",
        "from": "Jane",
        "to": "Janet",
        "from_display": "Jane",
        "to_display": "Janet",
    } in patient_change["changes"]
    contact_types = sorted(e["type"] for e in entries if e["record"] == "contact_point")
    assert contact_types == ["created", "created", "deleted"]
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)


def test_history_of_an_unknown_patient_is_404(api):
    assert api.get("/api/patients/424242/history/").status_code == 404


def test_history_is_paginated(api):
    patient = PatientFactory()
    for n in range(3):
        api.patch(f"/api/patients/{patient.pk}/", {"given_name": f"N{n}"}, "json")
    body = api.get(f"/api/patients/{patient.pk}/history/", {"page_size": 2}).json()
    assert body["count"] == 4 and len(body["results"]) == 2 and body["next"]


def test_history_covers_every_section_readably_and_only_what_the_reader_may_see(
    api, coordinator, admin_user
):
    """Referrals, interactions, follow-ups and complaints are in the patient's history,
    with names and labels; a restricted interaction and a referral's clinical reason
    only for who may read them."""
    patient = PatientFactory(care_coordinator=coordinator)
    referral = referral_in("draft", coordinator, patient=patient, reason="Secret-reason-123")
    services.referral_update(referral=referral, actor=coordinator, priority="urgent")
    colleague = UserFactory(username="colleague", first_name="Dana", last_name="Ruiz")
    FollowUpFactory(patient=patient, assigned_to=colleague, title="Call back")
    InteractionFactory(patient=patient, summary="Normal call")
    InteractionFactory(patient=patient, summary="Restricted-marker-456", sensitivity="restricted")

    entries = api.get(f"/api/patients/{patient.pk}/history/", {"page_size": 100}).json()
    records = {e["record"] for e in entries["results"]}
    assert {"patient", "referral", "interaction", "follow_up"} <= records
    follow_up = next(e for e in entries["results"] if e["record"] == "follow_up")
    assigned = next(c for c in follow_up["changes"] if c["field"] == "assigned_to")
    assert (assigned["label"], assigned["to_display"]) == ("assigned to", "Dana Ruiz")
    priority = next(
        c
        for e in entries["results"]
        if e["record"] == "referral"
        for c in e["changes"]
        if c["field"] == "priority" and c["from"]
    )
    assert (priority["from_display"], priority["to_display"]) == ("Routine", "Urgent")
    text = str(entries)
    assert "Restricted-marker-456" in text and "Secret-reason-123" in text

    # The administrator reads the history but not restricted items or clinical reasons.
    theirs = str(client_for(admin_user).get(f"/api/patients/{patient.pk}/history/").json())
    assert "Normal call" in theirs
    assert "Restricted-marker-456" not in theirs and "Secret-reason-123" not in theirs


def test_the_history_costs_the_same_queries_for_a_short_or_long_record(api, coordinator):
    """One query per kind of record and one per kind of record a change names, however
    many changes there are."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(size):
        patient = PatientFactory(care_coordinator=coordinator)
        for _ in range(size):
            referral_in("draft", coordinator, patient=patient)
            FollowUpFactory(patient=patient, assigned_to=coordinator)
            InteractionFactory(patient=patient, staff=coordinator)
        with CaptureQueriesContext(connection) as captured:
            assert api.get(f"/api/patients/{patient.pk}/history/").status_code == 200
        return len(captured)

    queries_for(1)  # the first request of the session also reads the user's roles
    assert queries_for(1) == queries_for(6)


def test_appointment_changes_are_in_the_history_for_who_may_read_them(
    api, coordinator, pharmacist, service_types
):
    patient = PatientFactory(care_coordinator=coordinator)
    start = dt.datetime(2031, 3, 3, 15, tzinfo=dt.UTC)
    appointment = appointment_create(
        actor=coordinator,
        patient=patient,
        service_type=ServiceType.objects.get(code="follow-up"),
        start=start,
        location="Main clinic",
    )
    appointment_update(appointment=appointment, actor=coordinator, location="North clinic")

    entries = api.get(f"/api/patients/{patient.pk}/history/", {"page_size": 100}).json()
    changes = [e for e in entries["results"] if e["record"] == "appointment"]
    assert [e["type"] for e in changes] == ["changed", "created"]
    moved = next(c for c in changes[0]["changes"] if c["field"] == "location")
    assert (moved["from"], moved["to"]) == ("Main clinic", "North clinic")
    # Pharmacy reads no appointments (nor the history); the source says so on its own.
    assert appointment_history_sources(patient_id=patient.pk, user=pharmacist) == []
