"""The patient's pages behind the links messages carry."""

from django.urls import path

from selfservice.views import visit

urlpatterns = [path("visit/<str:token>/", visit, name="visit")]
