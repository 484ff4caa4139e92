"""Registering a patient who may be registered already: a 409 with the records and why,
unless the person registering confirms someone new; then the pair is kept as two
people, decided by them."""

import datetime as dt

import pytest

from patients.models import DuplicateCandidate, Patient, PatientIdentifier
from patients.selectors import duplicate_candidates, person_of
from tests.factories import ContactPointFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered():
    patient = PatientFactory(given_name="Mei", family_name="Yang", birth_date=dt.date(1979, 5, 14),
                             administrative_sex="female")  # fmt: skip
    ContactPointFactory(patient=patient, system="sms", value="+13125550177")
    return patient


def register(api, **fields):
    body = {
        "given_name": "Mei",
        "family_name": "Yang",
        "birth_date": "1979-05-14",
        "administrative_sex": "female",
        "contact_points": [{"system": "sms", "value": "(312) 555-0177", "use": "mobile"}],
        **fields,
    }
    return api.post("/api/patients/", body, "json")


def test_an_exact_duplicate_is_refused_with_the_record_and_why(api, registered):
    response = register(api)
    assert response.status_code == 409, response.json()
    body = response.json()
    assert body["code"] == "possible_duplicate"
    [candidate] = body["candidates"]
    assert candidate["patient"]["id"] == registered.pk and candidate["score"] >= 12
    reasons = {e["field"]: e["outcome"] for e in candidate["evidence"]}
    assert reasons == {"family_name": "same", "given_name": "same", "birth_date": "same",
                       "phone": "shared"}  # fmt: skip
    assert Patient.objects.count() == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"family_name": "Yangg"},
        {"given_name": "Yang", "family_name": "Mei"},
        {"birth_date": "1979-05-15"},
        {"contact_points": [], "family_name": "Yang", "given_name": "Mei"},
    ],
)
def test_a_mistyped_or_rewritten_duplicate_is_caught_too(api, registered, fields):
    assert register(api, **fields).status_code == 409


def test_confirming_a_new_person_registers_and_records_the_decision(api, coordinator, registered):
    response = register(api, given_name="Lan", confirm_new_person=True)  # her twin
    assert response.status_code == 201, response.json()
    assert "confirm_new_person" not in response.json()
    twin = Patient.objects.get(pk=response.json()["id"])
    # A twin scores below the line: nothing to decide, nothing recorded.
    assert not DuplicateCandidate.objects.exists()
    response = register(api, confirm_new_person=True)
    assert response.status_code == 201
    decided = DuplicateCandidate.objects.get()
    assert (decided.patient_id, decided.other_id) == (registered.pk, response.json()["id"])
    assert (decided.status, decided.found_by, decided.decided_by) == (
        "distinct",
        "registration",
        coordinator,
    )
    assert twin.pk != decided.other_id


def test_someone_else_registers_at_once(api, registered):
    response = register(api, given_name="Tomás", family_name="Ortega", birth_date="1990-01-02",
                        contact_points=[])  # fmt: skip
    assert response.status_code == 201


def test_a_merged_record_is_no_candidate(api, registered):
    survivor = PatientFactory()
    Patient.objects.filter(pk=registered.pk).update(status="merged", merged_into=survivor)
    assert register(api).status_code == 201


def test_the_lookup_takes_a_fixed_number_of_queries(registered, django_assert_num_queries):
    PatientIdentifier.objects.create(patient=registered, system="urn:ehr", value="E-1")
    me = person_of(Patient.objects.prefetch_related("contact_points", "identifiers").get())
    born_that_day = 0
    for count in (1, 30):
        for n in range(count):
            other = PatientFactory(birth_date=dt.date(1979, 5, 14), family_name=f"Other{count}{n}")
            PatientIdentifier.objects.create(
                patient=other, system="urn:ehr", value=f"E-{other.pk}"
            )
        born_that_day += count
        # the records the lookups find, then the contact points they share with me and
        # their identifiers of my systems
        with django_assert_num_queries(2):
            found = duplicate_candidates(me, least=-100)
        assert len(found) == born_that_day
        # Each other record's identifier of my system counts against it.
        assert all(
            ("identifier urn:ehr", "different") in [(e.field, e.outcome) for e in match.evidence]
            for match in found
        )
