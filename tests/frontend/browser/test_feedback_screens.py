"""Complaints and surveys in the app: taken, worked and sent the way staff would."""

import re

import pytest
from playwright.sync_api import expect

from interactions.models import Complaint, SurveyInvitation
from patients.models import CommunicationConsent
from tests.factories import ContactPointFactory

pytestmark = pytest.mark.django_db(transaction=True)


def open_feedback(screen, patient):
    page = screen.open(f"/patients/{patient.pk}/")
    page.get_by_role("tab", name="Feedback and complaints").click()
    return page


def step(page, card, action, fill=None):
    card.get_by_role("button", name=action).click()
    dialog = page.get_by_role("dialog")
    for label, value in (fill or {}).items():
        if value is True:
            dialog.get_by_label(label).check()
        else:
            dialog.get_by_label(label).fill(value)
    dialog.get_by_role("button", name=action).click()
    expect(dialog).to_be_hidden()


def test_a_complaint_is_taken_and_worked_to_closed_and_reopened(screen_for, coordinator, clinic):
    patient = clinic["patient"]
    screen = screen_for(coordinator)
    page = open_feedback(screen, patient)
    page.get_by_role("button", name="Take a complaint").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Category").select_option("billing")
    dialog.get_by_label("Department concerned").select_option("billing")
    dialog.get_by_label("What the patient said").fill("Charged twice for the March visit.")
    screen.capture("complaint-take-dialog")
    dialog.get_by_role("button", name="Save complaint").click()
    expect(dialog).to_be_hidden()

    complaint = Complaint.objects.get(patient=patient)
    card = page.locator(f"[data-complaint='{complaint.pk}']")
    expect(card).to_contain_text("New")
    expect(card).to_contain_text("First response due")
    step(page, card, "Acknowledge", {"Reason": "Told her we would look into it today."})
    expect(card).to_contain_text("Acknowledged")
    expect(card).to_contain_text("Resolution due")
    step(page, card, "Investigate")
    step(
        page,
        card,
        "Resolve",
        {
            "How it was resolved": "Refunded the duplicate charge.",
            "The patient was told of the resolution": True,
        },
    )
    expect(card).to_contain_text("Resolution: Refunded the duplicate charge. (patient informed)")
    step(page, card, "Close")
    expect(card).to_contain_text("Closed")
    screen.capture_both_sizes("complaint-closed")
    step(page, card, "Reopen", {"Reason": "She called again: the refund never arrived."})
    expect(card).to_contain_text("Investigating")

    complaint.refresh_from_db()
    assert complaint.status == "investigating" and complaint.patient_informed
    assert complaint.owner == coordinator
    actions = list(complaint.events.order_by("id").values_list("action", flat=True))
    assert actions[-5:] == ["acknowledge", "investigate", "resolve", "close", "reopen"]

    # The worklist shows it in progress, with the patient one click away.
    page.get_by_role("link", name="Complaints").click()
    in_progress = page.get_by_role("region", name=re.compile("under investigation"))
    expect(in_progress).to_contain_text("Billing")
    screen.capture_both_sizes("complaint-worklist")
    in_progress.get_by_role("link", name=re.compile("Lucía Gómez")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lucía Gómez")


def test_a_survey_is_sent_where_the_policy_allows_and_the_refusal_says_why(
    screen_for, coordinator, clinic
):
    patient = clinic["patient"]
    CommunicationConsent.objects.create(
        patient=patient,
        channel="sms",
        purpose="surveys",
        status="opt_out",
        source="phone",
        captured_by=coordinator,
    )
    ContactPointFactory(patient=patient, system="email", value="lucia@example.org", rank=2)
    screen = screen_for(coordinator)
    page = open_feedback(screen, patient)
    page.get_by_role("button", name="Send a survey").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Send by").select_option("sms")
    dialog.get_by_role("button", name="Send survey").click()
    expect(dialog.get_by_role("alert")).to_contain_text("opted out")
    assert not SurveyInvitation.objects.exists()

    dialog.get_by_label("Send by").select_option("email")
    dialog.get_by_role("button", name="Send survey").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Survey queued by Email")).to_be_visible()
    invitation = SurveyInvitation.objects.get()
    assert (invitation.channel, invitation.patient) == ("email", patient)
