"""The project's URLs. Apps are included by name, so this base package imports none of
them (docs/architecture.md)."""

from django.contrib import admin
from django.urls import include, path

from crm import health, metrics
from crm.integrations import ClientTokenView

urlpatterns = [
    # For the load balancer, monitoring and Prometheus (README, "Production server").
    path("health/", health.health, name="health"),
    path("health/worker/", health.worker_health, name="health-worker"),
    path("metrics", metrics.export, name="metrics"),
    path("admin/", admin.site.urls),
    # Integration clients' tokens (client credentials; crm.integrations).
    path("oauth/token/", ClientTokenView.as_view(), name="oauth-token"),
    path("api/", include("api.urls")),
    path("fhir/", include("api.fhir_urls")),
    path("", include("messaging.urls")),
    path("", include("selfservice.urls")),
    path("", include("frontend.urls")),
]

# Uncaught errors answer in the error contract; an unreachable database is a 503.
handler500 = "crm.errors.server_error"
