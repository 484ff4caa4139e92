"""The application can run as a database role that does not own the access log: it
writes and reads records, and cannot change, delete, empty or unguard the log."""

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from psycopg import errors

from crm.models import AccessRecord
from tests.conftest import client_for
from tests.factories import PatientFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="roles are PostgreSQL's"),
]

ROLE = "crm_app_test"


@pytest.fixture
def app_role():
    with connection.cursor() as cursor:
        cursor.execute(f"DROP OWNED BY {ROLE}" if _exists() else "SELECT 1")
        cursor.execute(f"DROP ROLE IF EXISTS {ROLE}")
        cursor.execute(f"CREATE ROLE {ROLE} LOGIN")
    call_command("grant_app_role", ROLE, verbosity=0)
    yield ROLE
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP OWNED BY {ROLE}")
        cursor.execute(f"DROP ROLE {ROLE}")


def _exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [ROLE])
        return cursor.fetchone() is not None


def connect_as(role: str) -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        dbname=settings["NAME"],
        user=role,
        autocommit=True,
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE crm_accessrecord SET username = 'someone else'",
        "DELETE FROM crm_accessrecord",
        "TRUNCATE crm_accessrecord",
        "ALTER TABLE crm_accessrecord DISABLE TRIGGER crm_accessrecord_append_only",
        "DROP TABLE crm_accessrecord",
    ],
)
def test_the_app_role_cannot_rewrite_the_log(app_role, statement):
    with connect_as(app_role) as db:
        db.execute(
            "INSERT INTO crm_accessrecord (occurred_at, username, auth_method, client,"
            " patient_ids, action, method, endpoint, status_code, outcome, request_id,"
            " purpose) VALUES (now(), 'casey', 'session', '', '', 'list', 'GET',"
            " '/api/patients/', 200, 'allowed', 'r1', 'treatment')"
        )
        with pytest.raises((errors.InsufficientPrivilege, errors.RaiseException)):
            db.execute(statement)
    assert AccessRecord.objects.filter(username="casey").count() == 1


def test_the_application_serves_and_logs_as_the_app_role(app_role):
    user = UserFactory(username="casey", roles=["coordinator"])
    patient = PatientFactory()
    settings = connection.settings_dict
    owner = settings["USER"]
    connection.close()
    settings["USER"] = app_role
    try:
        client = client_for(user)
        assert client.get(f"/api/patients/{patient.pk}/").status_code == 200
        response = client.patch(f"/api/patients/{patient.pk}/", {"preferred_name": "Cas"}, "json")
        assert response.status_code == 200
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == app_role
    finally:
        connection.close()
        settings["USER"] = owner
    assert AccessRecord.objects.filter(patient_ids=f",{patient.pk},").count() >= 2
