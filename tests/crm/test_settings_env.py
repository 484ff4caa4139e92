import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from crm.env import env_bool, env_database, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw, expected", [("true", True), ("0", False), ("OFF", False)])
def test_booleans_accept_the_documented_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", default=not expected) is expected


@pytest.mark.parametrize("raw", ["yes", "no", "maybe", "tru"])
def test_a_malformed_boolean_is_an_error_not_false(monkeypatch, raw):
    monkeypatch.setenv("FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG", default=False)


def test_lists_refuse_empty_items(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example,,b.example")
    with pytest.raises(ImproperlyConfigured, match="HOSTS"):
        env_list("HOSTS", default=[])


def test_integers_refuse_text_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("N", "ten")
    with pytest.raises(ImproperlyConfigured):
        env_int("N", 1)
    monkeypatch.setenv("N", "0")
    with pytest.raises(ImproperlyConfigured):
        env_int("N", 1, minimum=1)


def test_database_url_must_be_postgres_or_sqlite_and_is_not_echoed(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://user:hunter2@db/crm")
    with pytest.raises(ImproperlyConfigured) as raised:
        env_database("DATABASE_URL", "sqlite:///x")
    assert "hunter2" not in str(raised.value)


def test_database_url_selects_postgresql(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm")
    config = env_database("DATABASE_URL", "sqlite:///x")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "crm"


def _start(env: dict, code: str = "") -> subprocess.CompletedProcess:
    """``manage.py check``, or ``code`` run in ``manage.py shell``, with ``env``."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    return subprocess.run(
        [sys.executable, "manage.py", *(["shell", "-c", code] if code else ["check"])],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_start_up_stops_on_a_malformed_debug_value():
    result = _start({"DEBUG": "yes"})
    assert result.returncode != 0
    assert "DEBUG='yes' is not a boolean" in result.stderr


def test_start_up_without_debug_requires_a_secret_key():
    result = _start({"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_replica_url_is_read_like_the_database_url():
    show = (
        "from django.conf import settings; r = settings.DATABASES['replica'];"
        " print('replica:', settings.READ_REPLICA, r['HOST'], r['PORT'], r['NAME'],"
        " r['TEST']['MIRROR'], r['OPTIONS'])"
    )
    url = "postgres://reader@127.0.0.1:5433/crm"
    result = _start({"DEBUG": "true", "DATABASE_REPLICA_URL": url}, show)
    printed = next(line for line in result.stdout.splitlines() if line.startswith("replica:"))
    assert printed == (
        "replica: True 127.0.0.1 5433 crm default"
        " {'options': '-c jit=off -c pg_trgm.similarity_threshold=0.45'}"
    )
    refused = _start({"DEBUG": "true", "DATABASE_REPLICA_URL": "mysql://u:hunter2@db/crm"}, show)
    assert refused.returncode != 0
    assert "DATABASE_REPLICA_URL must start with" in refused.stderr
    assert "hunter2" not in refused.stderr
