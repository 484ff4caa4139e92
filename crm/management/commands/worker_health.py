"""Whether a background worker is alive: each worker that answers a ping is named and
the command exits 0; none answering (or no broker) exits 1. For monitoring and for a
container's health check."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from kombu.exceptions import OperationalError

from crm.celery import app


class Command(BaseCommand):
    help = "Ping the background workers; exit 1 when none answers."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=2.0, help="Seconds to wait.")

    def handle(self, *args, timeout: float, **options):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            self.stdout.write(
                "No broker is configured (CELERY_BROKER_URL): tasks run in the process that "
                "queues them, and no worker is needed."
            )
            return
        try:
            replies = app.control.ping(timeout=timeout)
        except OperationalError as exc:
            raise CommandError(f"The broker cannot be reached: {exc}") from None
        if not replies:
            raise CommandError(f"No worker answered within {timeout:g} s.")
        for reply in replies:
            for name in reply:
                self.stdout.write(f"{name}: alive")
