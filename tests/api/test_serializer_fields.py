import pytest
from rest_framework import serializers

import api.urls  # noqa: F401 (every serializer the API uses, imported)
from api.fields import FieldsBuiltOnce
from api.serializers.referrals import ReferralSerializer
from tests.conftest import subclasses
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db


def test_every_serializer_of_the_api_builds_its_fields_once():
    ours = {
        cls
        for cls in subclasses(serializers.Serializer)
        if cls.__module__.startswith("api.") and cls.__module__ != "api.fields"
    }
    assert len(ours) > 50
    assert not {cls.__name__ for cls in ours if not issubclass(cls, FieldsBuiltOnce)}


def test_the_fields_are_built_once_and_each_instance_binds_its_own(monkeypatch):
    built = []
    build = serializers.ModelSerializer.get_fields

    def counted(self):
        built.append(type(self))
        return build(self)

    monkeypatch.setattr(serializers.ModelSerializer, "get_fields", counted)

    class Probe(ReferralSerializer):
        pass

    first, second = Probe(), Probe()
    assert first.fields.keys() == second.fields.keys()
    assert built == [Probe]
    for name in ("status", "patient", "coordinator"):
        assert first.fields[name] is not second.fields[name]
        assert (first.fields[name].parent, second.fields[name].parent) == (first, second)
    # A nested serializer is a whole new one, with fields of its own.
    first_patient, second_patient = first.fields["patient"], second.fields["patient"]
    assert first_patient.fields["id"] is not second_patient.fields["id"]


def test_what_an_instance_changes_in_its_fields_stays_with_it():
    referral = ReferralFactory()
    update = ReferralSerializer(instance=referral)
    create = ReferralSerializer()
    assert update.fields["patient_id"].read_only
    assert not create.fields["patient_id"].read_only
    assert not ReferralSerializer().fields["patient_id"].read_only
