"""Shared personas: one staff member per role, and an outsider with no role."""

import pytest
from rest_framework.test import APIClient

from crm.roles import Role
from tests.factories import UserFactory


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


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api(coordinator):
    """An API client signed in as the coordinator."""
    return client_for(coordinator)


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    """Tests run with DEBUG off but without collectstatic's manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
