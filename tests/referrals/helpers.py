"""The one way tests walk a referral to a state: through the services, step by step."""

import datetime

from django.utils import timezone

from referrals import services
from tests.factories import ReferralFactory

# How to walk a new referral to each state, with the input each step needs.
PATHS = {
    "draft": [],
    "sent": ["send"],
    "accepted": ["send", "accept"],
    "declined": ["send", "decline"],
    "scheduled": ["send", "accept", "schedule"],
    "no_show": ["send", "accept", "schedule", "no_show"],
    "seen": ["send", "accept", "schedule", "seen"],
    "closed": ["send", "accept", "schedule", "seen", "close"],
    "cancelled": ["send", "accept", "cancel"],
}


def action_input(action: str) -> dict:
    return {
        "decline": {"reason": "Not taking new patients."},
        "cancel": {"reason": "Patient withdrew."},
        "reopen": {"reason": "Report was for another patient."},
        # Soon enough that the visit or the no-show can be recorded next.
        "schedule": {"appointment_at": timezone.now() + datetime.timedelta(seconds=1)},
        "close": {"report_received_on": timezone.localdate()},
    }.get(action, {})


def walk(actor, steps: list[tuple], **fields):
    """Create a referral and apply each ``(action, time, input)`` step, at that time
    (None: now). A first ``("create", time, {})`` step sets when it was created."""
    if steps and steps[0][0] == "create":
        (_, created_at, _), *steps = steps
        fields = {"created_at": created_at, "status_changed_at": created_at, **fields}
    referral = ReferralFactory(**fields)
    for action, when, data in steps:
        at = {"at": when} if when is not None else {}
        referral = services.TRANSITION_SERVICES[action](
            referral=referral, actor=actor, **at, **data
        )
    return referral


def referral_in(state: str, actor, **fields):
    """A referral walked to ``state`` now, with the input each step needs."""
    steps = []
    for action in PATHS[state]:
        data = action_input(action)
        when = None
        if action == "no_show":  # recorded once the appointment time has passed
            when = steps[-1][2]["appointment_at"] + datetime.timedelta(minutes=1)
        steps.append((action, when, data))
    return walk(actor, steps, **fields)
