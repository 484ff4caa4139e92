"""The change feed: every change of a followed record, once, in an order to resume
from; only what the reader may read; bad cursors and types are 400s."""

from collections import Counter
from importlib import import_module

import pytest
from django.apps import apps
from django.db import DataError, connection

from crm.db import triggers_off
from crm.integrations import integration_client_create
from crm.roles import Role
from integrations.models import Change
from interactions.models import Interaction
from patients.models import Patient
from referrals.models import FollowUp
from tests.api.test_integration_clients import _basic
from tests.conftest import client_for
from tests.factories import FollowUpFactory, InteractionFactory, PatientFactory
from tests.referrals.helpers import referral_in

pytestmark = pytest.mark.django_db


def drain(client, after="", **params):
    """Every change from ``after`` on, page by page: the entries and the last cursor."""
    entries = []
    while True:
        page = client.get("/api/changes/", {"after": after, **params}).json()
        entries += page["results"]
        after = page["next"]
        if not page["more"]:
            return entries, after


def test_every_change_is_in_the_feed_once_in_order(api, coordinator):
    created = api.post(
        "/api/patients/",
        {
            "family_name": "Okafor",
            "given_name": "Ada",
            "birth_date": "1980-01-01",
            "contact_points": [{"system": "phone", "value": "617-555-0142"}],
        },
        "json",
    ).json()
    patient_id = created["id"]
    api.patch(f"/api/patients/{patient_id}/", {"given_name": "Adaeze"}, "json")
    entries, cursor = drain(api, limit=2)
    mine = [(e["type"], e["id"], e["action"]) for e in entries if e["patient"] == patient_id]
    assert mine[0] == ("Patient", patient_id, "create")
    assert ("Patient", patient_id, "update") in mine[1:]
    cursors = [e["cursor"] for e in entries]
    assert len(cursors) == len(set(cursors))
    assert [tuple(map(int, c.split("."))) for c in cursors] == sorted(
        tuple(map(int, c.split("."))) for c in cursors
    )
    # Resumed from its cursor, the feed gives only what is new.
    assert drain(api, after=cursor) == ([], cursor)
    InteractionFactory(patient=Patient.objects.get(pk=patient_id), summary="Called back")
    new, _ = drain(api, after=cursor)
    assert [(e["type"], e["action"]) for e in new] == [("Interaction", "create")]


def test_a_deletion_is_a_tombstone(api, coordinator):
    follow_up = FollowUpFactory(assigned_to=coordinator)
    _, cursor = drain(api)
    FollowUp.objects.filter(pk=follow_up.pk).delete()
    tombstones, _ = drain(api, after=cursor)
    assert [(e["type"], e["id"], e["action"]) for e in tombstones] == [
        ("FollowUp", follow_up.pk, "delete")
    ]


def test_a_reader_gets_only_the_types_and_records_it_may_read(
    coordinator, clinician, front_desk, billing
):
    patient = PatientFactory()
    normal = InteractionFactory(patient=patient, summary="Normal")
    restricted = InteractionFactory(patient=patient, sensitivity="restricted")
    referral = referral_in("draft", coordinator, patient=patient)

    def seen(user, **params):
        return {(e["type"], e["id"]) for e in drain(client_for(user), **params)[0]}

    assert ("Interaction", restricted.pk) in seen(clinician)
    desk = seen(front_desk)
    assert ("Interaction", normal.pk) in desk and ("Interaction", restricted.pk) not in desk
    assert ("Referral", referral.pk) in desk
    assert ("Referral", referral.pk) not in seen(billing)  # billing reads no referrals
    assert {kind for kind, _ in seen(clinician, types="Patient,Referral")} == {
        "Patient",
        "Referral",
    }
    # Restricted later: its earlier changes leave the front desk's feed too.
    Interaction.objects.filter(pk=normal.pk).update(sensitivity="restricted")
    assert ("Interaction", normal.pk) not in seen(front_desk)


def test_a_clients_feed_follows_its_read_scopes(db, client):
    application, secret = integration_client_create(
        name="Warehouse", role=Role.ADMIN, scopes=["system/Patient.read"]
    )
    token = client.post(
        "/oauth/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(application.client_id, secret),
    ).json()["access_token"]
    patient = PatientFactory()
    InteractionFactory(patient=patient)
    page = client.get("/api/changes/", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert {e["type"] for e in page["results"]} == {"Patient"}


@pytest.mark.parametrize(
    "params",
    [
        {"after": "12"},
        {"after": "1.2.3"},
        {"after": "1.2\x00"},
        {"after": "99999999999999999999.1"},
        {"types": "Patient,Invoice"},
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "many"},
    ],
)
def test_bad_input_is_a_400_with_the_field(api, params):
    response = api.get("/api/changes/", params)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == set(params)


def test_the_triggers_write_a_change_per_row_on_every_path(coordinator):
    """Bulk writes and queryset updates bypass model code, not the triggers."""
    patients = PatientFactory.create_batch(3)
    before = Change.objects.count()
    Interaction.objects.bulk_create(
        Interaction(
            patient=p, channel="phone", direction="inbound", department="front_desk",
            occurred_at="2026-01-05T10:00Z",
        )
        for p in patients
    )  # fmt: skip
    Interaction.objects.filter(patient__in=patients).update(summary="Bulk")
    assert Change.objects.count() - before == 6


def test_a_page_costs_the_same_queries_whatever_its_size(api, django_assert_max_num_queries):
    """The horizon (PostgreSQL), the page (each type's visibility a subquery in it), the
    resume point (after a short page), and the access record."""
    PatientFactory.create_batch(40)
    drain(api)  # the first request also reads the user's roles
    queries = 4 if connection.vendor == "postgresql" else 3
    for size in (5, 50):
        with django_assert_max_num_queries(queries):
            assert api.get("/api/changes/", {"limit": size}).status_code == 200


def test_every_followed_table_has_its_change_triggers(db):
    """A migration that rebuilds a table (SQLite's way to alter one) drops its triggers;
    at the latest migration every followed table has them all."""
    followed = [
        *import_module("integrations.migrations.0001_initial").FOLLOWED,
        *import_module("integrations.migrations.0004_department_events").FOLLOWED,
    ]
    tables = {apps.get_model(label)._meta.db_table for label, *_ in followed}
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT tbl_name FROM sqlite_master "
                "WHERE type = 'trigger' AND name LIKE 'integrations_change_%'"
            )
            per_table = 3  # insert, update, delete
        else:
            cursor.execute(
                "SELECT tgrelid::regclass::text FROM pg_trigger "
                "WHERE tgname = 'integrations_change'"
            )
            per_table = 1
        found = Counter(table for (table,) in cursor.fetchall())
    assert {table: found[table] for table in tables} == dict.fromkeys(tables, per_table)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="triggers are only turned off there")
def test_a_load_that_fails_with_the_triggers_off_leaves_them_on(db):
    def disabled() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'patients_patient'::regclass "
                "AND NOT tgisinternal AND tgenabled = 'D'"
            )
            return cursor.fetchone()[0]

    with (
        pytest.raises(DataError),
        connection.cursor() as cursor,
        triggers_off(cursor, "patients_patient"),
    ):
        assert disabled() > 0
        cursor.execute("SELECT 1 / 0")  # a load failing half-way
    assert disabled() == 0
