"""The patient's pages behind the links messages carry."""

from django.urls import path

from selfservice.views import feedback, preferences, tell_us_page, visit

urlpatterns = [
    path("visit/<str:token>/", visit, name="visit"),
    path("feedback/<str:token>/", feedback, name="feedback"),
    path("preferences/<str:token>/", preferences, name="preferences"),
    path("tell-us/<str:token>/", tell_us_page, name="tell_us"),
]
