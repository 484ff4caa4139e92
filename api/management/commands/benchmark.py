"""Time the reads staff wait on, against the demo data set, through the full request
stack (middleware, authentication, serializers). Speed is checked here, not in tests."""

import statistics
import time

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from patients.models import Patient

# name -> (URL builder, p90 target in milliseconds)
SCENARIOS = {
    "patient 360": (lambda p: f"/api/patients/{p.pk}/360/", 150),
    "patient search by name": (lambda p: f"/api/patients/?q={p.family_name[:3]}", 150),
    "patient search by phone": (
        lambda p: f"/api/patients/?phone={p.contact_points.first().value}",
        150,
    ),
    "patient timeline": (lambda p: f"/api/interactions/?patient={p.pk}", 150),
    "open referrals, overdue": (
        lambda p: "/api/referrals/?status=sent&status=accepted&status=seen&overdue=true",
        150,
    ),
    "follow-ups overdue": (lambda p: "/api/follow-ups/?status=open&overdue=true", 150),
    "referral worklist (team)": (lambda p: "/api/worklists/referrals/?team=true", 250),
    "follow-up worklist (team)": (lambda p: "/api/worklists/follow-ups/?team=true", 250),
    "complaints worklist (team)": (lambda p: "/api/worklists/complaints/?team=true", 250),
    "experience metrics, one year": (
        lambda p: "/api/metrics/experience/?start=2026-01-01&end=2026-12-31",
        250,
    ),
    "referral metrics, one year": (
        lambda p: "/api/metrics/referrals/?start=2026-01-01&end=2026-12-31",
        250,
    ),
}


class Command(BaseCommand):
    help = "Measure median and 90th-percentile latency and query counts of key reads."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=30)
        parser.add_argument(
            "--check", action="store_true", help="Exit non-zero when a p90 misses its target."
        )

    def handle(self, *args, repeat: int, check: bool, **options):
        if not Patient.objects.filter(mrn__startswith="D").exists():
            call_command("seed_demo", verbosity=0)
        user = get_user_model().objects.get(username="coordinator")
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        patients = list(Patient.objects.filter(mrn__startswith="D").order_by("pk")[:repeat])

        self.stdout.write(f"{'scenario':<28}{'median ms':>10}{'p90 ms':>9}{'queries':>9}  target")
        missed = []
        for name, (url_for, target) in SCENARIOS.items():
            timings, queries = [], set()
            for index in range(repeat):
                url = url_for(patients[index % len(patients)])
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response = client.get(url)
                    timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise CommandError(f"{name}: {url} answered {response.status_code}")
                queries.add(len(captured))
            median = statistics.median(timings)
            p90 = statistics.quantiles(timings, n=10)[-1]
            spread = "-".join(str(n) for n in sorted({min(queries), max(queries)}))
            verdict = "ok" if p90 <= target else "MISSED"
            if p90 > target:
                missed.append(name)
            self.stdout.write(
                f"{name:<28}{median:>10.1f}{p90:>9.1f}{spread:>9}  p90<={target} {verdict}"
            )
        if check and missed:
            raise CommandError(f"Targets missed: {', '.join(missed)}")
