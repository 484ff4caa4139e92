"""Breaking the glass and the privacy officer's review, in the browser."""

import re

import pytest
from playwright.sync_api import expect

from patients.models import EmergencyAccess

pytestmark = pytest.mark.django_db(transaction=True)

REASON = "Patient in the emergency department; covering for her coordinator."


def test_a_covering_coordinator_breaks_the_glass_and_the_officer_reviews_it(
    screen_for, other_coordinator, admin_user, clinic
):
    patient = clinic["patient"]
    screen = screen_for(other_coordinator)
    page = screen.open(f"/patients/{patient.pk}/")
    expect(page.locator("[data-interaction]")).to_have_count(1)  # the restricted one hidden
    page.get_by_role("button", name="Break the glass").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Why you need access now").fill("ED")
    dialog.get_by_role("button", name="Break the glass").click()
    # The API wants a real reason; it says so beside the field.
    expect(dialog.get_by_label("Why you need access now")).to_have_attribute(
        "aria-invalid", "true"
    )
    dialog.get_by_label("Why you need access now").fill(REASON)
    dialog.get_by_role("button", name="Break the glass").click()
    expect(dialog).to_be_hidden()

    banner = page.get_by_role("status").filter(has_text="Emergency access")
    expect(banner).to_contain_text("restricted items are shown until")
    expect(page.locator("[data-interaction]")).to_have_count(2)
    expect(page.get_by_text("Restricted: discussed a sensitive diagnosis.")).to_be_visible()
    expect(page.get_by_role("button", name="Break the glass")).to_have_count(0)
    screen.capture_both_sizes("break-glass-banner")
    grant = EmergencyAccess.objects.get(user=other_coordinator, patient=patient)

    officer = screen_for(admin_user)
    page = officer.open("/")
    page.get_by_role("link", name="Privacy").click()
    queue = page.get_by_role("region", name="Break-glass review")
    item = queue.locator(f"[data-grant='{grant.pk}']")
    expect(item).to_contain_text(REASON)
    officer.capture_both_sizes("privacy")
    item.get_by_role("button", name="Review").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Review note").fill("Confirmed with the ED roster.")
    dialog.get_by_role("button", name="Mark reviewed").click()
    expect(dialog).to_be_hidden()
    expect(queue).to_contain_text("No emergency access waiting for review.")
    grant.refresh_from_db()
    assert grant.reviewed_by == admin_user and grant.review_note == "Confirmed with the ED roster."

    # The access log by patient and user: the covering coordinator's reads under the grant.
    log = page.get_by_role("region", name="Access log")
    log.get_by_label("From").fill("2026-11-20")
    log.get_by_label("To").fill("2026-11-10")
    log.get_by_role("button", name="Show").click()
    expect(log.get_by_role("alert")).to_contain_text("The period ends before it starts")
    log.get_by_label("From").fill("")
    log.get_by_label("To").fill("")
    log.get_by_label("Patient number").fill(str(patient.pk))
    log.get_by_label("User").select_option(str(other_coordinator.pk))
    log.get_by_role("button", name="Show").click()
    rows = log.get_by_role("region", name="Access log entries").locator("tbody tr")
    expect(rows.filter(has_text="Break-the-glass emergency access").first).to_be_visible()
    expect(rows.filter(has_text=re.compile(f"/api/patients/{patient.pk}/360/"))).not_to_have_count(
        0
    )
    # Only the covering coordinator's reads (waiting for the filtered answer to replace
    # the log the screen opened with).
    names = rows.locator("td:nth-child(2)")
    expect(names.filter(has_not_text=other_coordinator.get_full_name())).to_have_count(0)
