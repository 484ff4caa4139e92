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


def referral_in(state: str, actor, **fields):
    referral = ReferralFactory(**fields)
    for action in PATHS[state]:
        step = action_input(action)
        if action == "no_show":  # recorded once the appointment time has passed
            step["at"] = referral.appointment_at + datetime.timedelta(minutes=1)
        referral = services.TRANSITION_SERVICES[action](referral=referral, actor=actor, **step)
    return referral
