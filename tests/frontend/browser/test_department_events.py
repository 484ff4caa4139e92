"""Department events on the 360, in the browser: the pharmacy's system pushes a
prescription ready over HTTP with its own token; pharmacy staff see it on the patient's
360, billing staff see their own claim but not the prescription."""

import pytest
import requests
from playwright.sync_api import expect

from crm.integrations import integration_client_create
from crm.roles import Role
from integrations.services import department_event_record
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_pharmacy_event_shows_for_pharmacy_staff_and_not_for_billing(
    screen_for, live_server, pharmacist, billing
):
    patient = PatientFactory(given_name="Minh", family_name="Tran")
    application, secret = integration_client_create(
        name="Pharmacy system", role=Role.PHARMACY, scopes=["system/DepartmentEvent.write"]
    )
    token = requests.post(
        f"{live_server.url}/oauth/token/",
        data={"grant_type": "client_credentials"},
        auth=(application.client_id, secret),
        timeout=10,
    ).json()["access_token"]
    pushed = requests.post(
        f"{live_server.url}/api/department-events/",
        json={
            "patient_id": patient.pk,
            "kind": "prescription_ready",
            "occurred_at": "2026-11-27T15:00:00Z",
            "title": "Metformin 500 mg",
            "location": "Main St counter",
            "source": "pharmacy-main",
            "external_id": "rx-77",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert pushed.status_code == 201, pushed.text
    department_event_record(
        actor=billing,
        patient=patient,
        kind="claim_denied",
        occurred_at=pushed.json()["created_at"],
        reference="CLM-5521",
    )

    screen = screen_for(pharmacist)
    page = screen.open(f"/patients/{patient.pk}/")
    events = page.get_by_role("list", name="Pharmacy, lab and billing")
    expect(events.locator("[data-event]")).to_have_count(1)
    expect(events).to_contain_text("Prescription ready for pickup")
    expect(events).to_contain_text("Metformin 500 mg · Main St counter")
    expect(events).not_to_contain_text("claim")
    screen.capture_both_sizes("department-events-pharmacy")

    screen = screen_for(billing)
    page = screen.open(f"/patients/{patient.pk}/")
    events = page.get_by_role("list", name="Pharmacy, lab and billing")
    expect(events.locator("[data-event]")).to_have_count(1)
    expect(events).to_contain_text("Insurance claim denied")
    expect(events).to_contain_text("CLM-5521")
    expect(page.get_by_text("Metformin")).to_have_count(0)
    screen.capture("department-events-billing")
