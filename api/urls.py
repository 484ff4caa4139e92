from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import APIRootView, DefaultRouter

from api.views.appointments import (
    AppointmentMetricsView,
    AppointmentViewSet,
    ServiceTypeViewSet,
)
from api.views.audit import AccessRecordViewSet, EmergencyAccessViewSet
from api.views.auth import ApiTokenViewSet, sign_out_everywhere_view, token_create
from api.views.care import (
    FollowUpWorklistView,
    HandoffView,
    ReferralMetricsView,
    ReferralWorklistView,
)
from api.views.changes import ChangeFeedView
from api.views.duplicates import DuplicateCandidateViewSet
from api.views.events import DepartmentEventViewSet
from api.views.experience import (
    ComplaintViewSet,
    ComplaintWorklistView,
    ExperienceMetricsView,
    SurveyInvitationViewSet,
    SurveyResponseViewSet,
)
from api.views.exports import ExportViewSet
from api.views.interactions import InteractionViewSet
from api.views.messages import MessageViewSet
from api.views.patients import PatientViewSet
from api.views.referrals import (
    FollowUpViewSet,
    OrganizationViewSet,
    PractitionerViewSet,
    ReferralViewSet,
)
from api.views.staff import StaffViewSet, not_found
from api.views.webhooks import WebhookViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("patients", PatientViewSet, basename="patient")
router.register("duplicates", DuplicateCandidateViewSet, basename="duplicate")
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("practitioners", PractitionerViewSet, basename="practitioner")
router.register("interactions", InteractionViewSet, basename="interaction")
router.register("referrals", ReferralViewSet, basename="referral")
router.register("follow-ups", FollowUpViewSet, basename="follow-up")
router.register("messages", MessageViewSet, basename="message")
router.register("appointments", AppointmentViewSet, basename="appointment")
router.register("service-types", ServiceTypeViewSet, basename="service-type")
router.register("staff", StaffViewSet, basename="staff")
router.register("complaints", ComplaintViewSet, basename="complaint")
router.register("department-events", DepartmentEventViewSet, basename="department-event")
router.register("surveys/invitations", SurveyInvitationViewSet, basename="survey-invitation")
router.register("surveys/responses", SurveyResponseViewSet, basename="survey-response")
router.register("audit/access", AccessRecordViewSet, basename="access-record")
router.register("audit/break-glass", EmergencyAccessViewSet, basename="emergency-access")
router.register("auth/tokens", ApiTokenViewSet, basename="api-token")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("exports", ExportViewSet, basename="export")

# What GET /api/ lists: every collection, worklist and metric, with the schema and docs.
ROOT_LINKS = {prefix: f"{basename}-list" for prefix, _viewset, basename in router.registry} | {
    "worklists/referrals": "worklist-referrals",
    "worklists/follow-ups": "worklist-follow-ups",
    "worklists/complaints": "worklist-complaints",
    "metrics/referrals": "metrics-referrals",
    "metrics/experience": "metrics-experience",
    "metrics/appointments": "metrics-appointments",
    "handoffs": "handoffs",
    "changes": "changes",
    "schema": "schema",
    "docs": "docs",
}

urlpatterns = [
    path("", APIRootView.as_view(api_root_dict=ROOT_LINKS), name="api-root"),
    path("", include(router.urls)),
    path("worklists/referrals/", ReferralWorklistView.as_view(), name="worklist-referrals"),
    path("worklists/follow-ups/", FollowUpWorklistView.as_view(), name="worklist-follow-ups"),
    path("metrics/referrals/", ReferralMetricsView.as_view(), name="metrics-referrals"),
    path("worklists/complaints/", ComplaintWorklistView.as_view(), name="worklist-complaints"),
    path("metrics/experience/", ExperienceMetricsView.as_view(), name="metrics-experience"),
    path("metrics/appointments/", AppointmentMetricsView.as_view(), name="metrics-appointments"),
    path("handoffs/", HandoffView.as_view(), name="handoffs"),
    path("changes/", ChangeFeedView.as_view(), name="changes"),
    path("auth/token/", token_create, name="auth-token"),
    path("auth/sign-out-everywhere/", sign_out_everywhere_view, name="sign-out-everywhere"),
    path("auth/", include("rest_framework.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The docs page sends a signed-out browser to the sign-in page first.
    path(
        "docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="docs",
    ),
    re_path(r"^.*$", not_found),
]
