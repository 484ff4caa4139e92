"""Background work: Celery, with Redis as the broker (``CELERY_BROKER_URL``), workers
and the beat scheduler as their own processes (README, "Background work"). With no
broker configured (a fresh clone) every task runs at once in the process that queues
it, so the embedded default needs no Redis and no worker."""

import logging
import os
import time
from functools import cache

import redis
from celery import Celery
from celery.signals import heartbeat_sent
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

logger = logging.getLogger(__name__)

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's tasks.py.
app.autodiscover_tasks()

# When a worker last beat, in the broker's Redis: the one store every worker and web
# process shares whenever there are workers (the cache may be per process).
HEARTBEAT_KEY = "crm:worker-heartbeat"


@cache
def _redis(url: str) -> redis.Redis:
    # Short timeouts: a load balancer's health check waits on this.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def broker_redis() -> redis.Redis | None:
    """The broker's Redis; None without a broker or with one that is not Redis (the
    files of `make run`)."""
    url = settings.CELERY_BROKER_URL
    return _redis(url) if url.startswith(("redis://", "rediss://")) else None


@heartbeat_sent.connect
def record_heartbeat(**kwargs) -> None:
    """Celery's own worker heartbeat (every 2 s, from the worker's main loop, while it
    is connected to the broker), kept where ``/health/`` reads it (crm/health.py)
    without pinging the workers on every request."""
    client = broker_redis()
    if client is None:
        return
    try:
        client.set(HEARTBEAT_KEY, time.time(), ex=24 * 3600)
    except redis.RedisError as exc:
        logger.warning("The worker heartbeat was not recorded: %s", exc)
