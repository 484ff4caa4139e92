"""Who holds the work: follow-ups created for a person or a queue and reassigned, a
patient's coordinator changed, a departing colleague's work handed off."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from patients.models import Patient
from referrals.models import FollowUp, Referral

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_follow_up_is_created_for_a_queue_and_reassigned(
    screen_for, coordinator, other_coordinator, clinic
):
    patient = clinic["patient"]
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{patient.pk}/")
    page.get_by_role("button", name="New follow-up").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("What needs doing").fill("Explain the new copay to her")
    due = (timezone.now() + datetime.timedelta(days=2)).replace(second=0, microsecond=0)
    dialog.get_by_label("Due").fill(f"{due:%Y-%m-%dT%H:%M}")
    dialog.get_by_label("Assign to").select_option("queue:billing")
    screen.capture("follow-up-new-dialog")
    dialog.get_by_role("button", name="Create follow-up").click()
    expect(dialog).to_be_hidden()

    created = FollowUp.objects.get(title="Explain the new copay to her")
    assert (created.queue, created.assigned_to, created.due_at) == ("billing", None, due)
    item = page.locator(f"[data-follow-up='{created.pk}']")
    expect(item).to_contain_text("Billing queue")

    item.get_by_role("button", name="Reassign").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).not_to_contain_text("null")  # a dialog without a description
    dialog.get_by_label("Assign to").select_option(f"user:{other_coordinator.pk}")
    dialog.get_by_role("button", name="Reassign").click()
    expect(dialog).to_be_hidden()
    item = page.locator(f"[data-follow-up='{created.pk}']")
    expect(item).to_contain_text(other_coordinator.get_full_name())
    created.refresh_from_db()
    assert (created.assigned_to, created.queue, created.version) == (other_coordinator, "", 2)


def test_the_coordinator_is_changed_from_the_360(
    screen_for, coordinator, other_coordinator, clinic
):
    patient = clinic["patient"]
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{patient.pk}/")
    page.get_by_role("button", name="Change coordinator").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("New coordinator").select_option(str(other_coordinator.pk))
    dialog.get_by_label("Reason").fill("Alice moves to the cardiology team.")
    dialog.get_by_role("button", name="Change coordinator").click()
    expect(dialog).to_be_hidden()
    header = page.get_by_role("region", name=re.compile("Lucía Gómez"))
    expect(header).to_contain_text(f"Coordinator: {other_coordinator.get_full_name()}")
    assert Patient.objects.get(pk=patient.pk).care_coordinator == other_coordinator
    assert set(Referral.objects.filter(patient=patient).values_list("coordinator", flat=True)) == {
        other_coordinator.pk
    }


def test_a_departing_colleagues_work_is_handed_off(
    screen_for, coordinator, other_coordinator, clinic
):
    """The departing colleague hands over before leaving (or an administrator does)."""
    screen = screen_for(coordinator)
    page = screen.open("/")
    expect(page.get_by_role("region", name="My referrals")).to_contain_text("Neurology")
    page.get_by_role("button", name="Hand off work").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("From")).to_have_value(str(coordinator.pk))
    dialog.get_by_label("To", exact=True).select_option(str(other_coordinator.pk))
    dialog.get_by_label("Reason").fill("Alice is leaving the clinic.")
    dialog.get_by_role("button", name="Hand off").click()
    expect(dialog).to_be_hidden()
    # None of it is hers any more.
    expect(page.get_by_role("region", name="My referrals")).to_contain_text(
        "No referrals need action."
    )
    assert not FollowUp.objects.filter(assigned_to=coordinator, status="open").exists()
    assert Patient.objects.get(pk=clinic["patient"].pk).care_coordinator == other_coordinator
