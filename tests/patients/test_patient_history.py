import pytest

from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_history_lists_each_change_with_user_and_fields(api, coordinator):
    created = api.post(
        "/api/patients/",
        {
            "family_name": "Doe",
            "given_name": "Jane",
            "birth_date": "1980-01-01",
            "contact_points": [{"system": "phone", "value": "617-555-0142"}],
        },
        "json",
    ).json()
    api.patch(
        f"/api/patients/{created['id']}/",
        {"given_name": "Janet", "contact_points": [{"system": "phone", "value": "617-555-0143"}]},
        "json",
    )

    response = api.get(f"/api/patients/{created['id']}/history/")

    assert response.status_code == 200
    entries = response.json()["results"]
    patient_change = next(
        e for e in entries if e["record"] == "patient" and e["type"] == "changed"
    )
    assert patient_change["user"] == {"id": coordinator.pk, "name": coordinator.get_full_name()}
    assert {"field": "given_name", "from": "Jane", "to": "Janet"} in patient_change["changes"]
    contact_types = sorted(e["type"] for e in entries if e["record"] == "contact_point")
    assert contact_types == ["created", "created", "deleted"]
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)


def test_history_of_an_unknown_patient_is_404(api):
    assert api.get("/api/patients/424242/history/").status_code == 404


def test_history_is_paginated(api):
    patient = PatientFactory()
    for n in range(3):
        api.patch(f"/api/patients/{patient.pk}/", {"given_name": f"N{n}"}, "json")
    body = api.get(f"/api/patients/{patient.pk}/history/", {"page_size": 2}).json()
    assert body["count"] == 4 and len(body["results"]) == 2 and body["next"]
