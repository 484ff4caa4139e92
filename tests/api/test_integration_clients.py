"""Integration clients: OAuth2 client credentials, short-lived bearer tokens, scopes per
resource and mode, the access policy of the client's role, the access log under the
client's name, and no lockout that touches staff."""

import base64
import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import Application

from crm.errors import InvalidInput
from crm.integrations import integration_client_create
from crm.models import AccessRecord
from crm.roles import Role
from tests.factories import PatientFactory, UserFactory
from tests.referrals.helpers import referral_in

pytestmark = pytest.mark.django_db


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token_for(application, secret, scope=None):
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    return Client().post(
        "/oauth/token/", data, HTTP_AUTHORIZATION=_basic(application.client_id, secret)
    )


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def billing_system(db):
    return integration_client_create(
        name="Billing system",
        role=Role.BILLING,
        scopes=["system/Patient.read", "system/ServiceRequest.read"],
    )


def test_a_client_gets_a_short_lived_token_with_the_scopes_it_was_given(billing_system):
    application, secret = billing_system
    response = token_for(application, secret)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert set(body["scope"].split()) == {"system/Patient.read", "system/ServiceRequest.read"}
    assert "refresh_token" not in body
    narrower = token_for(application, secret, scope="system/Patient.read").json()
    assert narrower["scope"] == "system/Patient.read"
    refused = token_for(application, secret, scope="system/Patient.write")
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_scope")
    assert secret not in application.client_secret  # only a hash is kept


def test_the_token_reads_what_its_scopes_and_role_allow(billing_system, coordinator):
    application, secret = billing_system
    token = token_for(application, secret).json()["access_token"]
    patient = PatientFactory()
    referral = referral_in("sent", coordinator, patient=patient, reason="Secret-reason-777")
    client = bearer(token)
    assert client.get(f"/api/patients/{patient.pk}/").status_code == 200
    # Billing reads no referrals, whatever its client's scopes say.
    assert client.get(f"/api/referrals/{referral.pk}/").json()["code"] == "section_denied"
    # The front desk reads referrals without their clinical reason: so does its client.
    desk, desk_secret = integration_client_create(
        name="Call center", role=Role.FRONT_DESK, scopes=["system/ServiceRequest.read"]
    )
    desk_client = bearer(token_for(desk, desk_secret).json()["access_token"])
    read = desk_client.get(f"/api/referrals/{referral.pk}/")
    assert read.status_code == 200 and "Secret-reason-777" not in read.content.decode()
    # No scope to write patients, none for appointments, and staff-only endpoints.
    assert (
        client.patch(
            f"/api/patients/{patient.pk}/", {"given_name": "X"}, content_type="application/json"
        ).json()["message"]
        == "This client's token has no scope to write Patient."
    )
    assert client.get("/api/appointments/").status_code == 403
    for staff_only in ("/api/auth/tokens/", "/api/audit/access/", "/api/metrics/referrals/"):
        response = client.get(staff_only)
        assert response.status_code == 403, staff_only
        assert response.json()["message"] == "This endpoint is not open to integration clients."


def test_every_call_is_in_the_access_log_under_the_clients_name(billing_system):
    application, secret = billing_system
    client = bearer(token_for(application, secret).json()["access_token"])
    patient = PatientFactory()
    client.get(f"/api/patients/{patient.pk}/")
    client.get("/api/appointments/")
    allowed, denied = AccessRecord.objects.order_by("id")
    name = f"Billing system ({application.client_id[:8]})"
    assert (allowed.client, allowed.auth_method, allowed.outcome) == (name, "oauth2", "allowed")
    assert allowed.username == "client-billing-system" and allowed.patients == [patient.pk]
    assert allowed.purpose == "payment"  # the role's purpose of use
    assert (denied.client, denied.outcome) == (name, "denied")


def test_an_expired_or_unknown_token_is_a_401(billing_system):
    application, secret = billing_system
    token = token_for(application, secret).json()["access_token"]
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=901)):
        expired = bearer(token).get("/api/patients/")
    assert expired.status_code == 401
    assert expired.json()["message"] == "The bearer token is not valid or expired."
    assert bearer("not-a-token").get("/api/patients/").status_code == 401


def test_wrong_secrets_lock_out_no_one(billing_system, coordinator, client):
    application, secret = billing_system
    for _ in range(12):
        assert token_for(application, "wrong").status_code == 401
    assert token_for(application, secret).status_code == 200
    coordinator.set_password("correct horse battery")
    coordinator.save()
    signed_in = client.post(
        "/api/auth/token/",
        {"username": "alice", "password": "correct horse battery", "name": "script"},
        content_type="application/json",
    )
    assert signed_in.status_code == 201


def test_no_other_grant_makes_a_token(billing_system, coordinator):
    """However a client is registered, a person's password never becomes a token."""
    application, secret = billing_system
    application.authorization_grant_type = "password"
    application.save()
    coordinator.set_password("correct horse battery")
    coordinator.save()
    response = Client().post(
        "/oauth/token/",
        {"grant_type": "password", "username": "alice", "password": "correct horse battery"},
        HTTP_AUTHORIZATION=_basic(application.client_id, secret),
    )
    assert response.status_code in (400, 401) and "access_token" not in response.json()


def test_a_client_is_registered_with_a_known_role_and_known_scopes(db):
    with pytest.raises(InvalidInput) as refused:
        integration_client_create(name="EHR", role="robot", scopes=["system/Everything.read"])
    assert set(refused.value.errors) == {"role", "scopes"}


def test_the_command_registers_a_client_whose_secret_gets_a_token(db):
    out = io.StringIO()
    call_command(
        "integration_client", "Warehouse", "--role", "admin", "--scope", "system/*.read",
        stdout=out,
    )  # fmt: skip
    printed = dict(line.split(": ", 1) for line in out.getvalue().splitlines()[:2])
    application = Application.objects.get(client_id=printed["client_id"])
    token = token_for(application, printed["client_secret"]).json()["access_token"]
    assert bearer(token).get("/api/appointments/").status_code == 200


def test_the_admin_shows_a_clients_scopes(client, billing_system):
    application, _ = billing_system
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = client.get(f"/admin/oauth2_provider/application/{application.pk}/change/")
    assert page.status_code == 200
    assert "system/Patient.read system/ServiceRequest.read" in page.content.decode()


def test_an_address_sending_wrong_secrets_is_slowed_down(billing_system, settings):
    """Past OAUTH_FAILURES failures in 10 minutes the address gets 429s, a right
    secret too; another address, and staff sign-in, are untouched."""
    settings.OAUTH_FAILURES = 3
    application, secret = billing_system

    def ask(key, address):
        return Client(REMOTE_ADDR=address).post(
            "/oauth/token/",
            {"grant_type": "client_credentials"},
            HTTP_AUTHORIZATION=_basic(application.client_id, key),
        )

    assert [ask("wrong", "10.9.9.9").status_code for _ in range(4)] == [401, 401, 401, 401]
    refused = ask(secret, "10.9.9.9")
    assert (refused.status_code, refused.json()["error"]) == (429, "slow_down")
    assert ask(secret, "10.9.9.10").status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        assert ask(secret, "10.9.9.9").status_code == 200
