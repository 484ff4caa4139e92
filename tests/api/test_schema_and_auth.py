import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

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
    assert page.status_code == 302 and page["Location"].startswith("/api/auth/login/")


def test_schema_and_docs_are_served_without_a_cdn(client):
    UserFactory(username="casey", password="long-and-unique-9", roles=["coordinator"])
    client.login(username="casey", password="long-and-unique-9")
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
        {"username": "robot", "password": "long-and-unique-9"},
        content_type="application/json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    listed = client.get("/api/patients/", HTTP_AUTHORIZATION=f"Token {token}")
    assert listed.status_code == 200


def test_wrong_credentials_get_the_error_body(client):
    response = client.post(
        "/api/auth/token/",
        {"username": "nobody", "password": "x"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_the_browser_session_works_after_signing_in(client):
    UserFactory(username="casey", password="long-and-unique-9", roles=["coordinator"])
    assert client.login(username="casey", password="long-and-unique-9")
    assert client.get("/api/patients/").status_code == 200
