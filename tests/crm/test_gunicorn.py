"""The production server: the gunicorn configuration's values, and gunicorn itself
started with it and DEBUG off, serving the health check, hashed static files, metrics
added up across its workers, and an access log with no query or link token in it."""

import gc
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tests.workers import database_url

CONFIG = Path(settings.BASE_DIR) / "crm" / "gunicorn.conf.py"
METRICS_TOKEN = "s" * 40
LINK_TOKEN = "cd" * 32
HTTPS = {"X-Forwarded-Proto": "https"}


def load_config(monkeypatch, **env):
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "HOST", "PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf", CONFIG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_defaults_suit_a_small_machine(monkeypatch):
    config = load_config(monkeypatch)
    assert config.worker_class == "gthread"
    assert config.workers == (os.cpu_count() or 1)
    assert config.threads == 4
    assert config.bind == ["127.0.0.1:8000"]
    assert config.wsgi_app == "crm.wsgi:application"
    assert config.graceful_timeout >= 10
    assert config.max_requests > 0 and 0 < config.max_requests_jitter < config.max_requests
    assert config.preload_app  # a replaced worker is a fork, not a new load of Django


def test_workers_threads_and_address_come_from_the_environment(monkeypatch):
    config = load_config(
        monkeypatch, WEB_CONCURRENCY="3", GUNICORN_THREADS="8", HOST="0.0.0.0", PORT="9000"
    )
    assert (config.workers, config.threads, config.bind) == (3, 8, ["0.0.0.0:9000"])


def test_a_malformed_value_stops_start_up(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="WEB_CONCURRENCY"):
        load_config(monkeypatch, WEB_CONCURRENCY="many")


def test_the_access_log_has_no_query_string_request_line_or_referrer(monkeypatch):
    log_format = load_config(monkeypatch).access_log_format
    for field in ("%(q)s", "%(r)s", "%(f)s", "{referer}i"):
        assert field not in log_format


def test_a_worker_keeps_what_it_loaded_out_of_full_collections(monkeypatch):
    gc.unfreeze()
    try:
        load_config(monkeypatch).post_worker_init(worker=None)
        assert gc.get_freeze_count() > 10_000  # Django and the application, at least
    finally:
        gc.unfreeze()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def until_up(url: str, seconds: float = 90) -> requests.Response:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return requests.get(url, timeout=10)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_application_with_debug_off(tmp_path):
    static, metrics_dir, log = tmp_path / "static", tmp_path / "metrics", tmp_path / "server.log"
    metrics_dir.mkdir()
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"},
        "DEBUG": "false",
        "SECRET_KEY": "test-only-not-a-secret",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "true",
        "SECURE_PROXY_SSL_HEADER": "true",
        "DATABASE_URL": database_url(),
        # The same database as a replica: the server connects to it as to another.
        "DATABASE_REPLICA_URL": database_url(),
        "STATIC_ROOT": str(static),
        "METRICS_TOKEN": METRICS_TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        # Workers replaced every few requests: the counts must survive it.
        "GUNICORN_CMD_ARGS": "--max-requests 4 --max-requests-jitter 0",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=settings.BASE_DIR, env=env, check=True, timeout=180,
    )  # fmt: skip
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(CONFIG)],
            cwd=settings.BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        first = until_up(f"{base}/health/")
        assert first.status_code == 200, first.content
        checks = [requests.get(f"{base}/health/?name=Xochitl", timeout=10) for _ in range(11)]
        assert [r.status_code for r in checks] == [200] * 11
        assert checks[0].json()["checks"] == {
            "database": "ok",
            "broker": "not used",
            "worker": "not used",
            "replica": "ok",
        }

        manifest = json.loads((static / "staticfiles.json").read_text())["paths"]
        script = f"{base}/static/{manifest['frontend/js/main.js']}"
        plain = requests.get(script, timeout=10, allow_redirects=False)
        assert plain.status_code == 301  # only the health check is exempt from HTTPS
        served = requests.get(script, headers=HTTPS, timeout=10)
        assert served.status_code == 200
        assert "immutable" in served.headers["Cache-Control"]
        assert served.headers["Content-Encoding"] == "gzip"

        requests.get(f"{base}/visit/{LINK_TOKEN}/?name=Xochitl", headers=HTTPS, timeout=10)
        refused = requests.get(f"{base}/metrics", timeout=10)
        assert refused.status_code == 401
        scraped = requests.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
        )
        assert scraped.status_code == 200
        assert 'crm_http_requests_total{method="GET",status="200",view="health"} 12.0' in (
            scraped.text
        )
        # One file per worker slot and kind of metric, however often workers were replaced.
        names = {path.name for path in metrics_dir.iterdir()}
        assert names and all(re.fullmatch(r"(counter|histogram)_[01]\.db", n) for n in names)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert server.returncode == 0

    written = log.read_text()
    assert '"GET /health/ HTTP/1.1" 200' in written
    assert "/visit/[token]/" in written
    assert "Xochitl" not in written
    assert LINK_TOKEN not in written
