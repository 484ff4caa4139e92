import pytest
from django.db import DatabaseError, connection, transaction

from crm.models import AccessRecord
from tests.conftest import client_for
from tests.factories import InteractionFactory, PatientFactory

pytestmark = pytest.mark.django_db


def last_record() -> AccessRecord:
    return AccessRecord.objects.order_by("-id").first()


def test_reading_a_patient_records_who_what_when_and_why(api, coordinator):
    patient = PatientFactory()
    response = api.get(
        f"/api/patients/{patient.pk}/", HTTP_X_REQUEST_ID="req-123", REMOTE_ADDR="10.1.2.3"
    )
    record = last_record()
    assert response["X-Request-ID"] == "req-123"
    assert (record.user_id, record.username, record.patients) == (
        coordinator.pk,
        "alice",
        [patient.pk],
    )
    assert (record.action, record.method, record.endpoint) == (
        "retrieve",
        "GET",
        f"/api/patients/{patient.pk}/",
    )
    assert (record.outcome, record.status_code, record.purpose) == ("allowed", 200, "treatment")
    assert (record.client_address, record.request_id) == ("10.1.2.3", "req-123")


def test_a_list_records_the_patients_on_the_page(api):
    first, second = PatientFactory(), PatientFactory()
    InteractionFactory(patient=first)
    InteractionFactory(patient=second)
    api.get("/api/interactions/")
    assert sorted(last_record().patients) == sorted([first.pk, second.pk])


def test_a_refused_request_is_recorded_as_denied(billing):
    patient = PatientFactory()
    client_for(billing).get(f"/api/patients/{patient.pk}/history/")
    record = last_record()
    assert (record.outcome, record.status_code, record.patients) == ("denied", 403, [patient.pk])
    assert record.purpose == "payment"


def test_an_anonymous_request_is_recorded_too(client):
    client.get("/api/patients/")
    record = last_record()
    assert (record.user_id, record.outcome, record.status_code) == (None, "denied", 401)


def test_a_stated_purpose_is_kept_and_an_unknown_one_ignored(api):
    patient = PatientFactory()
    api.get(f"/api/patients/{patient.pk}/", HTTP_X_PURPOSE_OF_USE="operations")
    assert last_record().purpose == "operations"
    api.get(f"/api/patients/{patient.pk}/", HTTP_X_PURPOSE_OF_USE="curiosity")
    assert last_record().purpose == "treatment"


def test_the_access_log_adds_exactly_one_query(coordinator, settings, django_assert_num_queries):
    patient = PatientFactory()
    url = f"/api/patients/{patient.pk}/360/"
    audited = list(settings.MIDDLEWARE)
    for middleware, queries in (
        ([m for m in audited if m != "crm.audit.AccessLogMiddleware"], 12),
        (audited, 13),
    ):
        settings.MIDDLEWARE = middleware
        coordinator.__dict__.pop("_crm_roles", None)
        client = client_for(coordinator)  # a new client builds the middleware chain anew
        with django_assert_num_queries(queries):
            client.get(url)


def test_directory_reads_are_not_patient_data(api):
    api.get("/api/organizations/")
    assert not AccessRecord.objects.exists()


def test_records_cannot_be_changed_or_deleted_by_the_application(api):
    api.get("/api/patients/")
    record = last_record()
    record.username = "someone-else"
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        record.delete()
    with pytest.raises(PermissionError):
        AccessRecord.objects.update(username="x")
    with pytest.raises(PermissionError):
        AccessRecord.objects.all().delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the guard is a PostgreSQL trigger")
def test_the_database_refuses_to_change_or_delete_records(api):
    api.get("/api/patients/")
    for statement in (
        "UPDATE crm_accessrecord SET username = 'x'",
        "DELETE FROM crm_accessrecord",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AccessRecord.objects.count() == 1


def test_the_privacy_officer_sees_who_accessed_a_patient(admin_user, coordinator, clinician):
    patient, other = PatientFactory(), PatientFactory()
    client_for(coordinator).get(f"/api/patients/{patient.pk}/")
    client_for(clinician).get(f"/api/patients/{other.pk}/")
    client_for(clinician).get(f"/api/patients/{patient.pk}/360/")
    rows = client_for(admin_user).get("/api/audit/access/", {"patient": patient.pk}).json()
    assert [r["username"] for r in rows["results"]] == ["carla", "alice"]
    by_user = client_for(admin_user).get("/api/audit/access/", {"user": clinician.pk}).json()
    assert {tuple(r["patients"]) for r in by_user["results"]} == {(patient.pk,), (other.pk,)}
    assert by_user["results"][0]["outcome"] == {"value": "allowed", "label": "Allowed"}
    assert by_user["results"][0]["purpose"] == {"value": "treatment", "label": "Treatment"}


def test_only_the_privacy_officer_reads_the_access_log(coordinator):
    assert client_for(coordinator).get("/api/audit/access/").status_code == 403


def test_a_script_is_named_by_its_token(coordinator, client):
    from crm.authentication import api_token_create

    _, key = api_token_create(user=coordinator, name="EHR sync")
    client.get("/api/patients/", HTTP_AUTHORIZATION=f"Token {key}")
    record = last_record()
    assert (record.auth_method, record.client) == ("token", f"EHR sync ({key[:8]})")


def test_passwords_must_pass_the_validators():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("password", "12345678", "short"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("a-long-and-unusual-passphrase-2026")


@pytest.mark.parametrize("tail", ["events/", "history/", ""])
def test_reading_a_referrals_events_and_history_names_its_patient(api, coordinator, tail):
    from tests.referrals.helpers import referral_in

    referral = referral_in("sent", coordinator)
    response = api.get(f"/api/referrals/{referral.pk}/{tail}")
    assert response.status_code == 200
    assert last_record().patients == [referral.patient_id]


def test_a_complaints_events_name_its_patient(api, coordinator):
    from interactions.services import complaint_create

    complaint = complaint_create(
        actor=coordinator,
        patient=PatientFactory(),
        channel="phone",
        category="billing",
        department="billing",
        description="Charged twice.",
    )
    assert api.get(f"/api/complaints/{complaint.pk}/events/").status_code == 200
    assert last_record().patients == [complaint.patient_id]


def test_a_refused_read_names_the_patient_it_was_about(billing, coordinator):
    from tests.referrals.helpers import referral_in

    referral = referral_in("sent", coordinator)
    restricted = InteractionFactory(sensitivity="restricted", department="clinical")
    client = client_for(billing)
    assert client.get(f"/api/referrals/{referral.pk}/").status_code == 403
    assert (last_record().outcome, last_record().patients) == ("denied", [referral.patient_id])
    assert client.get(f"/api/interactions/{restricted.pk}/").status_code == 404
    assert (last_record().outcome, last_record().patients) == ("failed", [restricted.patient_id])
