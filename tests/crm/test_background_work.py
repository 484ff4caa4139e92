"""Background work on Celery: in-process without a broker (the embedded default), and
a real worker process on the real Redis, found by the health check."""

import datetime
import os
import subprocess
import sys
import uuid

import pytest
from celery import Celery
from django.conf import settings
from django.utils import timezone

from crm.celery import app as celery_app
from referrals.models import FollowUp
from referrals.tasks import run_care_rules
from tests.referrals.helpers import walk
from tests.workers import start_worker, until, worker_env


def visit_passed(actor):
    """A referral whose appointment was yesterday with no outcome recorded: the care
    rules ask someone to confirm the visit."""
    now = timezone.now()
    day = datetime.timedelta(days=1)
    return walk(
        actor,
        [
            ("create", now - 5 * day, {}),
            ("send", now - 4 * day, {}),
            ("accept", now - 3 * day, {}),
            ("schedule", now - 2 * day, {"appointment_at": now - day}),
        ],
    )


def confirmations(referral):
    return FollowUp.objects.filter(referral=referral, rule="visit_confirmation")


@pytest.mark.django_db
def test_without_a_broker_a_task_runs_in_the_process_that_queues_it(coordinator):
    assert settings.CELERY_TASK_ALWAYS_EAGER
    referral = visit_passed(coordinator)
    run_care_rules.delay()
    assert confirmations(referral).count() == 1


def test_beat_runs_the_care_rules_with_a_registered_task():
    schedule = settings.CELERY_BEAT_SCHEDULE["care-rules"]
    assert schedule["task"] in celery_app.tasks
    assert schedule["schedule"] >= 10


def manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=settings.BASE_DIR,
    )


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_queued_work_and_the_health_check_sees_it(coordinator, redis_broker):
    referral = visit_passed(coordinator)
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = worker_env()
    worker = start_worker(env, queue)
    try:
        health = until(lambda: (r := manage(env, "worker_health")).returncode == 0 and r)
        assert health, "no worker answered the health check"
        assert queue in health.stdout

        # Queued by another process, run by the worker, seen in the database.
        Celery(broker=redis_broker).send_task("referrals.run_care_rules", queue=queue)
        assert until(lambda: confirmations(referral).exists()), "the worker did not run it"
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    down = manage(env, "worker_health", "--timeout", "1")
    assert down.returncode == 1 and "No worker answered" in down.stderr


def test_the_health_check_says_when_no_broker_is_configured():
    result = manage(
        {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}, "worker_health"
    )
    assert result.returncode == 0 and "no worker is needed" in result.stdout
