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
        "schedule": {"appointment_at": timezone.now() + datetime.timedelta(days=3)},
        "close": {"report_received_on": timezone.localdate()},
    }.get(action, {})


def referral_in(state: str, actor, **fields):
    referral = ReferralFactory(**fields)
    for action in PATHS[state]:
        referral = services.TRANSITION_SERVICES[action](
            referral=referral, actor=actor, **action_input(action)
        )
    return referral
