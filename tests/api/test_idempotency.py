import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients.models import Patient
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

BODY = {"family_name": "Doe", "given_name": "Jane", "birth_date": "1980-01-01"}


def test_a_retried_post_with_the_same_key_creates_once_and_replays(api):
    first = api.post("/api/patients/", BODY, "json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/patients/", BODY, "json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Patient.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(api):
    api.post("/api/patients/", BODY, "json", HTTP_IDEMPOTENCY_KEY="k-1")
    response = api.post(
        "/api/patients/", {**BODY, "given_name": "John"}, "json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert Patient.objects.count() == 1


def test_a_failed_request_does_not_use_up_the_key(api):
    bad = api.post(
        "/api/patients/", {**BODY, "birth_date": "nope"}, "json", HTTP_IDEMPOTENCY_KEY="k"
    )
    good = api.post("/api/patients/", BODY, "json", HTTP_IDEMPOTENCY_KEY="k")
    assert (bad.status_code, good.status_code) == (400, 201)


# Twice the same person: told it is someone else, so the duplicate check lets it through.
AGAIN = {**BODY, "confirm_new_person": True}


def test_keys_are_per_user(api, front_desk):
    api.post("/api/patients/", BODY, "json", HTTP_IDEMPOTENCY_KEY="shared")
    client_for(front_desk).post("/api/patients/", AGAIN, "json", HTTP_IDEMPOTENCY_KEY="shared")
    assert Patient.objects.count() == 2


def test_without_a_key_each_post_creates(api):
    api.post("/api/patients/", BODY, "json")
    api.post("/api/patients/", AGAIN, "json")
    assert Patient.objects.count() == 2


def test_an_overlong_key_is_refused(api):
    response = api.post("/api/patients/", BODY, "json", HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert response.status_code == 400
    assert Patient.objects.count() == 0


def test_a_key_costs_a_fixed_number_of_statements(api):
    """Besides the create: expired keys cleared, the key looked up, then claimed and
    filled in within a savepoint. A replay clears expired keys and reads its own, beside
    the access record every request writes."""

    def person(n):  # none alike: no duplicate check finds another
        return {
            "family_name": f"Doe{'x' * n}",
            "given_name": "Jane",
            "birth_date": f"198{n}-01-01",
        }

    api.post("/api/patients/", person(1), "json")  # the user's roles read and kept
    with CaptureQueriesContext(connection) as plain:
        api.post("/api/patients/", person(2), "json")
    with CaptureQueriesContext(connection) as keyed:
        api.post("/api/patients/", person(3), "json", HTTP_IDEMPOTENCY_KEY="k")
    with CaptureQueriesContext(connection) as replayed:
        api.post("/api/patients/", person(3), "json", HTTP_IDEMPOTENCY_KEY="k")
    assert (len(keyed) - len(plain), len(replayed)) == (6, 3)
