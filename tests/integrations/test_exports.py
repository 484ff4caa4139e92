"""Bulk export: NDJSON per type of what the caller may read, written by the worker,
every line valid JSON with the type's columns less the hidden ones, downloadable by
who asked until it expires, each download in the access log."""

import datetime as dt
import json

import pytest
import time_machine
from django.utils import timezone

from crm.integrations import integration_client_create
from crm.models import AccessRecord
from crm.roles import Role
from integrations.exports import COLUMNS, exports_expire
from integrations.models import Export
from messaging.models import Message
from patients.models import Patient
from tests.api.test_integration_clients import token_for
from tests.conftest import client_for
from tests.factories import InteractionFactory, PatientFactory, UserFactory
from tests.referrals.helpers import referral_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.EXPORT_DIR = str(tmp_path / "exports")


def export(api, django_capture_on_commit_callbacks, **body):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/exports/", body, "json")
    assert response.status_code == 202, response.json()
    return api.get(f"/api/exports/{response.json()['id']}/").json()


def lines(api, url):
    response = api.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    return [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]


def test_an_export_writes_a_valid_ndjson_file_per_type(
    api, coordinator, django_capture_on_commit_callbacks
):
    patients = PatientFactory.create_batch(5, given_name="Zoë")
    InteractionFactory.create_batch(3, patient=patients[0], summary="Llamó — sí")
    referral_in("sent", coordinator, patient=patients[1], reason="Knee pain")
    types = ["Patient", "Interaction", "Referral"]
    done = export(api, django_capture_on_commit_callbacks, types=types)
    assert done["status"] == "done"
    everyone = Patient.objects.count()
    assert done["counts"] == {"Patient": everyone, "Interaction": 3, "Referral": 1}
    files = {f["type"]: f["url"] for f in done["files"]}
    rows = lines(api, files["Patient"])
    assert len(rows) == done["counts"]["Patient"]
    assert set(rows[0]) == set(COLUMNS["Patient"][0])  # never name_search
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert {r["summary"] for r in lines(api, files["Interaction"])} == {"Llamó — sí"}
    assert lines(api, files["Referral"])[0]["reason"] == "Knee pain"


def test_an_export_holds_only_what_the_role_and_scopes_read(
    client, coordinator, django_capture_on_commit_callbacks
):
    patient = PatientFactory()
    referral_in("sent", coordinator, patient=patient, reason="Secret-reason-888")
    desk = UserFactory(username="desk", roles=[Role.FRONT_DESK])
    done = export(client_for(desk), django_capture_on_commit_callbacks, types=["Referral"])
    [row] = lines(client_for(desk), done["files"][0]["url"])
    assert "reason" not in row and "report_summary" not in row
    # A billing system's client with patient scope: patients only, whatever it asks.
    application, secret = integration_client_create(
        name="Billing", role=Role.BILLING, scopes=["system/Patient.read"]
    )
    token = token_for(application, secret).json()["access_token"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/exports/", {}, content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )  # fmt: skip
    assert response.status_code == 202
    assert set(Export.objects.get(pk=response.json()["id"]).counts) == {"Patient"}


def test_a_message_export_never_holds_link_nonces(api, django_capture_on_commit_callbacks):
    patient = PatientFactory()
    Message.objects.create(
        patient=patient, channel="sms", direction="outbound", purpose="surveys",
        department="front_desk", template="survey_invitation", body="(masked)",
        context={"link_nonce": "Secret-nonce-999"}, sender="rule",
        send_after=timezone.now(), created_at=timezone.now(),
    )  # fmt: skip
    done = export(api, django_capture_on_commit_callbacks, types=["Message"])
    text = json.dumps(lines(api, done["files"][0]["url"]))
    assert "Secret-nonce-999" not in text and '"body": "(masked)"' in text


def test_since_exports_only_what_changed_after(api, django_capture_on_commit_callbacks):
    with time_machine.travel(timezone.now() - dt.timedelta(days=3)):
        PatientFactory.create_batch(2)
    recent = PatientFactory()
    cut = (timezone.now() - dt.timedelta(days=1)).isoformat()
    done = export(api, django_capture_on_commit_callbacks, types=["Patient"], since=cut)
    assert [r["id"] for r in lines(api, done["files"][0]["url"])] == [recent.pk]


def test_downloads_are_the_askers_until_expiry_and_logged(
    api, coordinator, django_capture_on_commit_callbacks
):
    PatientFactory()
    done = export(api, django_capture_on_commit_callbacks, types=["Patient"])
    url = done["files"][0]["url"]
    lines(api, url)
    logged = AccessRecord.objects.filter(endpoint=url).get()
    assert (logged.user_id, logged.action, logged.outcome) == (coordinator.pk, "file", "allowed")
    other = client_for(UserFactory(username="other", roles=[Role.COORDINATOR]))
    assert other.get(url).status_code == 404
    with time_machine.travel(timezone.now() + dt.timedelta(hours=25)):
        assert api.get(url).status_code == 410
        assert exports_expire() == 1


@pytest.mark.parametrize(
    "body",
    [{"types": ["Invoice"]}, {"since": "yesterday"}, {"types": "Patient"}],
)
def test_bad_requests_are_400s(api, body):
    assert api.post("/api/exports/", body, "json").status_code == 400


def test_asking_for_an_export_costs_pinned_queries(api, django_assert_num_queries):
    """The export row and the access record; the files are the worker's."""
    api.get("/api/exports/")  # the first request of the session also reads the roles
    with django_assert_num_queries(2):
        assert api.post("/api/exports/", {"types": ["Patient"]}, "json").status_code == 202
