"""Health checks. ``/health/`` is for the load balancer: it answers 503 only when this
web process cannot serve (its database, or the broker when there is one), and reports
the worker and the replica without failing on them. ``/health/worker/`` is for
monitoring and also fails when no background worker has beaten for a minute, or when
the replica (``DATABASE_REPLICA_URL``) does not answer.

A worker that is down must not take the web processes out of rotation: staff can
still read and write, and what the worker should do waits in the queue. Both are
cheap enough to poll every few seconds: one query (and one on the replica), one Redis
round trip, no ping of the workers (``manage.py worker_health`` pings them)."""

import logging
import time

import redis
from django.conf import settings
from django.db import Error, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from crm.celery import HEARTBEAT_KEY, broker_redis

logger = logging.getLogger(__name__)

# A worker beats every 2 s; a minute of silence means it is gone or stuck.
STALE_AFTER_SECONDS = 60
FAILED = {"unavailable", "stale", "unknown"}


def _database(alias: str = "default") -> str:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Error as exc:
        logger.warning("Health check: the database %s is unavailable: %s", alias, exc)
        return "unavailable"
    return "ok"


def _broker_and_worker() -> tuple[str, str]:
    """The broker's state and the worker's, from one read of the heartbeat key."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "not used", "not used"
    client = broker_redis()
    if client is None:
        return "not checked", "not checked"
    try:
        beat = client.get(HEARTBEAT_KEY)
    except redis.RedisError as exc:
        logger.warning("Health check: the broker is unavailable: %s", exc)
        return "unavailable", "unknown"
    fresh = beat is not None and time.time() - float(beat) < STALE_AFTER_SECONDS
    return "ok", "ok" if fresh else "stale"


def _answer(*, with_worker: bool) -> JsonResponse:
    broker, worker = _broker_and_worker()
    checks = {
        "database": _database(),
        "broker": broker,
        "worker": worker,
        "replica": _database("replica") if settings.READ_REPLICA else "not used",
    }
    counted = checks if with_worker else {"database": checks["database"], "broker": broker}
    failed = bool(FAILED & set(counted.values()))
    return JsonResponse(
        {"status": "unavailable" if failed else "ok", "checks": checks},
        status=503 if failed else 200,
    )


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    return _answer(with_worker=False)


@never_cache
@require_safe
def worker_health(request: HttpRequest) -> JsonResponse:
    return _answer(with_worker=True)
