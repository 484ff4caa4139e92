from django.contrib.auth.views import LogoutView
from django.urls import path, re_path

from frontend.views import SignInView, app

urlpatterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    # The web app's screens; the page routes between them without reloading.
    re_path(
        r"^(?:|search/|board/|complaints/|dashboard/|privacy/|inbox/|day/|duplicates/"
        r"|patients/(?:new/|\d+/(?:edit/)?)|referrals/\d+/|messages/\d+/)$",
        app,
        name="app",
    ),
]
