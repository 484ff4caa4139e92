"""Background tasks of messaging (crm/celery.py)."""

from celery import shared_task

from messaging.services import dispatch_due


@shared_task(name="messaging.dispatch")
def dispatch() -> dict[str, int]:
    """Send what is due, a batch at a time, until nothing is; celery beat runs it every
    MESSAGES_EVERY_SECONDS and each new message asks for a run at once. Safe in many
    workers at once: each message is claimed by one."""
    total: dict[str, int] = {}
    while counts := dispatch_due():
        for action, count in counts.items():
            total[action] = total.get(action, 0) + count
    return total
