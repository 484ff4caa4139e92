from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path, re_path

from frontend.views import SignInView, app
from interactions.views import feedback

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("feedback/<str:token>/", feedback, name="feedback"),
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    # The web app's screens; the page routes between them without reloading.
    re_path(r"^(?:|search/|board/|dashboard/|patients/\d+/)$", app, name="app"),
]
