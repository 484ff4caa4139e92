import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.relations import RelatedField
from rest_framework.serializers import ModelSerializer, Serializer

from crm.authentication import api_token_create
from crm.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/patients/",
    "/api/patients/{id}/",
    "/api/patients/{id}/360/",
    "/api/patients/{id}/history/",
    "/api/organizations/",
    "/api/practitioners/",
    "/api/interactions/",
    "/api/interactions/{id}/",
    "/api/referrals/",
    "/api/referrals/{id}/",
    "/api/referrals/{id}/events/",
    "/api/referrals/{id}/history/",
    "/api/follow-ups/",
    "/api/follow-ups/{id}/complete/",
    "/api/follow-ups/{id}/cancel/",
    "/api/worklists/referrals/",
    "/api/worklists/follow-ups/",
    "/api/metrics/referrals/",
    "/api/handoffs/",
    "/api/patients/{id}/reassign-coordinator/",
    "/api/complaints/",
    "/api/complaints/{id}/resolve/",
    "/api/complaints/{id}/events/",
    "/api/worklists/complaints/",
    "/api/surveys/invitations/",
    "/api/surveys/responses/",
    "/api/metrics/experience/",
    "/api/auth/token/",
    *[
        f"/api/referrals/{{id}}/{a}/"
        for a in [
            "send",
            "accept",
            "decline",
            "schedule",
            "no-show",
            "seen",
            "close",
            "cancel",
            "reopen",
        ]
    ],
]


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_is_valid_openapi(schema):
    validate_schema(schema)


def test_every_endpoint_is_in_the_schema(schema):
    assert set(ENDPOINTS) <= set(schema["paths"])


def test_every_operation_documents_the_error_body(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "400" in responses and "403" in responses, (method, path)
            if "{id}" in path:
                assert "404" in responses, (method, path)


def test_transitions_document_the_409_body(schema):
    response = schema["paths"]["/api/referrals/{id}/accept/"]["post"]["responses"]["409"]
    ref = response["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/InvalidTransition")


def test_schema_and_docs_need_a_signed_in_staff_member(client):
    assert client.get("/api/schema/").status_code == 401
    page = client.get("/api/docs/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")


def test_the_api_root_links_every_collection_for_a_signed_in_client(client):
    assert client.get("/api/").status_code == 401
    UserFactory(username="casey", password="long-and-unique-9", roles=["coordinator"])
    client.force_login(User.objects.get(username="casey"))
    links = client.get("/api/", HTTP_ACCEPT="application/json").json()
    assert links["patients"] == "http://testserver/api/patients/"
    assert links["worklists/follow-ups"] == "http://testserver/api/worklists/follow-ups/"
    assert links["docs"] == "http://testserver/api/docs/"
    # Every link leads to an endpoint: a list, or a 4xx that says what it needs (the
    # metrics need a period, hand-offs are POSTed, the audit log is not a coordinator's).
    answers = {
        link: client.get(link.removeprefix("http://testserver")).status_code
        for link in links.values()
    }
    assert 404 not in answers.values() and max(answers.values()) < 500, answers
    assert answers["http://testserver/api/audit/access/"] == 403


def test_schema_and_docs_are_served_without_a_cdn(client):
    UserFactory(username="casey", password="long-and-unique-9", roles=["coordinator"])
    client.force_login(User.objects.get(username="casey"))
    assert client.get("/api/schema/").status_code == 200
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn" not in html.lower()


def test_a_script_gets_a_token_and_uses_it(client):
    UserFactory(username="robot", password="long-and-unique-9", roles=["coordinator"])
    response = client.post(
        "/api/auth/token/",
        {"username": "robot", "password": "long-and-unique-9", "name": "nightly export"},
        content_type="application/json",
    )
    assert response.status_code == 201
    key = response.json()["key"]
    assert ApiToken.objects.get().key_hash != key  # only a hash is kept
    listed = client.get("/api/patients/", HTTP_AUTHORIZATION=f"Token {key}")
    assert listed.status_code == 200
    mine = client.get("/api/auth/tokens/", HTTP_AUTHORIZATION=f"Token {key}").json()
    assert [(t["name"], t["key"]) for t in mine["results"]] == [("nightly export", None)]


def test_a_revoked_token_stops_working(client):
    user = UserFactory(roles=["coordinator"])
    token, key = api_token_create(user=user, name="old")
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    assert client.delete(f"/api/auth/tokens/{token.pk}/", **auth).status_code == 204
    assert client.get("/api/patients/", **auth).status_code == 401
    assert ApiToken.objects.get().revoked_at is not None


def test_wrong_credentials_get_the_error_body(client):
    response = client.post(
        "/api/auth/token/",
        {"username": "nobody", "password": "x"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_repeated_failures_lock_the_account_until_an_admin_unlocks_it(client, settings):
    UserFactory(username="casey", password="long-and-unique-9", roles=["coordinator"])

    def sign_in(password):
        return client.post(
            "/api/auth/token/",
            {"username": "casey", "password": password},
            content_type="application/json",
        )

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in("wrong").status_code == 401
    locked = sign_in("wrong")
    assert locked.status_code == 429 and locked.json()["code"] == "locked_out"
    assert "administrator" in locked.json()["message"]
    assert sign_in("long-and-unique-9").status_code == 429  # the right password too
    call_command("axes_reset_username", "casey", verbosity=0)
    assert sign_in("long-and-unique-9").status_code == 201


def test_the_browser_signs_in_with_the_form_and_times_out_when_idle(client, settings):
    UserFactory(username="casey", password="long-and-unique-9", roles=["coordinator"])
    page = client.post("/api/auth/login/", {"username": "casey", "password": "long-and-unique-9"})
    assert page.status_code == 302
    assert client.get("/api/patients/").status_code == 200
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE == 15 * 60
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16)):
        assert client.get("/api/patients/").status_code == 401  # the session has ended


def test_sign_out_everywhere_ends_sessions_and_tokens(client):
    user = UserFactory(username="casey", password="long-and-unique-9", roles=["coordinator"])
    client.post("/api/auth/login/", {"username": "casey", "password": "long-and-unique-9"})
    _, key = api_token_create(user=user, name="laptop")
    response = client.post("/api/auth/sign-out-everywhere/", {}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"tokens": 1, "sessions": 1}
    assert client.get("/api/patients/").status_code in (401, 403)
    assert client.get("/api/patients/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def sign_in_as(client, username, password, address="10.0.0.7"):
    return client.post(
        "/api/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def test_one_persons_failures_lock_only_their_account_not_their_colleagues(client, settings):
    UserFactory(username="casey", password="long-and-unique-9", roles=["coordinator"])
    UserFactory(username="dana", password="long-and-unique-8", roles=["coordinator"])
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in_as(client, "casey", "wrong")
    locked = sign_in_as(client, "casey", "long-and-unique-9")
    assert locked.status_code == 429 and "this user name" in locked.json()["message"]
    # The colleague behind the same address signs in.
    assert sign_in_as(client, "dana", "long-and-unique-8").status_code == 201


def test_an_address_is_paused_only_after_many_failures_and_says_so(client, settings):
    settings.LOGIN_ADDRESS_LIMIT = 8
    UserFactory(username="dana", password="long-and-unique-8", roles=["coordinator"])
    for n in range(7):  # seven user names mistyped behind one address: no lockout
        assert sign_in_as(client, f"nobody{n}", "wrong").status_code == 401
    assert sign_in_as(client, "nobody7", "wrong").status_code == 429
    paused = sign_in_as(client, "dana", "long-and-unique-8")
    assert paused.status_code == 429 and "network address" in paused.json()["message"]
    elsewhere = sign_in_as(client, "dana", "long-and-unique-8", address="10.0.0.8")
    assert elsewhere.status_code == 201


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_clients(client, settings):
    from crm.models import AccessRecord

    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOGIN_ADDRESS_LIMIT = 3
    UserFactory(username="dana", password="long-and-unique-8", roles=["coordinator"])
    for n in range(3):
        client.post(
            "/api/auth/token/",
            {"username": f"nobody{n}", "password": "wrong"},
            content_type="application/json",
            REMOTE_ADDR="10.9.9.9",  # the proxy
            HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5",  # forged first hop, real client
        )
    other_client = client.post(
        "/api/auth/token/",
        {"username": "dana", "password": "long-and-unique-8"},
        content_type="application/json",
        REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR="203.0.113.77",
    )
    assert other_client.status_code == 201  # another client behind the same proxy
    key = other_client.json()["key"]
    client.get(
        "/api/patients/",
        HTTP_AUTHORIZATION=f"Token {key}",
        REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR="203.0.113.77",
    )
    assert AccessRecord.objects.order_by("-id").first().client_address == "203.0.113.77"


def _api_serializers(base=Serializer):
    """Every serializer class the API defines (not the bases a model serializer's
    subclasses give a model to)."""
    for subclass in base.__subclasses__():
        meta = getattr(subclass, "Meta", None)
        abstract = issubclass(subclass, ModelSerializer) and not hasattr(meta, "model")
        if subclass.__module__.startswith("api.") and not abstract:
            yield subclass
        yield from _api_serializers(subclass)


def test_every_writable_reference_is_named_with_id():
    """One convention: a reference is written as ``<name>_id`` and read back as
    ``<name>``."""
    found = []
    for serializer_class in set(_api_serializers()):
        for name, field in serializer_class().fields.items():
            if isinstance(field, RelatedField) and not field.read_only:
                found.append(name)
                assert name == f"{field.source}_id", f"{serializer_class.__name__}.{name}"
    assert {"patient_id", "replaces_id", "referral_id", "parent_id"} <= set(found)
