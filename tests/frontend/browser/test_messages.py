"""Texts from the app, in Chromium: a coordinator previews and sends a Vietnamese text
from the patient's page and sees it delivered on the timeline; the patient's reply
waits in the inbox and is answered from the conversation; a refused channel is
explained before anything is sent."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from messaging.models import Message
from patients.models import CommunicationConsent
from referrals.models import FollowUp
from tests.factories import ContactPointFactory, LanguageFactory, PatientFactory
from tests.messaging.conftest import provider_double

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def provider(settings, live_server):
    """The SMS provider played on loopback; its receipts come to the live server."""
    with provider_double(settings, live_server.url) as double:
        yield double


@pytest.fixture
def patient(coordinator):
    patient = PatientFactory(
        given_name="Minh",
        family_name="Nguyen",
        time_zone="America/New_York",
        contact_window_start=datetime.time(0),
        contact_window_end=datetime.time(23, 59),
        care_coordinator=coordinator,
    )
    LanguageFactory(patient=patient, language="vi")
    ContactPointFactory(patient=patient, system="sms", use="mobile", value="+16175550177")
    return patient


def test_a_vietnamese_text_is_previewed_sent_and_delivered(
    screen_for, coordinator, patient, provider
):
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{patient.pk}/")
    page.get_by_role("button", name="Send a message").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("What to send").select_option("callback_missed")
    dialog.get_by_label("Send by").select_option("sms")
    preview = dialog.locator("#message-preview")
    expect(preview).to_contain_text("in Vietnamese")
    expect(preview).to_contain_text("Vui lòng gọi lại cho chúng tôi")
    expect(preview).to_contain_text("UCS-2")
    expect(preview).not_to_contain_text("null")
    screen.capture("message-send-preview")
    dialog.get_by_role("button", name="Send").click()
    expect(dialog).to_be_hidden()

    message = Message.objects.get(patient=patient)
    item = page.locator(f"[data-interaction='{message.interaction_id}']")
    expect(item).to_contain_text("Vui lòng gọi lại")
    provider.wait_for_receipts()
    page.reload()
    item = page.locator(f"[data-interaction='{message.interaction_id}']")
    expect(item.locator(".message-status")).to_contain_text("Delivered")
    screen.capture("message-delivered-on-timeline")
    message.refresh_from_db()
    assert message.status == "delivered" and message.language_used == "vi"
    assert [sent.body for sent in provider.sent] == [message.body]


def test_a_patients_reply_is_answered_from_the_inbox(
    screen_for, coordinator, patient, provider, live_server
):
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{patient.pk}/")
    page.get_by_role("button", name="Send a message").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Text (for a general message)").fill(
        "Xin chào, lịch hẹn của bạn là thứ Hai."
    )
    dialog.get_by_role("button", name="Send").click()
    expect(dialog).to_be_hidden()
    status, _ = provider.text_from(
        "+16175550177",
        "Tôi có thể đến lúc 3 giờ không?",
        webhook=f"{live_server.url}/webhooks/sms/inbound/",
    )
    assert status == 200

    page = screen.open("/inbox/")
    item = page.locator("li[data-message]").first
    expect(item).to_contain_text("Tôi có thể đến lúc 3 giờ không?")
    expect(item).to_contain_text("Minh Nguyen")
    screen.capture("inbox")
    item.get_by_role("link", name="Open the conversation").click()
    page.get_by_label("Reply").fill("Vâng, 3 giờ chiều được ạ.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".bubble.outbound").last).to_contain_text("Vâng, 3 giờ chiều được ạ.")
    screen.capture("conversation")

    follow_up = FollowUp.objects.get(patient=patient, kind="answer_message")
    assert follow_up.status == "done"
    assert Message.objects.get(direction="inbound").answered_at is not None
    page = screen.open("/inbox/")
    expect(page.get_by_text("Nothing waiting for an answer.")).to_be_visible()


def test_a_refused_channel_is_explained_before_sending(screen_for, coordinator, patient, provider):
    CommunicationConsent.objects.create(
        patient=patient,
        channel="sms",
        purpose="care_coordination",
        status="opt_out",
        source="phone",
        captured_at=timezone.now(),
    )
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{patient.pk}/")
    page.get_by_role("button", name="Send a message").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("What to send").select_option("callback_missed")
    dialog.get_by_label("Send by").select_option("sms")
    expect(dialog.locator("#message-preview")).to_contain_text(
        "Will not be sent: The patient opted out of sms"
    )
    screen.capture("message-refused-preview")
    dialog.get_by_role("button", name="Send").click()
    expect(dialog.get_by_role("alert")).to_contain_text("opted out")
    assert not Message.objects.exists() and provider.sent == []
