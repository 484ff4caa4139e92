"""The page that serves the staff web app, and its static files in production."""

import json
import re

import pytest
from django.core.management import call_command

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def session_of(response) -> dict:
    match = re.search(
        r'<script id="staff-session" type="application/json">(.*?)</script>',
        response.content.decode(),
    )
    return json.loads(match.group(1))


def test_a_signed_out_browser_is_sent_to_sign_in(client):
    response = client.get("/patients/12/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/patients/12/"


def test_every_screen_is_the_same_page(client, coordinator):
    client.force_login(coordinator)
    for path in ("/", "/search/", "/board/", "/dashboard/", "/patients/12/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert b'<main id="main"' in response.content
    assert client.get("/patients/twelve/").status_code == 404


def test_the_page_runs_no_inline_script(client, coordinator):
    client.force_login(coordinator)
    response = client.get("/")
    scripts = re.findall(r"<script([^>]*)>", response.content.decode())
    # Modules load from 'self'; the only inline block is JSON data, which never runs.
    assert scripts == [
        ' type="module" src="/static/frontend/js/main.js"',
        ' id="staff-session" type="application/json"',
    ]
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_the_page_tells_the_app_what_the_role_may_do(client, coordinator, billing):
    client.force_login(billing)
    session = session_of(client.get("/"))
    assert session["user"]["id"] == billing.pk
    assert session["roles"] == ["billing"]
    assert session["departments"] == ["billing"]
    assert session["access"]["referrals"] == {"read": "NONE", "write": "NONE"}
    assert session["access"]["interactions"] == {"read": "ALL", "write": "OWN_DEPARTMENT"}
    assert session["idle_minutes"] == 15

    client.force_login(coordinator)
    session = session_of(client.get("/"))
    assert session["access"]["referrals"] == {"read": "ALL", "write": "ALL"}
    assert {"value": "sms", "label": "SMS"} in session["choices"]["channel"]


def test_an_account_without_a_staff_role_gets_a_plain_refusal(client, outsider):
    client.force_login(outsider)
    response = client.get("/")
    assert response.status_code == 403
    assert b"no staff role" in response.content
    assert b"staff-session" not in response.content


def test_the_sign_in_page_says_why_after_an_idle_sign_out(client):
    response = client.get("/login/?reason=idle&next=/search/")
    assert b"signed out because the session was idle" in response.content
    assert b'value="/search/"' in response.content


def test_sign_in_goes_to_the_app_and_sign_out_ends_the_session(client):
    UserFactory(username="casey", password="long-and-unique-9", roles=["coordinator"])
    response = client.post("/login/", {"username": "casey", "password": "long-and-unique-9"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_collectstatic_gives_every_module_a_hashed_name(settings, tmp_path):
    """Production (DEBUG off) serves hashed files through WhiteNoise: the app's module
    imports must be rewritten to hashed names, and the chart library must be there."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "crm.storage.StaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    assert "vendor/chart.js/chart.umd.min.js" in manifest
    main = (tmp_path / manifest["frontend/js/main.js"]).read_text()
    imports = re.findall(r'from "([^"]+)"', main)
    assert len(imports) >= 5
    assert all(re.search(r"\.[0-9a-f]{12}\.js$", name) for name in imports), imports


def test_a_locked_out_account_is_told_so_on_the_sign_in_page(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    UserFactory(username="casey", password="long-and-unique-9", roles=["coordinator"])
    for _ in range(2):
        client.post("/login/", {"username": "casey", "password": "wrong"})
    response = client.post("/login/", {"username": "casey", "password": "long-and-unique-9"})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert b'<form method="post"' in response.content
