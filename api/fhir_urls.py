"""``/fhir/``: the FHIR R4 API (``api.views.fhir``)."""

from django.urls import path

from api.views.fhir import MetadataView, ReadView, TypeView

urlpatterns = [
    path("metadata", MetadataView.as_view(), name="fhir-metadata"),
    path("<str:resource_type>", TypeView.as_view(), name="fhir-type"),
    path("<str:resource_type>/<str:pk>", ReadView.as_view(), name="fhir-read"),
]
