import django_filters
import pytest
from django.http import QueryDict

import api.urls  # noqa: F401 (every filterset the API uses, imported)
from patients.filtersets import PatientFilterSet
from tests.conftest import client_for, subclasses
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_no_filterset_filters_a_request_that_names_none_of_its_filters():
    """What lets the API's filter backend skip a filterset the query string does not
    name: with no parameters, each leaves its queryset as it is."""
    filtersets = [
        cls
        for cls in subclasses(django_filters.FilterSet)
        if not cls.__module__.startswith("django_filters")
    ]
    assert len(filtersets) > 10
    for filterset_class in filtersets:
        queryset = filterset_class._meta.model._default_manager.all()
        filterset = filterset_class(data=QueryDict(""), queryset=queryset)
        assert filterset.is_valid(), filterset_class
        assert str(filterset.qs.query) == str(queryset.query), filterset_class


def test_a_read_that_names_no_filter_builds_no_filterset(coordinator, monkeypatch):
    built = []
    init = PatientFilterSet.__init__

    def counted(self, *args, **kwargs):
        built.append(kwargs.get("data"))
        init(self, *args, **kwargs)

    monkeypatch.setattr(PatientFilterSet, "__init__", counted)
    patient = PatientFactory(family_name="Okafor", care_coordinator=coordinator)
    api = client_for(coordinator)
    assert api.get(f"/api/patients/{patient.pk}/").status_code == 200
    assert api.get("/api/patients/").json()["results"][0]["id"] == patient.pk
    assert built == []
    # A named filter still filters, and is still checked.
    assert api.get("/api/patients/?name=Okafor").json()["results"][0]["id"] == patient.pk
    assert api.get("/api/patients/?name=Mensah").json()["results"] == []
    assert api.get("/api/patients/?birth_date=someday").status_code == 400
    assert len(built) == 3
