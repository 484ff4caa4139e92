"""The patient's pages behind the links messages carry."""

from django.urls import path

from selfservice.views import feedback, visit

urlpatterns = [
    path("visit/<str:token>/", visit, name="visit"),
    path("feedback/<str:token>/", feedback, name="feedback"),
]
