"""Prometheus metrics: every request counted and timed by URL name, method and status,
served at ``/metrics`` to a scraper that sends ``METRICS_TOKEN`` as a bearer token.

Labels name the URL pattern, never the path, so no patient id or link token becomes a
label and the number of series stays small. Under gunicorn each worker process writes
its numbers to files in ``PROMETHEUS_MULTIPROC_DIR`` (crm/gunicorn.conf.py) and a
scrape, whichever worker answers it, adds up all of them.

The token rather than an address rule: behind a proxy on the same host every request
comes from 127.0.0.1. Without a token the URL does not exist (404)."""

import hmac
import os
import time
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from crm.errors import error_body

REQUESTS = Counter(
    "crm_http_requests",
    "Requests answered, by URL name, method and status.",
    ["view", "method", "status"],
)
DURATION = Histogram(
    "crm_http_request_duration_seconds",
    "Seconds from the first middleware to the answer, by URL name and method.",
    ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Any other method is counted as "other", so a client cannot add series at will.
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class RequestMetricsMiddleware:
    """First in MIDDLEWARE, so the time includes every other middleware. Static files,
    redirects to HTTPS and unknown URLs answer before a URL is matched: view "none"."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        view = match.view_name if match else "none"
        method = request.method if request.method in METHODS else "other"
        DURATION.labels(view, method).observe(time.perf_counter() - started)
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        return response


@never_cache
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    expected = f"Bearer {token}".encode()
    if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected):
        refused = JsonResponse(
            error_body("Send the metrics token as a bearer token.", "not_authenticated"),
            status=401,
        )
        refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    registry = REGISTRY
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
