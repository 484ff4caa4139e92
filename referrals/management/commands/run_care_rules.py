"""Fire the time-based care-continuity rules. Safe to run every minute (cron or a
systemd timer), and concurrently: each follow-up is created at most once."""

from django.core.management.base import BaseCommand

from referrals.rules import run_time_based_rules


class Command(BaseCommand):
    help = "Create the follow-ups that passing time calls for (idempotent)."

    def handle(self, *args, **options):
        created = run_time_based_rules()
        summary = ", ".join(f"{rule}: {count}" for rule, count in created.items())
        self.stdout.write(f"Follow-ups created: {summary}.")
