"""With a replica configured, the change feed, exports and metrics read from it; the
access log, the export's own state, every other request and every write stay on the
primary. The tests' replica is a mirror of the test database, read through its own
connection, so each test commits its rows first (a transactional test)."""

import datetime

import pytest
from django.db import connections, router, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.db import replica_reads
from integrations.exports import export_run
from integrations.models import Change, Export
from patients.models import Patient
from tests.factories import InteractionFactory, PatientFactory
from tests.referrals.helpers import referral_in
from tests.replica import replica_down

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture
def replica(settings):
    settings.READ_REPLICA = True


def on_both(read) -> tuple[str, str]:
    """The SQL ``read()`` sent to the primary and to the replica, each as one lower-case
    text."""
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        read()

    def text(captured: CaptureQueriesContext) -> str:
        return " ".join(query["sql"] for query in captured.captured_queries).lower()

    return text(primary), text(replica)


def replica_sql(read) -> str:
    return on_both(read)[1]


def read(api, url: str, params: dict | None = None) -> dict:
    response = api.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_change_feed_is_read_on_the_replica_and_logged_on_the_primary(replica, api):
    patient = PatientFactory()
    InteractionFactory(patient=patient)
    pages = []
    primary, on_replica = on_both(lambda: pages.append(read(api, "/api/changes/")))
    assert {(e["type"], e["id"]) for e in pages[0]["results"]} >= {("Patient", patient.pk)}
    assert '"integrations_change"' in on_replica
    assert '"integrations_change"' not in primary
    if connections["replica"].vendor == "postgresql":
        assert "pg_current_snapshot" in on_replica  # the horizon is the replica's own
    assert 'insert into "crm_accessrecord"' in primary
    assert "insert" not in on_replica


def test_metrics_are_read_on_the_replica(replica, api, coordinator):
    referral_in("sent", coordinator)
    today = timezone.localdate()
    period = {"start": today - datetime.timedelta(days=30), "end": today}
    for url, table in (
        ("/api/metrics/referrals/", '"referrals_referral"'),
        ("/api/metrics/experience/", '"interactions_interaction"'),
        ("/api/metrics/appointments/", '"appointments_appointment"'),
    ):
        primary, on_replica = on_both(lambda url=url: read(api, url, period))
        assert table in on_replica, url
        assert table not in primary, url


def test_an_export_reads_its_rows_on_the_replica_and_keeps_its_state_on_the_primary(
    replica, coordinator, settings, tmp_path
):
    settings.EXPORT_DIR = tmp_path
    patients = PatientFactory.create_batch(3)
    export = Export.objects.create(
        owner=coordinator, types=["Patient"], expires_at=timezone.now() + datetime.timedelta(1)
    )
    done = []
    primary, on_replica = on_both(lambda: done.append(export_run(export.pk)))
    assert done[0].status == Export.Status.DONE
    assert done[0].counts == {"Patient": Patient.objects.count()} != {"Patient": 0}
    assert len(patients) <= done[0].counts["Patient"]
    assert '"patients_patient"' in on_replica
    assert '"patients_patient"' not in primary
    assert 'update "integrations_export"' in primary
    assert "integrations_export" not in on_replica


def test_other_requests_and_every_write_stay_on_the_primary(replica, api):
    patient = PatientFactory()
    assert replica_sql(lambda: read(api, f"/api/patients/{patient.pk}/360/")) == ""
    with replica_reads():
        assert router.db_for_read(Patient) == "replica"
        assert router.db_for_write(Patient) == "default"
        with transaction.atomic():  # a locking read is a write's
            assert Patient.objects.select_for_update().filter(pk=patient.pk).db == "default"
        written = replica_sql(lambda: PatientFactory())
    assert written == ""
    assert router.db_for_read(Patient) == "default"  # only inside the block


def test_without_a_replica_everything_reads_the_primary(api):
    PatientFactory()
    with replica_reads():
        assert router.db_for_read(Change) == "default"
    assert replica_sql(lambda: read(api, "/api/changes/")) == ""


def test_no_migration_runs_on_the_replica():
    assert router.allow_migrate("default", "patients")
    assert not router.allow_migrate("replica", "patients")


def test_a_replica_down_is_a_503_for_its_reads_only(replica, api):
    patient = PatientFactory()
    api.raise_request_exception = False  # the answer, as a client gets it
    with replica_down():
        feed = api.get("/api/changes/")
        record = api.get(f"/api/patients/{patient.pk}/")
    assert feed.status_code == 503
    assert feed["Retry-After"]
    assert record.status_code == 200
