"""Reads of what integrations pushed in: department events."""

from django.db.models import QuerySet

from crm.access import Section, can, rows_q
from crm.roles import StaffUser
from integrations.models import DepartmentEvent

# The newest events the 360 shows; the list endpoint has the rest.
EVENTS_SHOWN = 10


def department_event_list(*, user: StaffUser) -> QuerySet[DepartmentEvent]:
    """The events the user may read (each department its own), newest first, joined
    with the message that told the patient."""
    return (
        DepartmentEvent.objects.filter(rows_q(user, Section.DEPARTMENT_EVENTS))
        .select_related("message")
        .order_by("-occurred_at", "-id")
    )


def department_event_history_sources(
    *, patient_id: int, user: StaffUser
) -> list[tuple[str, QuerySet, tuple[str, ...]]]:
    """The patient's department events' change history, for the record's history
    (``interactions.selectors.patient_record_history``): those the user may read."""
    history = DepartmentEvent.history.filter(patient_id=patient_id)
    rows = history.filter(rows_q(user, Section.DEPARTMENT_EVENTS))
    return [("department_event", rows, ())] if can(user, Section.DEPARTMENT_EVENTS) else []
