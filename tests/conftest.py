"""Shared personas: one staff member per role, and an outsider with no role."""

import importlib
import re

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from crm.roles import Role
from tests.factories import UserFactory
from tests.migrations import migrate_to_the_latest


def pytest_configure(config):
    """A fast password hasher: the production one is slow on purpose (about a second
    per hash on a small machine), which tests that create users would pay each time."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def coordinator(db):
    return UserFactory(username="alice", roles=[Role.COORDINATOR])


@pytest.fixture
def other_coordinator(db):
    return UserFactory(username="adam", roles=[Role.COORDINATOR])


@pytest.fixture
def clinician(db):
    return UserFactory(username="carla", roles=[Role.CLINICIAN])


@pytest.fixture
def billing(db):
    return UserFactory(username="bob", roles=[Role.BILLING])


@pytest.fixture
def pharmacist(db):
    return UserFactory(username="phil", roles=[Role.PHARMACY])


@pytest.fixture
def front_desk(db):
    return UserFactory(username="fran", roles=[Role.FRONT_DESK])


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ada", roles=[Role.ADMIN])


@pytest.fixture
def outsider(db):
    return UserFactory(username="oscar", roles=[])


# A change to one of these records must carry its version (If-Match).
VERSIONED = re.compile(
    r"^/api/(?P<kind>patients|interactions|referrals|appointments|follow-ups|complaints)/(?P<pk>\d+)/"
    r"(?P<action>[a-z0-9-]+/)?$"
)


class ReadBeforeWriteClient(APIClient):
    """Changes a record the way the web app does: it reads the record first and sends
    its ETag as If-Match. A test that sets If-Match itself (or passes
    ``if_match=False`` to send none) is left alone."""

    def version_header(self, method: str, path: str) -> dict:
        """``{"HTTP_IF_MATCH": etag}`` when ``method path`` changes a versioned record
        this client can read; else nothing."""
        record = VERSIONED.match(path.split("?")[0])
        method = method.upper()
        changes = method in ("PUT", "PATCH") or (method == "POST" and record and record["action"])
        if not (record and changes):
            return {}
        current = self.get(f"/api/{record['kind']}/{record['pk']}/")
        if current.status_code != 200 or not current.has_header("ETag"):
            return {}
        return {"HTTP_IF_MATCH": current["ETag"]}

    def generic(self, method, path, *args, if_match=True, **extra):
        if if_match and "HTTP_IF_MATCH" not in extra:
            extra.update(self.version_header(method, path))
        return super().generic(method, path, *args, **extra)


def subclasses(cls):
    """Every class derived from ``cls``, at any depth."""
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


def client_for(user) -> APIClient:
    client = ReadBeforeWriteClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def migrated_back():
    """For a test that migrates back: the tests after it find every migration applied,
    as they began."""
    yield
    migrate_to_the_latest()


@pytest.fixture
def api(coordinator):
    """An API client signed in as the coordinator."""
    return client_for(coordinator)


@pytest.fixture(autouse=True)
def sms_outbox(settings, tmp_path):
    """Texts the development backend "sends" go to the test's own folder."""
    settings.SMS_OUTBOX_FILE = str(tmp_path / "sms.jsonl")
    return tmp_path / "sms.jsonl"


@pytest.fixture(autouse=True)
def fresh_request_counts():
    """Each test starts with no requests or failures counted against an address (the
    patient pages' and the token endpoint's limits)."""
    cache.clear()


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    """Tests run with DEBUG off but without collectstatic's manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def redis_broker():
    """The real Redis the worker tests queue work on (a database of its own)."""
    import os

    import redis

    from tests.workers import REDIS

    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail("Redis must run on 127.0.0.1:6379 for the worker tests.")
        pytest.skip("Redis is not running on 127.0.0.1:6379.")
    yield REDIS
    client.close()


@pytest.fixture
def service_types(db):
    """The service types a migration installs, installed again for a test that runs
    after a transactional test emptied the tables."""
    from django.apps import apps

    migration = importlib.import_module(
        "appointments.migrations.0002_service_types_and_referral_appointments"
    )
    migration.forward(apps, None)
