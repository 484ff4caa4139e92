"""The patient-facing pages behind single-use links."""

from django.urls import path

from interactions.views import feedback

urlpatterns = [path("feedback/<str:token>/", feedback, name="feedback")]
