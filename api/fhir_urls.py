"""``/fhir/``: the FHIR R4 API (``api.views.fhir``)."""

from django.urls import path

from api.views.fhir import MetadataView, PatientReadView, PatientSearchView

urlpatterns = [
    path("metadata", MetadataView.as_view(), name="fhir-metadata"),
    path("Patient", PatientSearchView.as_view(), name="fhir-patient-search"),
    path("Patient/<str:pk>", PatientReadView.as_view(), name="fhir-patient"),
]
