import pytest

from patients.models import ContactPoint, Patient
from tests.conftest import client_for
from tests.factories import ContactPointFactory, PatientFactory

pytestmark = pytest.mark.django_db


def test_it_updates_fields_and_records_who_changed_what(api, coordinator):
    patient = PatientFactory(given_name="Jon")
    response = api.patch(f"/api/patients/{patient.pk}/", {"preferred_name": "Jonny"}, "json")

    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    patient.refresh_from_db()
    assert patient.preferred_name == "Jonny" and patient.version == 2
    latest = patient.history.first()
    assert latest.history_user == coordinator
    assert latest.diff_against(latest.prev_record).changed_fields == ["preferred_name"]


def test_a_stale_if_match_is_refused_with_412_and_nothing_changes(api):
    patient = PatientFactory(given_name="Jon")
    api.patch(f"/api/patients/{patient.pk}/", {"given_name": "John"}, "json", HTTP_IF_MATCH='"1"')

    response = api.patch(
        f"/api/patients/{patient.pk}/", {"given_name": "Johnny"}, "json", HTTP_IF_MATCH='"1"'
    )

    assert response.status_code == 412
    assert response.json()["code"] == "stale"
    assert response.json()["current_version"] == 2
    patient.refresh_from_db()
    assert patient.given_name == "John"


def test_a_current_if_match_is_accepted(api):
    patient = PatientFactory()
    response = api.patch(
        f"/api/patients/{patient.pk}/", {"given_name": "Ana"}, "json", HTTP_IF_MATCH='W/"1"'
    )
    assert response.status_code == 200


def test_a_sent_list_replaces_the_stored_one_matching_by_key(api):
    patient = PatientFactory()
    kept = ContactPointFactory(patient=patient, value="+16175550142", rank=1)
    ContactPointFactory(patient=patient, value="+16175550143", rank=2)

    response = api.patch(
        f"/api/patients/{patient.pk}/",
        {
            "contact_points": [
                {"system": "phone", "value": "617 555 0142", "rank": 2},
                {"system": "email", "value": "x@example.org", "rank": 1},
            ]
        },
        "json",
    )

    assert response.status_code == 200, response.json()
    rows = {c.value: c for c in ContactPoint.objects.filter(patient=patient)}
    assert set(rows) == {"+16175550142", "x@example.org"}
    assert rows["+16175550142"].pk == kept.pk and rows["+16175550142"].rank == 2
    assert ContactPoint.history.filter(id=kept.pk, history_type="~").count() == 1
    assert ContactPoint.history.filter(history_type="-").count() == 1
    assert Patient.objects.get(pk=patient.pk).version == 2


def test_an_omitted_list_is_kept(api):
    patient = PatientFactory()
    ContactPointFactory(patient=patient)
    api.patch(f"/api/patients/{patient.pk}/", {"given_name": "Ana"}, "json")
    assert patient.contact_points.count() == 1


def test_saving_an_unchanged_record_writes_no_history(api):
    patient = PatientFactory()
    before = Patient.history.count()
    response = api.patch(
        f"/api/patients/{patient.pk}/", {"given_name": patient.given_name}, "json"
    )
    assert response.status_code == 200
    assert Patient.history.count() == before
    assert Patient.objects.get(pk=patient.pk).version == 1


def test_a_record_is_not_marked_merged_by_an_update(api):
    patient, survivor = PatientFactory(), PatientFactory()
    response = api.patch(
        f"/api/patients/{patient.pk}/", {"status": "merged", "merged_into_id": survivor.pk}, "json"
    )
    assert response.status_code == 400 and "merge/" in response.json()["errors"]["status"][0]
    assert Patient.objects.get(pk=patient.pk).status == "active"


def test_every_staff_role_can_read_a_patient(billing, pharmacist, front_desk, admin_user):
    patient = PatientFactory()
    for user in (billing, pharmacist, front_desk, admin_user):
        assert client_for(user).get(f"/api/patients/{patient.pk}/").status_code == 200
