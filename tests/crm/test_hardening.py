import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from crm.logging import StripQueryStrings
from tests.conftest import client_for

ROOT = Path(__file__).resolve().parents[2]


def test_the_deploy_check_passes_under_production_settings():
    env = {k: v for k, v in os.environ.items() if k not in ("SECURE_SSL_REDIRECT",)}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="crm.example.org",
        EMAIL_HOST="smtp.example.org",  # without one, the check says email is not sent
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_responses_carry_the_security_headers(api):
    response = api.get("/api/patients/")
    csp = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert script_src == "'self'" and "unsafe-inline" not in script_src
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_the_api_docs_need_no_inline_script(coordinator):
    client = client_for(coordinator)
    client.force_login(coordinator)
    html = client.get("/api/docs/").content.decode()
    inline = [
        body for body in re.findall(r"<script[^>]*>(.*?)</script>", html, re.S) if body.strip()
    ]
    assert inline == []


def test_logged_request_lines_lose_their_query_strings():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /api/patients/?name=José+Ñúñez&phone=6175550142 HTTP/1.1", "200", "512"),
        None,
    )
    StripQueryStrings().filter(record)
    message = record.getMessage()
    assert "José" not in message and "6175550142" not in message
    assert message.startswith('"GET /api/patients/?[query removed] HTTP/1.1" 200')


def test_logged_request_lines_lose_the_token_of_a_patients_link():
    token = "0f" * 32
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        (f"POST /preferences/{token}/ HTTP/1.1", "200", "512"),
        None,
    )
    StripQueryStrings().filter(record)
    message = record.getMessage()
    assert token not in message
    assert message.startswith('"POST /preferences/[token]/ HTTP/1.1" 200')
