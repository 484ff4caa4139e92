"""The health checks: the load balancer's (database and broker) and the monitoring's
(also a worker that beat within the last minute), each one query and one Redis read."""

import time
import uuid
from unittest import mock

import pytest
import redis
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import override_settings

from crm.celery import HEARTBEAT_KEY
from tests.replica import replica_down
from tests.workers import start_worker, until, worker_env

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(redis_broker):
    """The web process configured with the real Redis as its broker, and no heartbeat
    recorded yet."""
    client = redis.Redis.from_url(redis_broker)
    client.delete(HEARTBEAT_KEY)
    with override_settings(CELERY_BROKER_URL=redis_broker, CELERY_TASK_ALWAYS_EAGER=False):
        yield client
    client.delete(HEARTBEAT_KEY)
    client.close()


def test_it_answers_ok_without_a_broker_in_one_query(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {
            "database": "ok",
            "broker": "not used",
            "worker": "not used",
            "replica": "not used",
        },
    }
    assert "no-cache" in response["Cache-Control"]
    assert client.get("/health/worker/").status_code == 200


def test_it_answers_503_naming_the_database_when_the_database_fails(client):
    with mock.patch.object(CursorWrapper, "execute", side_effect=OperationalError("gone")):
        response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {
            "database": "unavailable",
            "broker": "not used",
            "worker": "not used",
            "replica": "not used",
        },
    }


def test_a_fresh_heartbeat_is_a_live_worker(client, broker, django_assert_num_queries):
    broker.set(HEARTBEAT_KEY, time.time() - 5)
    with django_assert_num_queries(1):
        response = client.get("/health/worker/")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "worker": "ok",
        "replica": "not used",
    }


def test_a_stale_worker_fails_only_the_monitoring_check(client, broker):
    broker.set(HEARTBEAT_KEY, time.time() - 61)
    for_balancer = client.get("/health/")
    assert for_balancer.status_code == 200
    assert for_balancer.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "worker": "stale", "replica": "not used"},
    }
    for_monitoring = client.get("/health/worker/")
    assert for_monitoring.status_code == 503
    assert for_monitoring.json()["status"] == "unavailable"


def test_no_heartbeat_at_all_is_a_stale_worker(client, broker):
    assert client.get("/health/").json()["checks"]["worker"] == "stale"
    assert client.get("/health/worker/").status_code == 503


def test_an_unreachable_broker_takes_the_web_process_out_of_rotation(client):
    # Nothing listens on port 1; the connection is refused at once.
    with override_settings(
        CELERY_BROKER_URL="redis://127.0.0.1:1/0", CELERY_TASK_ALWAYS_EAGER=False
    ):
        response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "broker": "unavailable",
        "worker": "unknown",
        "replica": "not used",
    }


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_replica_that_does_not_answer_fails_only_the_monitoring_check(client, settings):
    settings.READ_REPLICA = True
    assert client.get("/health/worker/").json()["checks"]["replica"] == "ok"
    with replica_down():
        for_balancer = client.get("/health/")
        for_monitoring = client.get("/health/worker/")
    assert for_balancer.status_code == 200
    assert for_balancer.json()["checks"]["replica"] == "unavailable"
    assert for_monitoring.status_code == 503


def test_the_files_broker_is_not_checked(client):
    with override_settings(CELERY_BROKER_URL="filesystem://", CELERY_TASK_ALWAYS_EAGER=False):
        response = client.get("/health/worker/")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == "not checked"


def test_only_reads_are_answered(client):
    assert client.post("/health/").status_code == 405
    assert client.head("/health/").status_code == 200


def test_a_real_worker_keeps_the_heartbeat_fresh(client, broker):
    worker = start_worker(worker_env(), f"test-{uuid.uuid4().hex[:12]}")
    try:
        seen = until(lambda: client.get("/health/worker/").status_code == 200)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert seen, "the worker recorded no heartbeat"
