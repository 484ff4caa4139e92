"""Sent at most once, attempted at least once: a real worker is killed in the middle of
a batch of 1,000 texts, with no receipts to tell what the provider took; another one
finishes the job; the provider saw every text exactly once, and every message ends
sent."""

import os
import signal
import uuid

import pytest
from celery import Celery
from django.utils import timezone

from interactions.choices import Direction
from messaging.models import Message
from patients.models import ContactPoint, Patient
from tests.messaging.conftest import CLINIC_NUMBER, provider_double
from tests.workers import start_worker, until, worker_env

COUNT = 1000
BATCH = 50


def queue_texts(count: int) -> None:
    now = timezone.now()
    patients = Patient.objects.bulk_create(
        Patient(mrn=f"X{i:07d}", given_name="Ana", family_name="Lee", birth_date="1980-01-01")
        for i in range(count)
    )
    ContactPoint.objects.bulk_create(
        ContactPoint(patient=p, system="sms", use="mobile", value=f"+1617{i:07d}")
        for i, p in enumerate(patients)
    )
    Message.objects.bulk_create(
        Message(
            patient=p,
            channel="sms",
            direction=Direction.OUTBOUND,
            purpose="care_coordination",
            department="care_coordination",
            template="general",
            context={"text": f"Message {i}"},
            body=f"Clinic: message {i}",
            address=f"+1617{i:07d}",
            sender="staff",
            send_after=now,
            created_at=now,
        )
        for i, p in enumerate(patients)
    )


@pytest.fixture
def provider(settings):
    """A provider that stops answering after a third of the texts, so the worker is
    killed in the middle of its work, and posts no receipts: only the provider itself
    can say which texts of the dead worker's batch it took."""
    with provider_double(
        settings, "http://testserver", hold_after=COUNT // 3, callbacks=False
    ) as double:
        yield double


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_sends_nothing_twice_and_loses_nothing(provider, redis_broker):
    queue_texts(COUNT)
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = worker_env(
        SMS_BACKEND="twilio",
        TWILIO_ACCOUNT_SID=provider.account_sid,
        TWILIO_AUTH_TOKEN=provider.auth_token,
        TWILIO_FROM_NUMBER=CLINIC_NUMBER,
        TWILIO_API_BASE_URL=provider.url,
        PUBLIC_BASE_URL="http://testserver",
        MESSAGES_PER_BATCH=str(BATCH),
        MESSAGE_LEASE_SECONDS="3",
    )
    broker = Celery(broker=redis_broker)

    first = start_worker(env, queue)
    try:
        broker.send_task("messaging.dispatch", queue=queue)
        assert provider.holding.wait(timeout=120), "the worker sent nothing"
        os.kill(first.pid, signal.SIGKILL)  # waiting on the provider, mid-batch
    finally:
        first.kill()
        first.wait(timeout=30)
    provider.hold_after = None
    provider.release()
    assert len(provider.sent) == COUNT // 3
    # The batches the dead worker finished are recorded; of the one it was in, the
    # provider took some texts that the worker never recorded.
    recorded = COUNT // 3 // BATCH * BATCH
    assert Message.objects.filter(status="sent").count() == recorded
    assert Message.objects.filter(status="sending").count() == BATCH

    second = start_worker(env, queue)
    try:

        def finished():
            broker.send_task("messaging.dispatch", queue=queue)
            return not Message.objects.filter(status__in=["queued", "sending"]).exists()

        assert until(finished, seconds=180), "the second worker did not finish"
    finally:
        second.terminate()
        second.wait(timeout=30)

    keys = [sent.key for sent in provider.sent]
    assert len(keys) == COUNT, f"{len(keys) - COUNT} texts sent twice"
    assert set(keys) == {str(k) for k in Message.objects.values_list("idempotency_key", flat=True)}
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
    found = Message.objects.filter(events__reason__contains="not sent again")
    assert found.count() == COUNT // 3 - recorded
