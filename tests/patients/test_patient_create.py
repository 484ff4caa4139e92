import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients.models import Patient, PatientIdentifier
from tests.factories import PatientFactory, PractitionerFactory

pytestmark = pytest.mark.django_db

FULL = {
    "family_name": "陈",
    "given_name": "伟",
    "birth_date": "1958-03-02",
    "administrative_sex": "male",
    "interpreter_needed": "yes",
    "accessibility_needs": ["large_print"],
    "preferred_channel": "phone",
    "contact_window_start": "09:00",
    "contact_window_end": "12:00",
    "time_zone": "America/New_York",
    "identifiers": [{"system": "urn:ehr:epic", "value": "E-100"}],
    "contact_points": [
        {"system": "phone", "value": "(617) 555-0142", "use": "mobile", "rank": 1},
        {"system": "email", "value": "Wei.Chen@Example.org", "rank": 2},
    ],
    "languages": [{"language": "zh-hans", "preferred": True}, {"language": "en", "rank": 2}],
    "consents": [
        {"channel": "sms", "purpose": "marketing", "status": "opt_out", "source": "phone"}
    ],
}


def test_it_creates_a_patient_with_the_whole_record(api, coordinator):
    pcp = PractitionerFactory()
    response = api.post(
        "/api/patients/",
        {**FULL, "care_coordinator_id": coordinator.pk, "primary_care_practitioner_id": pcp.pk},
        "json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["family_name"] == "陈" and body["given_name"] == "伟"
    assert body["mrn"].startswith("M") and len(body["mrn"]) == 10
    assert body["care_coordinator"] == {"id": coordinator.pk, "name": coordinator.get_full_name()}
    assert body["primary_care_practitioner"]["id"] == pcp.pk
    assert body["accessibility_needs"] == [{"value": "large_print", "label": "Large print"}]
    assert response["ETag"] == '"1"'

    patient = Patient.objects.get(pk=body["id"])
    assert [c.value for c in patient.contact_points.order_by("rank")] == [
        "+16175550142",
        "wei.chen@example.org",
    ]
    assert [lang.language for lang in patient.languages.order_by("rank")] == ["zh-Hans", "en"]
    assert patient.consents.get().captured_by == coordinator
    assert patient.history.count() == 1
    assert patient.history.first().history_user == coordinator


@pytest.mark.parametrize(
    "name", ["Nguyễn Thị Hoa", "José Ñúñez", "محمد", "O'Brien-Smythe", "Zoë 🌸"]
)
def test_unicode_names_round_trip_unchanged(api, name):
    family, _, given = name.rpartition(" ")
    response = api.post(
        "/api/patients/",
        {"family_name": family or given, "given_name": given, "birth_date": "1990-01-01"},
        "json",
    )
    assert response.status_code == 201
    stored = api.get(f"/api/patients/{response.json()['id']}/").json()
    assert (stored["family_name"], stored["given_name"]) == (family or given, given)


def test_a_given_mrn_must_be_unique(api):
    PatientFactory(mrn="A123")
    response = api.post(
        "/api/patients/",
        {"mrn": "A123", "family_name": "Doe", "given_name": "J", "birth_date": "1990-01-01"},
        "json",
    )
    assert response.status_code == 400
    assert "mrn" in response.json()["errors"]


def test_an_external_identifier_is_unique_per_system(api):
    first = {**FULL, "contact_points": [], "consents": []}
    assert api.post("/api/patients/", first, "json").status_code == 201
    # Told it is someone else, the identifier still may not be shared.
    response = api.post("/api/patients/", {**first, "confirm_new_person": True}, "json")

    assert response.status_code == 400
    assert response.json()["errors"]["identifiers"][0] == {
        "value": ["Another patient already has this identifier."]
    }
    assert Patient.objects.count() == 1


def test_identifiers_held_by_others_are_named_each_in_one_query(api):
    held = [{"system": f"urn:ehr:{n}", "value": f"E-{n}"} for n in range(3)]
    other = PatientFactory()
    for identifier in held[1:]:
        PatientIdentifier.objects.create(patient=other, **identifier)

    def register(identifiers):
        body = {**FULL, "contact_points": [], "consents": [], "identifiers": identifiers}
        with CaptureQueriesContext(connection) as captured:
            response = api.post("/api/patients/", {**body, "confirm_new_person": True}, "json")
        return response, len(captured)

    register(held)  # the session's first request also reads the user's roles
    response, queries = register(held)
    assert response.status_code == 400
    assert response.json()["errors"]["identifiers"] == [
        {},
        {"value": ["Another patient already has this identifier."]},
        {"value": ["Another patient already has this identifier."]},
    ]
    assert Patient.objects.count() == 1
    assert register(held[1:2])[1] == queries  # as many queries for one as for three


def test_the_same_value_in_another_system_is_fine(api):
    api.post("/api/patients/", {**FULL, "contact_points": []}, "json")
    other = {
        **FULL,
        "contact_points": [],
        "identifiers": [{"system": "urn:payer:aetna", "value": "E-100"}],
        "confirm_new_person": True,  # the same name and birth date: a look-alike
    }
    assert api.post("/api/patients/", other, "json").status_code == 201


def test_duplicate_items_in_one_list_are_refused(api):
    response = api.post(
        "/api/patients/",
        {
            **FULL,
            "contact_points": [
                {"system": "phone", "value": "617-555-0142"},
                {"system": "phone", "value": "+1 (617) 555 0142"},
            ],
        },
        "json",
    )
    assert response.status_code == 400
    assert response.json()["errors"]["contact_points"][1] == {"value": ["Repeats item 1."]}
    assert Patient.objects.count() == 0


def test_a_half_contact_window_is_refused(api):
    response = api.post(
        "/api/patients/",
        {
            "family_name": "D",
            "given_name": "J",
            "birth_date": "1990-01-01",
            "contact_window_start": "09:00",
        },
        "json",
    )
    assert response.status_code == 400
    assert "contact_window_end" in response.json()["errors"]


def test_an_unknown_time_zone_is_refused(api):
    response = api.post(
        "/api/patients/",
        {
            "family_name": "D",
            "given_name": "J",
            "birth_date": "1990-01-01",
            "time_zone": "Mars/Olympus",
        },
        "json",
    )
    assert "time_zone" in response.json()["errors"]


def test_a_failed_child_write_leaves_nothing_behind(api):
    bad = {**FULL, "languages": [{"language": "es"}, {"language": "not a tag"}]}
    assert api.post("/api/patients/", bad, "json").status_code == 400
    assert Patient.objects.count() == 0
