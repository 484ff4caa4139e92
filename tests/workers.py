"""Real worker processes for the tests: the test database's address for a process the
test starts, a Celery worker on its own queue, and a patient wait."""

import datetime
import os
import subprocess
import sys
import time

from django.conf import settings
from django.db import connection
from django.utils import timezone

REDIS = "redis://127.0.0.1:6379/15"


def database_url() -> str:
    """The test database, for a process started by the test."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    """The worker's environment. The clinic's messaging hours are open from an hour ago
    for the next three, so what a test queues is due at any time of day it runs."""
    now = datetime.datetime.now(tz=timezone.get_current_timezone())
    hours = f"{now - datetime.timedelta(hours=1):%H:%M}-{now + datetime.timedelta(hours=3):%H:%M}"
    return {
        **os.environ,
        "CELERY_BROKER_URL": REDIS,
        "DATABASE_URL": database_url(),
        "MESSAGING_HOURS": hours,
        **extra,
    }


def start_worker(env: dict[str, str], queue: str) -> subprocess.Popen:
    """A Celery worker process taking tasks from ``queue`` only, one at a time."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm", "worker", "--pool=solo",
         "--queues", queue, "--hostname", f"{queue}-{time.monotonic_ns()}@%h",
         "--without-mingle", "--without-gossip", "--loglevel=WARNING"],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def until(check, seconds=40):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    return check()
