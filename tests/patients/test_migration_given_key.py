"""The migration that keeps each patient's given-name sound, on patients written before
it."""

import pytest

from integrations.models import Change
from patients.matching import phonetic_key
from tests.migrations import migrate

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migrated_back")]


def test_every_patient_gets_the_sound_of_their_given_name():
    old = migrate([("patients", "0012_search_keys")])
    Patient = old.get_model("patients", "Patient")
    names = ["Tony", "Toni", "René", "Ngọc", "杨", "Tony"]
    for n, given in enumerate(names):
        Patient.objects.create(
            mrn=f"M{n}", given_name=given, family_name="West", birth_date="1980-01-01"
        )

    changes = Change.objects.count()

    new = migrate([("patients", "0013_name_search_ranking")])
    keys = new.get_model("patients", "Patient").objects.order_by("mrn")
    assert [p.given_key for p in keys] == [phonetic_key(given) for given in names]
    assert {p.given_key for p in keys} >= {"TN", "RN", "NKK"}
    assert Change.objects.count() == changes  # a derived key is no change of the record


def test_the_change_feed_follows_patients_before_and_after_the_migration():
    for n, target in enumerate(("0012_search_keys", "0013_name_search_ranking")):
        state = migrate([("patients", target)])
        state.get_model("patients", "Patient").objects.create(
            mrn=f"M{n}", given_name="Tony", family_name="West", birth_date="1980-01-01"
        )
        assert Change.objects.filter(record_type="Patient", action="create").count() == n + 1
