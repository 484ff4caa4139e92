"""Background tasks of the referral app (crm/celery.py)."""

from celery import shared_task

from referrals.rules import run_time_based_rules


@shared_task(name="referrals.run_care_rules")
def run_care_rules() -> dict[str, int]:
    """The time-based care rules; celery beat runs it every CARE_RULES_EVERY_SECONDS.
    Safe to run again or concurrently: each follow-up is created at most once."""
    return run_time_based_rules()
