"""The staff web app: one page that loads the JavaScript application, plus sign-in."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.shortcuts import render
from django.templatetags.static import static

from appointments.workflow import APPOINTMENT_WORKFLOW
from crm.access import EMERGENCY_ACCESS_ROLES, Scope, Section, departments, grant
from crm.choices import Channel, Department
from crm.roles import Role, user_queues, user_roles
from interactions.choices import (
    ComplaintCategory,
    ComplaintPriority,
    Direction,
    Outcome,
    Topic,
)
from interactions.workflow import COMPLAINT_WORKFLOW
from messaging.choices import MessageChannel, MessageStatus
from messaging.texts import STAFF_TEMPLATES
from patients.choices import (
    AccessibilityNeed,
    AdministrativeSex,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    ContactSystem,
    ContactUse,
    InterpreterNeeded,
    LanguageMode,
)
from referrals.choices import FollowUpKind, FollowUpPriority, ReferralPriority, ReferralStatus
from referrals.workflow import FOLLOW_UP_WORKFLOW, REFERRAL_WORKFLOW

# The code lists the app's forms and filters offer, as the API spells them.
CHOICES = {
    "channel": Channel,
    "department": Department,
    "direction": Direction,
    "topic": Topic,
    "outcome": Outcome,
    "referral_priority": ReferralPriority,
    "referral_status": ReferralStatus,
    "complaint_category": ComplaintCategory,
    "complaint_priority": ComplaintPriority,
    "follow_up_kind": FollowUpKind,
    "follow_up_priority": FollowUpPriority,
    "administrative_sex": AdministrativeSex,
    "contact_system": ContactSystem,
    "contact_use": ContactUse,
    "language_mode": LanguageMode,
    "interpreter_needed": InterpreterNeeded,
    "accessibility_need": AccessibilityNeed,
    "consent_purpose": ConsentPurpose,
    "consent_status": ConsentStatus,
    "consent_source": ConsentSource,
    "message_channel": MessageChannel,
    "message_status": MessageStatus,
    # Only the templates staff choose; the keyword answers are the system's.
    "message_template": [(t.value, t.label) for t in STAFF_TEMPLATES],
}
# The state machines' actions with their labels and inputs: the app draws each action's
# button and dialog from these, and shows only the actions a record's
# ``allowed_actions`` names.
WORKFLOWS = {
    "appointment": APPOINTMENT_WORKFLOW,
    "referral": REFERRAL_WORKFLOW,
    "follow_up": FOLLOW_UP_WORKFLOW,
    "complaint": COMPLAINT_WORKFLOW,
}


def staff_session(user) -> dict:
    """What the page needs to know about the signed-in user to show only what their role
    may use. The API enforces the same policy; this only hides controls."""
    roles = sorted(user_roles(user))
    access = {}
    for section in Section:
        held = grant(user, section)
        access[section.value] = {"read": Scope(held.read).name, "write": Scope(held.write).name}
    return {
        "user": {"id": user.pk, "name": user.get_full_name() or user.get_username()},
        "roles": roles,
        "role_labels": [Role(role).label for role in roles],
        "departments": departments(user),
        "queues": user_queues(user),
        "access": access,
        # Break the glass (a clinical role), and the privacy officer's screens (admin).
        "may_break_glass": bool(set(roles) & set(EMERGENCY_ACCESS_ROLES)),
        "privacy_officer": Role.ADMIN in roles,
        "idle_minutes": settings.SESSION_IDLE_MINUTES,
        "choices": {
            name: [
                {"value": value, "label": label}
                for value, label in getattr(choices, "choices", choices)
            ]
            for name, choices in CHOICES.items()
        },
        "workflows": {
            name: {step["action"]: step for step in workflow.describe()}
            for name, workflow in WORKFLOWS.items()
        },
        "chart_script": static("vendor/chart.js/chart.umd.min.js"),
    }


@login_required
def app(request):
    """Every screen of the app is this page; the browser routes by path."""
    if not user_roles(request.user):
        return render(request, "frontend/no_role.html", status=403)
    return render(request, "frontend/app.html", {"session": staff_session(request.user)})


class SignInView(LoginView):
    template_name = "frontend/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "signed_out_idle": self.request.GET.get("reason") == "idle",
            "idle_minutes": settings.SESSION_IDLE_MINUTES,
        }
