"""An integration pushes its patients by identifier: the record holding it is updated,
otherwise one is registered under the duplicate rule; pushing again changes nothing."""

import pytest

from patients.merge import patient_merge
from patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

EHR = "urn:oid:2.16.840.1.113883.3.42"


def push(api, **fields):
    body = {
        "given_name": "Sofía",
        "family_name": "Reyes",
        "birth_date": "1991-08-30",
        "identifiers": [{"system": EHR, "value": "E-7"}],
        "contact_points": [{"system": "sms", "value": "+13125550142"}],
        **fields,
    }
    return api.post("/api/patients/push/", body, "json")


def test_a_push_registers_then_updates_the_record_holding_the_identifier(api):
    created = push(api)
    assert created.status_code == 201, created.json()
    again = push(api)
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    assert again.json()["version"] == created.json()["version"]  # nothing changed
    moved = push(api, contact_points=[{"system": "sms", "value": "+13125550199"}])
    assert moved.status_code == 200 and moved.json()["version"] == created.json()["version"] + 1
    patient = Patient.objects.get()
    assert list(patient.contact_points.values_list("value", flat=True)) == ["+13125550199"]
    assert list(patient.identifiers.values_list("value", flat=True)) == ["E-7"]


def test_a_new_identifier_for_someone_registered_is_a_likely_duplicate(api):
    PatientFactory(given_name="Sofía", family_name="Reyes", birth_date="1991-08-30")
    response = push(api)
    assert response.status_code == 409 and response.json()["code"] == "possible_duplicate"
    assert push(api, confirm_new_person=True).status_code == 201


def test_a_push_after_a_merge_reaches_the_survivor(api):
    first = push(api).json()["id"]
    survivor = PatientFactory()
    patient_merge(
        survivor=survivor, merged=Patient.objects.get(pk=first), actor=None, reason="same"
    )
    response = push(api, given_name="Sofia")
    assert response.status_code == 200 and response.json()["id"] == survivor.pk


def test_a_push_names_its_patient_by_an_identifier(api):
    response = push(api, identifiers=[])
    assert response.status_code == 400 and "identifiers" in response.json()["errors"]
