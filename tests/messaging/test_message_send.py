"""Staff send a text or an email from the app: the contact policy decides, the text is
in the patient's language, a worker hands it to the provider, and it is on the
timeline with its status."""

import datetime as dt
import json

import pytest
import time_machine

from interactions.models import Interaction
from messaging.models import Message
from patients.models import CommunicationConsent
from tests.conftest import client_for
from tests.messaging.conftest import reachable_patient

pytestmark = pytest.mark.django_db

# 15:00 in New York: inside anyone's hours.
NOW = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def send(api, patient, *, path="/api/messages/", **body):
    return api.post(
        path, {"patient_id": patient.pk, "purpose": "care_coordination", **body}, "json"
    )


def preview(api, patient, **body):
    return send(api, patient, path="/api/messages/preview/", **body)


def test_a_vietnamese_text_goes_out_in_vietnamese(
    api, sms_provider, django_capture_on_commit_callbacks
):
    patient = reachable_patient("vi")
    with django_capture_on_commit_callbacks(execute=True):
        response = send(api, patient, channel="sms", template="callback_missed")
    assert response.status_code == 201, response.json()
    message = Message.objects.get(pk=response.json()["id"])
    assert message.status == "sent"
    assert message.language_used == "vi" and not message.fallback
    assert "Vui lòng gọi lại cho chúng tôi" in message.body
    [sent] = sms_provider.sent
    assert sent.body == message.body
    assert sent.to == patient.contact_points.get(system="sms").value
    assert sent.key == str(message.idempotency_key)
    assert message.provider_id == sent.sid
    assert (message.segments, message.encoding) == (2, "UCS-2")  # Vietnamese diacritics
    assert message.interaction.channel == "sms" and message.interaction.direction == "outbound"
    assert list(message.events.values_list("action", flat=True)) == ["create", "claim", "hand_off"]


def test_an_email_is_multipart_from_the_clinic_with_its_reply_to(
    api, smtp_server, django_capture_on_commit_callbacks, settings
):
    patient = reachable_patient("es")
    with django_capture_on_commit_callbacks(execute=True):
        response = send(api, patient, channel="email", template="callback_missed")
    assert response.status_code == 201, response.json()
    message = Message.objects.get(pk=response.json()["id"])
    assert message.status == "sent"
    [(recipients, email)] = smtp_server.received
    assert recipients == [f"p{patient.pk}@example.org"]
    assert email["Subject"] == "Intentamos llamarle"
    assert email["Reply-To"] == settings.CLINIC_REPLY_TO
    assert email["Message-ID"] == f"<{message.idempotency_key}@clinic.example>"
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert "Intentamos comunicarnos con usted" in text and settings.CLINIC_ADDRESS in text
    assert 'lang="es"' in html and "Intentamos comunicarnos con usted" in html


def test_free_text_is_sent_as_written(api, sms_provider, django_capture_on_commit_callbacks):
    patient = reachable_patient()
    with django_capture_on_commit_callbacks(execute=True):
        response = send(api, patient, channel="sms", text="Your forms are ready at the desk.")
    assert response.status_code == 201, response.json()
    assert sms_provider.sent[0].body.endswith(": Your forms are ready at the desk.")
    assert response.json()["segments"] == 1 and response.json()["encoding"] == "GSM-7"


def test_an_opted_out_channel_is_refused_with_the_reason_and_nothing_is_written(api, sms_provider):
    patient = reachable_patient()
    CommunicationConsent.objects.create(
        patient=patient,
        channel="sms",
        purpose="care_coordination",
        status="opt_out",
        source="phone",
    )
    response = send(api, patient, channel="sms", template="callback_missed")
    assert response.status_code == 409
    assert response.json()["code"] == "contact_not_permitted"
    assert "opted out of sms" in response.json()["errors"]["channel"][0]
    assert not Message.objects.exists() and not Interaction.objects.exists()
    assert sms_provider.sent == []


def test_with_no_channel_named_the_policy_falls_back_to_email(
    api, smtp_server, django_capture_on_commit_callbacks
):
    patient = reachable_patient(preferred_channel="sms")
    CommunicationConsent.objects.create(
        patient=patient,
        channel="sms",
        purpose="care_coordination",
        status="opt_out",
        source="phone",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = send(api, patient, template="callback_missed")
    assert response.status_code == 201, response.json()
    assert response.json()["channel"]["value"] == "email"
    assert len(smtp_server.received) == 1


def test_the_preview_shows_the_text_and_the_policy_answer_and_sends_nothing(api, sms_provider):
    patient = reachable_patient("zh-Hant")
    response = preview(api, patient, template="callback_missed", channel="sms")
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["allowed"] is True and answer["language_used"] == "zh-Hant"
    assert "請回電" in answer["body"] and answer["encoding"] == "UCS-2"
    assert not Message.objects.exists() and sms_provider.sent == []


def test_a_language_with_no_catalog_falls_back_to_english_and_says_so(api, sms_provider):
    patient = reachable_patient("fr")
    response = preview(api, patient, template="callback_missed", channel="sms")
    assert response.json()["language_used"] == "en" and response.json()["fallback"] is True


def test_billing_sends_for_billing_only(billing, sms_provider):
    patient = reachable_patient()
    api = client_for(billing)
    refused = send(api, patient, channel="sms", text="Hi", department="pharmacy")
    assert refused.status_code == 403
    allowed = send(api, patient, channel="sms", text="Your statement is ready.", purpose="billing")
    assert allowed.status_code == 201, allowed.json()
    assert allowed.json()["department"]["value"] == "billing"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"template": "general"}, "text"),
        ({"template": "opted_out"}, "template"),
        ({"channel": "phone"}, "channel"),
        ({"purpose": "nonsense"}, "purpose"),
        ({"text": "x" * 1601}, "text"),
    ],
)
def test_bad_input_is_a_400_with_the_field(api, body, field):
    patient = reachable_patient()
    response = send(api, patient, **body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not Message.objects.exists()


def test_a_queued_message_can_be_cancelled_but_not_twice(api, sms_provider):
    patient = reachable_patient()
    response = send(api, patient, channel="sms", text="See you soon.")
    message_id = response.json()["id"]  # queued: the commit hook did not run
    cancelled = api.post(
        f"/api/messages/{message_id}/cancel/", {"reason": "Wrong patient."}, "json"
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"]["value"] == "cancelled"
    again = api.post(f"/api/messages/{message_id}/cancel/", {"reason": "Again."}, "json")
    assert again.status_code == 409


def test_the_development_backend_writes_texts_to_the_outbox_and_counts_them_delivered(
    api, sms_outbox, django_capture_on_commit_callbacks
):
    patient = reachable_patient("vi")
    with django_capture_on_commit_callbacks(execute=True):
        response = send(api, patient, channel="sms", template="callback_missed")
    message = Message.objects.get(pk=response.json()["id"])
    assert message.status == "delivered"
    [line] = sms_outbox.read_text(encoding="utf-8").splitlines()
    written = json.loads(line)
    assert (written["body"], written["language"]) == (message.body, "vi")


def test_a_broker_that_cannot_be_reached_does_not_fail_the_send(
    api, monkeypatch, django_capture_on_commit_callbacks
):
    from messaging.tasks import dispatch

    def unreachable():
        raise ConnectionError("broker down")

    monkeypatch.setattr(dispatch, "delay", unreachable)
    patient = reachable_patient()
    with django_capture_on_commit_callbacks(execute=True):
        response = send(api, patient, channel="sms", text="See you Monday.")
    assert response.status_code == 201
    assert Message.objects.get().status == "queued"  # the scheduled run sends it


def test_a_message_outside_the_patients_window_waits_and_the_preview_says_until_when(
    api, sms_provider, django_capture_on_commit_callbacks
):
    patient = reachable_patient(contact_window_start=dt.time(17), contact_window_end=dt.time(19))
    answer = preview(api, patient, channel="sms", text="Hello").json()
    opens = "2026-12-01T22:00:00Z"  # 17:00 in New York
    assert answer["allowed"] is True and answer["send_after"] == opens
    with django_capture_on_commit_callbacks(execute=True):
        response = send(api, patient, channel="sms", text="Hello")
    assert response.json()["send_after"] == opens and sms_provider.sent == []
