"""Background tasks of integrations (crm/celery.py)."""

from celery import shared_task

from integrations.exports import export_run, exports_expire
from integrations.webhooks import deliver_due


@shared_task(name="integrations.deliver")
def deliver() -> dict[str, int]:
    """Deliver the change feed to every due webhook; celery beat runs it every
    WEBHOOKS_EVERY_SECONDS. Safe in many workers: each subscription is leased to one."""
    return deliver_due()


@shared_task(name="integrations.export")
def export(export_id: int) -> dict[str, int]:
    """Write a bulk export's files (``integrations.exports``)."""
    return export_run(export_id).counts


@shared_task(name="integrations.expire_exports")
def expire_exports() -> int:
    """Delete the files of expired exports; celery beat runs it hourly."""
    return exports_expire()
