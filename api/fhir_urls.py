"""``/fhir/``: the FHIR R4 API (``api.views.fhir``)."""

from django.urls import path

from api.views.fhir import MetadataView, ReadView, SearchView

urlpatterns = [
    path("metadata", MetadataView.as_view(), name="fhir-metadata"),
    path("<str:resource_type>", SearchView.as_view(), name="fhir-search"),
    path("<str:resource_type>/<str:pk>", ReadView.as_view(), name="fhir-read"),
]
