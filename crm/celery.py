"""Background work: Celery, with Redis as the broker (``CELERY_BROKER_URL``), workers
and the beat scheduler as their own processes (README, "Background work"). With no
broker configured (a fresh clone) every task runs at once in the process that queues
it, so the embedded default needs no Redis and no worker."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's tasks.py.
app.autodiscover_tasks()
