"""The Django admin site holds configuration only: no model it registers is patient
data, so a superuser there cannot read what the access policy and the access log
guard."""

import pytest
from django.apps import apps
from django.contrib import admin

from patients.models import Patient
from tests.factories import InteractionFactory, PatientFactory, UserFactory
from tests.referrals.helpers import referral_in

pytestmark = pytest.mark.django_db


def holds_patient_data(model) -> bool:
    """The patient record itself, or any row that points at a patient (directly or
    through a historical copy)."""
    model = getattr(model, "instance_type", model)  # simple-history's historical models
    if model is Patient:
        return True
    return any(
        field.is_relation and field.related_model is Patient
        for field in model._meta.get_fields()
        if field.many_to_one or field.one_to_one
    )


def test_no_registered_model_holds_patient_data():
    registered = [model for model in admin.site._registry if holds_patient_data(model)]
    assert registered == []
    # The check itself finds patient data where it is.
    patient_models = [m for m in apps.get_models() if holds_patient_data(m)]
    assert len(patient_models) > 10


def test_a_superuser_finds_no_patient_pages_in_the_admin(client, coordinator):
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    patient = PatientFactory()
    restricted = InteractionFactory(patient=patient, sensitivity="restricted")
    referral = referral_in("sent", coordinator, patient=patient)
    client.force_login(admin_user)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "Service level targets" in index.content.decode()
    for path in (
        f"/admin/patients/patient/{patient.pk}/change/",
        f"/admin/patients/patient/{patient.pk}/history/",
        f"/admin/interactions/interaction/{restricted.pk}/change/",
        f"/admin/referrals/referral/{referral.pk}/change/",
        f"/admin/referrals/referral/{referral.pk}/history/",
    ):
        assert client.get(path).status_code == 404, path
