"""The provider's webhooks: delivery receipts and the patients' texts, each signed
with the provider's request validator; the standard keywords; replies that wait for
staff."""

import datetime as dt

import pytest
import time_machine

from messaging.models import Message
from messaging.services import dispatch_due, keyword_of, message_queue
from patients.models import CommunicationConsent
from referrals.models import FollowUp
from tests.messaging.conftest import reachable_patient

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)
STATUS_URL = "http://testserver/webhooks/sms/status/"
INBOUND_URL = "http://testserver/webhooks/sms/inbound/"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def sent_text(coordinator, patient, text="See you on Monday.") -> Message:
    message = message_queue(
        actor=coordinator,
        patient=patient,
        purpose="care_coordination",
        department="care_coordination",
        channel="sms",
        values={"text": text},
    )
    dispatch_due()
    message.refresh_from_db()
    return message


def receipt(client, provider, message, status, *, signature=None, **extra):
    url = f"{STATUS_URL}?key={message.idempotency_key}"
    fields = {
        "AccountSid": provider.account_sid,
        "MessageSid": message.provider_id,
        "MessageStatus": status,
        **extra,
    }
    headers = {
        "HTTP_X_TWILIO_SIGNATURE": provider.sign(url, fields) if signature is None else signature
    }
    return client.post(url, fields, **headers)


def text_from(client, provider, number, body, sid="SM" + "1" * 32, signature=None):
    fields = {"AccountSid": provider.account_sid, "MessageSid": sid, "From": number, "Body": body}
    sign = provider.sign(INBOUND_URL, fields) if signature is None else signature
    return client.post(INBOUND_URL, fields, HTTP_X_TWILIO_SIGNATURE=sign)


def test_a_signed_receipt_moves_the_message_to_delivered(client, coordinator, sms_provider):
    message = sent_text(coordinator, reachable_patient())
    assert message.status == "sent"
    response = receipt(client, sms_provider, message, "delivered")
    assert response.status_code == 204
    message.refresh_from_db()
    assert message.status == "delivered" and message.delivered_at == NOW
    assert message.events.last().details == {"provider_status": "delivered"}


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"])
def test_an_unsigned_or_wrongly_signed_receipt_is_refused_and_changes_nothing(
    client, coordinator, sms_provider, signature
):
    message = sent_text(coordinator, reachable_patient())
    events = message.events.count()
    response = receipt(client, sms_provider, message, "delivered", signature=signature)
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == "sent" and message.events.count() == events


def test_a_receipt_signed_for_other_fields_is_refused(client, coordinator, sms_provider):
    message = sent_text(coordinator, reachable_patient())
    url = f"{STATUS_URL}?key={message.idempotency_key}"
    signed = {
        "AccountSid": sms_provider.account_sid,
        "MessageSid": message.provider_id,
        "MessageStatus": "sent",
    }
    response = client.post(
        url,
        {**signed, "MessageStatus": "delivered"},
        HTTP_X_TWILIO_SIGNATURE=sms_provider.sign(url, signed),
    )
    assert response.status_code == 403


def test_late_and_repeated_receipts_do_not_move_a_message_back(client, coordinator, sms_provider):
    message = sent_text(coordinator, reachable_patient())
    receipt(client, sms_provider, message, "delivered")
    receipt(client, sms_provider, message, "delivered")
    receipt(client, sms_provider, message, "sent")
    message.refresh_from_db()
    assert message.status == "delivered"
    assert list(message.events.values_list("action", flat=True)) == [
        "create",
        "claim",
        "hand_off",
        "deliver",
    ]


def test_an_undelivered_receipt_for_a_landline_marks_it_undeliverable(
    client, coordinator, sms_provider
):
    message = sent_text(coordinator, reachable_patient())
    receipt(client, sms_provider, message, "undelivered", ErrorCode="30006")
    message.refresh_from_db()
    assert message.status == "undeliverable" and message.error_code == "30006"


def test_a_receipt_finds_its_message_by_key_when_the_worker_died_before_recording_it(
    client, coordinator, sms_provider
):
    message = sent_text(coordinator, reachable_patient())
    # As if the worker died after the provider took it: still sending, no provider id.
    Message.objects.filter(pk=message.pk).update(status="sending", provider_id="")
    message.refresh_from_db()
    message.provider_id = sms_provider.sent[0].sid
    receipt(client, sms_provider, message, "delivered")
    message.refresh_from_db()
    assert message.status == "delivered" and message.provider_id == sms_provider.sent[0].sid


@pytest.mark.parametrize(
    "word", ["STOP", "stop", " Stop. ", "STOPALL", "unsubscribe", "End", "QUIT"]
)
def test_stop_opts_the_number_out_of_all_sms_and_is_confirmed_once(
    client, coordinator, sms_provider, word, django_capture_on_commit_callbacks
):
    patient = reachable_patient()
    number = patient.contact_points.get(system="sms").value
    sent_text(coordinator, patient)
    with django_capture_on_commit_callbacks(execute=True):
        assert text_from(client, sms_provider, number, word).status_code == 200
    opt_outs = CommunicationConsent.objects.filter(
        patient=patient, channel="sms", status="opt_out"
    )
    assert opt_outs.count() == 5
    assert set(opt_outs.values_list("source", flat=True)) == {"patient_reply"}
    inbound = Message.objects.get(direction="inbound")
    assert inbound.keyword == "stop" and inbound.reply_to.direction == "outbound"
    assert inbound.interaction.direction == "inbound"
    confirmation = Message.objects.get(template="opted_out")
    assert confirmation.status == "sent" and "Reply START" in confirmation.body
    with django_capture_on_commit_callbacks(execute=True):
        text_from(client, sms_provider, number, "STOP", sid="SM" + "2" * 32)
    assert Message.objects.filter(template="opted_out").count() == 1
    # The next send is refused, with the reason.
    refused = message_queue(
        actor=None,
        patient=patient,
        purpose="appointment_reminders",
        department="care_coordination",
        channel="sms",
        template="appointment_reminder",
        sender="rule",
        rule="appointment_reminder",
        occasion="test",
    )
    assert refused.status == "refused" and refused.refusal_code == "opted_out"
    assert "opted out of sms" in refused.status_reason


def test_start_opts_back_in_and_help_answers_with_the_clinic(
    client, coordinator, sms_provider, settings, django_capture_on_commit_callbacks
):
    patient = reachable_patient()
    number = patient.contact_points.get(system="sms").value
    with django_capture_on_commit_callbacks(execute=True):
        text_from(client, sms_provider, number, "STOP", sid="SM" + "3" * 32)
        text_from(client, sms_provider, number, "unstop", sid="SM" + "4" * 32)
        text_from(client, sms_provider, number, "help", sid="SM" + "5" * 32)
    assert not CommunicationConsent.objects.filter(patient=patient, status="opt_out").exists()
    assert CommunicationConsent.objects.filter(patient=patient, status="opt_in").count() == 5
    bodies = [m.body for m in Message.objects.filter(direction="outbound").order_by("id")]
    assert len(bodies) == 3
    assert settings.CLINIC_NAME in bodies[2] and settings.CLINIC_PHONE in bodies[2]
    assert not FollowUp.objects.filter(kind="answer_message").exists()


def test_any_other_reply_opens_one_follow_up_for_the_owning_queue_until_staff_answer(
    client, api, coordinator, sms_provider
):
    patient = reachable_patient()
    number = patient.contact_points.get(system="sms").value
    sent_text(coordinator, patient)
    text_from(client, sms_provider, number, "Can I come at 3 instead?", sid="SM" + "6" * 32)
    text_from(client, sms_provider, number, "Or Tuesday?", sid="SM" + "7" * 32)
    [follow_up] = FollowUp.objects.filter(kind="answer_message")
    assert follow_up.queue == "care_coordination" and follow_up.status == "open"
    assert follow_up.due_at == NOW + dt.timedelta(hours=4)
    assert "Or Tuesday?" in follow_up.note
    inbox = api.get("/api/messages/inbox/").json()["results"]
    assert [m["body"] for m in inbox] == ["Can I come at 3 instead?", "Or Tuesday?"]
    assert inbox[0]["answer_due"] is not None
    reply = api.post(
        f"/api/messages/{inbox[1]['id']}/reply/", {"text": "Tuesday 3pm works."}, "json"
    )
    assert reply.status_code == 201, reply.json()
    follow_up.refresh_from_db()
    assert follow_up.status == "done"
    assert api.get("/api/messages/inbox/").json()["results"] == []
    thread = api.get(f"/api/messages/{reply.json()['id']}/conversation/").json()
    assert [m["direction"]["value"] for m in thread] == [
        "outbound",
        "inbound",
        "inbound",
        "outbound",
    ]


def test_the_same_inbound_text_delivered_twice_is_kept_once(client, coordinator, sms_provider):
    patient = reachable_patient()
    number = patient.contact_points.get(system="sms").value
    text_from(client, sms_provider, number, "Hello?", sid="SM" + "8" * 32)
    text_from(client, sms_provider, number, "Hello?", sid="SM" + "8" * 32)
    assert Message.objects.filter(direction="inbound").count() == 1
    assert FollowUp.objects.filter(kind="answer_message").count() == 1


def test_an_unsigned_inbound_text_is_refused(client, sms_provider):
    patient = reachable_patient()
    number = patient.contact_points.get(system="sms").value
    assert text_from(client, sms_provider, number, "STOP", signature="").status_code == 403
    assert not Message.objects.exists()
    assert not CommunicationConsent.objects.exists()


@pytest.mark.parametrize(
    "text, keyword",
    [
        ("STOP", "stop"),
        ("stop!", "stop"),
        ("Stop sending", ""),
        ("start", "start"),
        ("HELP?", "help"),
        ("Cancel", ""),  # the appointment, for staff to read
        ("Yes", ""),
        ("", ""),
    ],
)
def test_keywords_are_whole_texts(text, keyword):
    assert keyword_of(text) == keyword
