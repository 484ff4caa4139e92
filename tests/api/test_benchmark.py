"""The benchmark command runs through every read it times (the figures are for the
README, not for tests)."""

import gc
from io import StringIO

import pytest
from django.core.management import call_command

from api.management.commands.benchmark import SCALE_READS
from patients.models import Patient

pytestmark = pytest.mark.django_db


def test_the_scale_benchmark_times_every_read_and_a_registration(settings):
    settings.ALLOWED_HOSTS = ["localhost"]  # the benchmark's requests name it
    call_command("seed_scale", patients=400, verbosity=0)
    patients = Patient.objects.count()
    out = StringIO()
    try:
        call_command("benchmark", only="scale", repeat=3, stdout=out)
    finally:
        gc.unfreeze()  # the benchmark freezes its setup, as a server process does
    report = out.getvalue()
    for name in [*SCALE_READS, "360, heavy patient", "patient create, with its sections"]:
        assert f"  {name} " in report
    assert "a name with one typo, 200 sampled" in report
    # The people registered to time it are gone again.
    assert Patient.objects.count() == patients
