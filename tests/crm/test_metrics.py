"""Prometheus metrics: served only to a scraper holding the token, labelled by URL name
so that no patient id or link token ever appears in them."""

import pytest
from prometheus_client import REGISTRY

pytestmark = pytest.mark.django_db

TOKEN = "m" * 40
LINK_TOKEN = "ab" * 32


@pytest.fixture
def scraper(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def scrape():
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        return response.content.decode()

    return scrape


def answered(view: str, method: str, status: str) -> float:
    labels = {"view": view, "method": method, "status": status}
    return REGISTRY.get_sample_value("crm_http_requests_total", labels) or 0


def test_without_a_configured_token_there_is_no_metrics_url(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Token {TOKEN}", TOKEN])
def test_a_request_without_the_token_is_refused(client, settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert response.json()["code"] == "not_authenticated"
    assert "crm_http_requests" not in response.content.decode()


def test_requests_are_counted_and_timed_by_url_name(client, scraper):
    before = answered("health", "GET", "200")
    client.get("/health/")
    client.get("/health/?name=Xochitl")
    assert answered("health", "GET", "200") == before + 2
    text = scraper()
    assert 'crm_http_requests_total{method="GET",status="200",view="health"}' in text
    assert 'crm_http_request_duration_seconds_bucket{le="0.01",method="GET",view="health"}' in (
        text
    )


def test_no_patient_id_link_token_or_query_becomes_a_label(client, scraper):
    client.get("/api/patients/987654/?name=Xochitl")
    client.get(f"/visit/{LINK_TOKEN}/")
    client.generic("BREW", "/health/")
    text = scraper()
    assert 'view="patient-detail"' in text
    assert 'view="visit"' in text
    assert 'method="other"' in text
    # Names and labels only: a sample's value (a sum of seconds) may hold any digits.
    samples = [line.rsplit(" ", 1)[0] for line in text.splitlines() if line]
    for secret in ("987654", LINK_TOKEN, "Xochitl", "BREW"):
        assert not [sample for sample in samples if secret in sample]
