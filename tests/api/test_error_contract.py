"""Every 4xx has one body shape, and no input produces a 500."""

import json

import pytest

from tests.conftest import client_for
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

VALID_PATIENT = {"family_name": "Ñúñez", "given_name": "José", "birth_date": "1980-02-29"}


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"message", "code", "errors"}
    assert isinstance(body["message"], str) and body["message"]
    if code:
        assert body["code"] == code
    return body


def test_malformed_json_is_a_400(api):
    response = api.post(
        "/api/patients/", data='{"family_name": "x",', content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


def test_a_json_array_instead_of_an_object_is_a_400(api):
    response = api.post("/api/patients/", data="[1, 2]", content_type="application/json")
    assert_error(response, 400)


def test_nul_bytes_are_refused_with_a_field_error(api):
    response = api.post("/api/patients/", {**VALID_PATIENT, "family_name": "Smi\x00th"}, "json")
    body = assert_error(response, 400, "invalid")
    assert "family_name" in body["errors"]


def test_nul_bytes_in_a_filter_are_refused(api):
    assert_error(api.get("/api/patients/", {"name": "a\x00b"}), 400)


def test_a_10_kb_string_is_refused_not_truncated(api):
    response = api.post("/api/patients/", {**VALID_PATIENT, "family_name": "x" * 10_000}, "json")
    body = assert_error(response, 400)
    assert "family_name" in body["errors"]


def test_an_unknown_enum_value_names_the_field(api):
    response = api.post("/api/patients/", {**VALID_PATIENT, "status": "zombie"}, "json")
    body = assert_error(response, 400)
    assert "status" in body["errors"]


def test_a_future_birth_date_is_refused(api):
    response = api.post("/api/patients/", {**VALID_PATIENT, "birth_date": "2999-01-01"}, "json")
    assert "birth_date" in assert_error(response, 400)["errors"]


def test_a_bad_phone_number_is_refused_per_item(api):
    response = api.post(
        "/api/patients/",
        {
            **VALID_PATIENT,
            "contact_points": [
                {"system": "phone", "value": "(617) 555-0142"},
                {"system": "phone", "value": "12"},
            ],
        },
        "json",
    )
    body = assert_error(response, 400)
    assert body["errors"]["contact_points"][0] == {}
    assert "value" in body["errors"]["contact_points"][1]


def test_a_bad_language_tag_is_refused(api):
    response = api.post(
        "/api/patients/", {**VALID_PATIENT, "languages": [{"language": "klingon!"}]}, "json"
    )
    assert "languages" in assert_error(response, 400)["errors"]


def test_unknown_ids_are_404(api):
    assert_error(api.get("/api/patients/999999/"), 404, "not_found")
    assert_error(api.get("/api/patients/999999/360/"), 404, "not_found")
    assert_error(api.get("/api/patients/99999999999999999999999/"), 404)


def test_an_unknown_foreign_key_is_a_field_error(api):
    response = api.post(
        "/api/referrals/", {"patient_id": 999999, "specialty": "x", "reason": "y"}, "json"
    )
    assert "patient_id" in assert_error(response, 400)["errors"]


def test_a_huge_integer_is_a_field_error_not_a_database_error(api):
    patient = PatientFactory()
    response = api.post(
        "/api/interactions/",
        {
            "patient_id": patient.pk,
            "channel": "phone",
            "direction": "inbound",
            "department": "billing",
            "duration_seconds": 10**30,
        },
        "json",
    )
    assert "duration_seconds" in assert_error(response, 400)["errors"]


def test_a_garbage_cursor_is_a_4xx(api):
    response = api.get("/api/interactions/", {"cursor": "not-a-cursor"})
    assert 400 <= response.status_code < 500


def test_a_wrong_content_type_is_415(api):
    response = api.post("/api/patients/", data="family_name=x", content_type="text/plain")
    assert_error(response, 415)


def test_an_oversized_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = json.dumps({**VALID_PATIENT, "accessibility_notes": "x" * 5000})
    response = api.post("/api/patients/", data=payload, content_type="application/json")
    assert_error(response, 413, "too_large")


def test_an_unknown_api_path_is_a_json_404(api):
    assert_error(api.get("/api/no-such-thing/"), 404, "not_found")


def test_anonymous_requests_are_401_with_a_challenge(client):
    response = client.get("/api/patients/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_user_without_a_staff_role_is_refused(outsider):
    body = assert_error(client_for(outsider).get("/api/patients/"), 403, "permission_denied")
    assert "staff role" in body["message"]


def test_a_malformed_if_match_is_a_400(api):
    patient = PatientFactory()
    response = api.patch(
        f"/api/patients/{patient.pk}/", {"given_name": "A"}, "json", HTTP_IF_MATCH="abc"
    )
    assert "If-Match" in assert_error(response, 400)["errors"]


# Found by an outside attack on the running server; each was a 500.


def test_a_read_only_creation_time_is_ignored_not_a_500(api, coordinator):
    from referrals.models import Referral

    patient = PatientFactory()
    body = {"patient_id": patient.pk, "specialty": "Cardiology", "reason": "Palpitations."}
    response = api.post("/api/referrals/", {**body, "created_at": "2001-01-01T00:00:00Z"}, "json")
    assert response.status_code == 201, response.json()
    referral = Referral.objects.get(pk=response.json()["id"])
    assert referral.created_at.year != 2001
    patched = api.patch(
        f"/api/referrals/{referral.pk}/", {"created_at": "2001-01-01T00:00:00Z"}, "json"
    )
    assert patched.status_code == 200
    referral.refresh_from_db()
    assert referral.created_at.year != 2001


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/follow-ups/", "due_before"),
        ("/api/follow-ups/", "due_after"),
        ("/api/interactions/", "occurred_after"),
        ("/api/interactions/", "occurred_before"),
        ("/api/audit/access/", "after"),
    ],
)
@pytest.mark.parametrize("offset", ["-21:00", "+23:59"])
def test_a_date_time_with_a_large_offset_is_read_in_utc(admin_user, api, path, parameter, offset):
    client = client_for(admin_user) if "audit" in path else api
    response = client.get(path, {parameter: f"2026-01-01T00:00:00{offset}"})
    assert response.status_code == 200, response.content


def test_the_earliest_date_time_with_a_negative_offset_is_a_400(api):
    response = api.get("/api/follow-ups/", {"due_before": "0001-01-01T00:00:00+05:00"})
    body = assert_error(response, 400)
    assert "due_before" in body["errors"]


def test_json_nested_thousands_of_levels_deep_is_a_400(api):
    deep = "[" * 5000 + "]" * 5000
    response = api.post("/api/patients/", data=deep, content_type="application/json")
    assert_error(response, 400, "parse_error")
    nested = {"family_name": "x"}
    for _ in range(40):
        nested = {"a": nested}
    assert_error(api.post("/api/patients/", nested, "json"), 400, "parse_error")


@pytest.mark.parametrize(
    "path", ["/api/patients/1%00/", "/api/interactions/1%00/", "/api/referrals/1%00/send/"]
)
def test_a_nul_byte_in_the_path_is_a_404_and_still_logged(api, path):
    from crm.models import AccessRecord

    response = api.post(path, {}, "json") if path.endswith("send/") else api.get(path)
    assert_error(response, 404)
    assert AccessRecord.objects.order_by("-id").first().endpoint == path.replace("%00", "\\x00")


def test_a_cursor_holding_a_nul_byte_is_a_400(api):
    import base64
    from urllib.parse import quote

    forged = base64.b64encode(b"p=a\x00b&o=0").decode()
    response = api.get(f"/api/patients/?cursor={quote(forged)}")
    body = assert_error(response, 400)
    assert "cursor" in body["errors"]


@pytest.mark.parametrize("path", ["/api/metrics/referrals/", "/api/metrics/experience/"])
def test_metrics_for_the_last_days_of_the_calendar_are_a_400(api, path):
    body = assert_error(api.get(path, {"start": "9999-12-30", "end": "9999-12-31"}), 400)
    assert "end" in body["errors"]


def test_api_answers_are_never_cached(api):
    patient = PatientFactory()
    cache_control = api.get(f"/api/patients/{patient.pk}/")["Cache-Control"]
    assert "no-store" in cache_control and "private" in cache_control


@pytest.mark.parametrize("kind", ["patch", "transition"])
def test_a_change_without_if_match_is_a_428_and_changes_nothing(api, coordinator, kind):
    from tests.referrals.helpers import referral_in

    referral = referral_in("sent", coordinator)
    if kind == "patch":
        response = api.patch(
            f"/api/referrals/{referral.pk}/", {"priority": "stat"}, "json", if_match=False
        )
    else:
        response = api.post(f"/api/referrals/{referral.pk}/accept/", {}, "json", if_match=False)
    body = assert_error(response, 428, "precondition_required")
    assert "If-Match" in body["errors"]
    referral.refresh_from_db()
    assert (referral.status, referral.priority, referral.version) == ("sent", "routine", 2)
