"""Background tasks of the patient record (crm/celery.py)."""

from celery import shared_task

from patients.duplicates import duplicate_scan


@shared_task(name="patients.scan_duplicates")
def scan_duplicates() -> dict[str, int]:
    """Scan every record for look-alikes into the duplicate worklist; celery beat runs
    it nightly (DUPLICATE_SCAN_EVERY_SECONDS). A run stopped midway is taken up by the
    next from the last birth year it finished."""
    scan = duplicate_scan()
    return {"compared": scan.compared, "found": scan.found}
