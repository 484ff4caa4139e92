"""Schemathesis against the OpenAPI schema: bounded (five cases per operation, fixed
seed), authenticated, all checks. Zero server errors, zero answers that break the
schema."""

import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from crm.authentication import api_token_create
from tests.factories import PatientFactory, UserFactory

raw = json.loads(
    OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))
)
# Schema-valid input may still break a business rule no schema can state (an NPI's check
# digit, a real phone number, a birth date in the past): that is a 400 with field
# errors, which the positive-data check is told to accept. Every check runs.
config = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": [
                    "2xx",
                    "3xx",
                    "400",
                    "401",
                    "403",
                    "404",
                    "409",
                    "412",
                    "429",
                ]
            }
        }
    }
)
schema = schemathesis.openapi.from_dict(raw, config=config)
# Five cases per operation in `make test`; a deeper run with FUZZ_EXAMPLES=200, say.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
schema.app = get_wsgi_application()


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """The WSGI handler closes database connections after each request; Django's test
    client switches that off, and so must a test that calls the WSGI app directly."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db):
    user = UserFactory(roles=["coordinator"])
    PatientFactory(care_coordinator=user)
    _, key = api_token_create(user=user, name="fuzz")
    return key


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_api_keeps_its_contract(case, token, settings):
    settings.ALLOWED_HOSTS = ["*"]
    case.call_and_validate(headers={"Authorization": f"Token {token}"})
