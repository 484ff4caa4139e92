from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from interactions.views import feedback

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("feedback/<str:token>/", feedback, name="feedback"),
    path("", RedirectView.as_view(url="/api/docs/", permanent=False)),
]
