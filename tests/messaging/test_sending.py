"""The send pipeline: batches, the contact window, retries, failures, and the queries a
batch costs."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import Message
from messaging.services import dispatch_due, message_queue
from patients.models import CommunicationConsent
from referrals.models import FollowUp
from tests.messaging.conftest import reachable_patient

pytestmark = pytest.mark.django_db

# 02:00 in New York.
NIGHT = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)
DAY = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)


def automated(patient, occasion="o1", **fields):
    return message_queue(
        actor=None,
        patient=patient,
        purpose="appointment_reminders",
        department="care_coordination",
        channel="sms",
        template="appointment_reminder",
        values={"at": "2026-12-03T15:30:00+00:00"},
        sender="rule",
        rule="appointment_reminder",
        occasion=occasion,
        **fields,
    )


def test_an_automated_message_due_at_night_waits_for_the_patients_morning(sms_provider):
    patient = reachable_patient()
    with time_machine.travel(NIGHT, tick=False):
        message = automated(patient)
        assert message.send_after == dt.datetime(2026, 12, 1, 13, 0, tzinfo=dt.UTC)  # 08:00
        assert dispatch_due() == {}
    with time_machine.travel(dt.datetime(2026, 12, 1, 13, 0, 1, tzinfo=dt.UTC), tick=False):
        assert dispatch_due() == {"hand_off": 1}
    [sent] = sms_provider.sent
    assert "Thu, Dec 3, 2026 at 10:30 AM" in sent.body  # in the patient's zone


def test_the_patients_own_window_is_kept(sms_provider):
    patient = reachable_patient(contact_window_start=dt.time(17), contact_window_end=dt.time(19))
    with time_machine.travel(DAY, tick=False):  # 15:00 in New York
        message = automated(patient)
    assert message.send_after == dt.datetime(2026, 12, 1, 22, 0, tzinfo=dt.UTC)


def test_a_temporary_failure_is_retried_with_backoff_then_sent_once(sms_provider):
    patient = reachable_patient()
    sms_provider.failures = [500, 429]
    with time_machine.travel(DAY, tick=False) as clock:
        message = automated(patient)
        assert dispatch_due() == {"retry": 1}
        message.refresh_from_db()
        assert message.status == "queued" and message.send_after == DAY + dt.timedelta(minutes=1)
        clock.shift(dt.timedelta(minutes=1))
        assert dispatch_due() == {"retry": 1}
        message.refresh_from_db()
        assert message.send_after == DAY + dt.timedelta(minutes=5)  # 1 + 4
        clock.shift(dt.timedelta(minutes=4))
        assert dispatch_due() == {"hand_off": 1}
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 3
    assert len(sms_provider.sent) == 1


def test_retries_stop_after_the_last_attempt_and_a_person_is_told(settings, sms_provider):
    settings.MESSAGE_ATTEMPTS = 2
    patient = reachable_patient()
    sms_provider.failures = [503, 503]
    with time_machine.travel(DAY, tick=False) as clock:
        message = automated(patient)
        dispatch_due()
        clock.shift(dt.timedelta(minutes=1))
        assert dispatch_due() == {"fail": 1}
    message.refresh_from_db()
    assert message.status == "failed" and message.failed_at is not None
    follow_up = FollowUp.objects.get(patient=patient)
    assert follow_up.kind == "appointment_reminder" and "Try again" in follow_up.note


def test_an_invalid_number_fails_at_once_without_retrying(sms_provider):
    patient = reachable_patient()
    patient.contact_points.filter(system="sms").update(value="+1555")
    with time_machine.travel(DAY, tick=False):
        message = automated(patient)
        assert dispatch_due() == {"bounce": 1}
    message.refresh_from_db()
    assert message.status == "undeliverable" and message.error_code == "21211"
    assert message.attempts == 1


def test_consent_withdrawn_after_queueing_refuses_at_send_time_or_falls_back(
    sms_provider, smtp_server
):
    patient = reachable_patient()
    with time_machine.travel(DAY, tick=False):
        message = automated(patient)
        CommunicationConsent.objects.create(
            patient=patient,
            channel="sms",
            purpose="appointment_reminders",
            status="opt_out",
            source="phone",
        )
        assert dispatch_due() == {"hand_off": 1}
    message.refresh_from_db()
    assert message.channel == "email" and "Sent by email instead" in message.status_reason
    assert sms_provider.sent == [] and len(smtp_server.received) == 1


def test_a_message_for_an_occasion_already_sent_for_is_not_written_again(sms_provider):
    patient = reachable_patient()
    with time_machine.travel(DAY, tick=False):
        first = automated(patient)
        second = automated(patient)
    assert first.pk == second.pk and Message.objects.count() == 1


def make_due(count: int) -> None:
    for i in range(count):
        automated(reachable_patient("es" if i % 2 else "vi"), occasion=f"o{i}")


@pytest.mark.parametrize("count", [3, 30])
def test_a_batch_costs_the_same_queries_whatever_its_size(sms_provider, count):
    with time_machine.travel(DAY, tick=False):
        make_due(count)
        with CaptureQueriesContext(connection) as queries:
            assert dispatch_due() == {"hand_off": count}
    # claim (select, update, read back, events), load (messages with patients and
    # referrals, and the patients' consents, contact points, languages), record (lock,
    # one update per outcome, one for the provider's ids, events), and the transactions.
    assert len(queries) == BATCH_QUERIES[connection.vendor]


BATCH_QUERIES = {"postgresql": 16, "sqlite": 16}


def test_a_message_goes_out_in_the_language_the_patient_has_when_it_is_sent(sms_provider):
    patient = reachable_patient("en")
    with time_machine.travel(DAY, tick=False):
        message = automated(patient)
        patient.languages.update(language="es")
        dispatch_due()
    message.refresh_from_db()
    assert (message.language, message.language_used) == ("es", "es")
    assert sms_provider.sent[0].body == message.body and "recordatorio" in message.body


def worker_dies_before_recording(monkeypatch) -> None:
    """Dispatch as a worker that is killed after the provider calls, before it writes
    what happened: its messages stay claimed, in sending."""

    def killed(*args, **kwargs):
        raise SystemExit("killed")

    with monkeypatch.context() as patch:
        patch.setattr("messaging.services._record", killed)
        with pytest.raises(SystemExit):
            dispatch_due()


def test_a_text_the_provider_took_before_its_worker_died_is_found_not_sent_again(
    settings, monkeypatch, sms_provider
):
    patient = reachable_patient()
    with time_machine.travel(DAY, tick=False) as clock:
        message = automated(patient)
        worker_dies_before_recording(monkeypatch)
        [sent] = sms_provider.sent
        message.refresh_from_db()
        assert message.status == "sending" and not message.provider_id
        assert dispatch_due() == {}  # its lease has not run out
        clock.shift(dt.timedelta(seconds=settings.MESSAGE_LEASE_SECONDS + 1))
        assert dispatch_due() == {"hand_off": 1}
    assert len(sms_provider.sent) == 1
    message.refresh_from_db()
    assert message.status == "sent" and message.provider_id == sent.sid
    assert message.unconfirmed_since is None
    assert "not sent again" in message.events.get(action="hand_off").reason


def test_a_text_whose_worker_died_before_the_provider_took_it_is_sent_once(
    settings, monkeypatch, sms_provider
):
    patient = reachable_patient()
    with time_machine.travel(DAY, tick=False) as clock:
        message = automated(patient)
        sms_provider.failures = [503]  # the earlier attempt never reached the provider
        worker_dies_before_recording(monkeypatch)
        assert sms_provider.sent == []
        clock.shift(dt.timedelta(seconds=settings.MESSAGE_LEASE_SECONDS + 1))
        assert dispatch_due() == {"hand_off": 1}
    [sent] = sms_provider.sent
    message.refresh_from_db()
    assert message.status == "sent" and message.provider_id == sent.sid
    assert message.attempts == 2


def test_a_reclaimed_text_waits_while_the_provider_cannot_say_whether_it_has_it(
    settings, monkeypatch, sms_provider
):
    patient = reachable_patient()
    with time_machine.travel(DAY, tick=False) as clock:
        message = automated(patient)
        worker_dies_before_recording(monkeypatch)
        clock.shift(dt.timedelta(seconds=settings.MESSAGE_LEASE_SECONDS + 1))
        sms_provider.failures = [500]  # the lookup fails
        assert dispatch_due() == {"retry": 1}
        message.refresh_from_db()
        assert message.status == "queued" and message.unconfirmed_since == DAY
        clock.shift(dt.timedelta(minutes=1))
        assert dispatch_due() == {"hand_off": 1}
    assert len(sms_provider.sent) == 1
    message.refresh_from_db()
    assert message.provider_id == sms_provider.sent[0].sid
