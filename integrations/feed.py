"""The change feed: every create, update and delete of the records integrations follow,
in an order a poller can resume from without gaps or repeats.

The rows are written by database triggers (migration 0001), in the transaction that
changes the record. On PostgreSQL each carries the writing transaction's id; a page
holds only changes of transactions older than the oldest one still running when the
page is read (``pg_snapshot_xmin``), in (transaction id, id) order. Every transaction
older than that horizon has committed or rolled back, so no change can later appear
before a cursor already handed out: a poller that keeps its cursor misses nothing and
sees nothing twice, even when a transaction that began earlier commits later (as PgQ
does with its snapshots). A transaction left open holds the feed back until it ends.
SQLite has one writer at a time, so ``id`` is commit order there.

Each reader gets the changes of the record types it may read (its role's sections,
and for a client its token's scopes), of records it may read now; a restricted
interaction's changes only reach who may read restricted items.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet

from appointments.selectors import appointment_list
from crm.access import Section, can
from crm.roles import StaffUser
from integrations.models import Change
from integrations.selectors import department_event_list
from interactions.selectors import (
    complaint_list,
    interaction_list,
    survey_response_list,
)
from messaging.selectors import message_list
from patients.selectors import patient_list
from referrals.selectors import follow_up_list, referral_list

CURSOR = re.compile(r"^(\d{1,19})\.(\d{1,19})$")
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Followed:
    resource: str  # the scope that reads it (crm.scopes)
    section: str  # the record section that reads it (crm.access)
    visible: Callable[..., QuerySet]  # the records the user may read now (``user=``)


# The record types the feed carries, each with the list selector the API reads it by.
FOLLOWED: dict[str, Followed] = {
    "Patient": Followed("Patient", Section.IDENTITY, lambda user: patient_list()),
    "Interaction": Followed("Communication", Section.INTERACTIONS, interaction_list),
    "Message": Followed("Communication", Section.INTERACTIONS, message_list),
    "Referral": Followed("ServiceRequest", Section.REFERRALS, referral_list),
    "FollowUp": Followed("Task", Section.FOLLOW_UPS, follow_up_list),
    "Appointment": Followed("Appointment", Section.APPOINTMENTS, appointment_list),
    "Complaint": Followed("Complaint", Section.FEEDBACK, complaint_list),
    "SurveyResponse": Followed("QuestionnaireResponse", Section.FEEDBACK, survey_response_list),
    "DepartmentEvent": Followed(
        "DepartmentEvent", Section.DEPARTMENT_EVENTS, department_event_list
    ),
}


class BadCursor(ValueError):
    pass


def parse_cursor(text: str) -> tuple[int, int]:
    """``<transaction>.<id>`` as the feed hands it out; "" is the beginning."""
    if not text:
        return (0, 0)
    match = CURSOR.match(text)
    if match is None or max(int(match[1]), int(match[2])) >= 2**63:
        raise BadCursor(text)
    return int(match[1]), int(match[2])


def format_cursor(position: tuple[int, int]) -> str:
    return f"{position[0]}.{position[1]}"


def entry(change: Change) -> dict:
    """A change as the feed and the webhooks give it."""
    return {
        "cursor": format_cursor((change.txid, change.id)),
        "type": change.record_type,
        "id": change.record_id,
        "action": change.action,
        "patient": change.patient_id,
        "at": change.occurred_at.isoformat(),
    }


def horizon() -> int | None:
    """Changes of transactions below this id are final (PostgreSQL); None: all are.
    The reader's own transaction counts as final when it is the oldest one running:
    nothing older can commit behind its changes (a test's transaction, in practice;
    a request reading the feed writes no followed record).

    Read where the changes are read. On a streaming replica the snapshot holds the
    primary's transactions that were running at the point replayed, so the horizon
    is as safe there; a replica behind another gives a lower one, never a cursor
    that goes back."""
    connection = connections[Change.objects.all().db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
            "pg_current_xact_id_if_assigned()::text::bigint"
        )
        oldest, own = cursor.fetchone()
    return oldest + 1 if own == oldest else oldest


def readable_types(user: StaffUser, types: list[str], granted: Callable[[str], bool]) -> list[str]:
    """Of the asked types (every one when none is asked), those the user's role and the
    client's scopes (``granted``, by resource) let it read."""
    return [
        name
        for name in types or FOLLOWED
        if can(user, FOLLOWED[name].section) and granted(FOLLOWED[name].resource)
    ]


def change_page(
    *, user: StaffUser, after: tuple[int, int], types: list[str], limit: int
) -> tuple[list[Change], tuple[int, int]]:
    """The next changes after the cursor the user may see, and the cursor to resume
    from. The cursor moves past changes the user may not see, so a poller never
    reads them again."""
    final_below = horizon()
    position = Q(txid__gt=after[0]) | Q(txid=after[0], id__gt=after[1])
    final = position if final_below is None else position & Q(txid__lt=final_below)
    shown = Q(pk__in=[])
    for name in types:
        visible = FOLLOWED[name].visible(user=user).filter(pk=OuterRef("record_id"))
        condition = Q(record_type=name) & (Q(Exists(visible)) | Q(action=Change.Action.DELETE))
        if name == "Interaction":
            condition &= ~Q(restricted=True) | Q(Exists(visible))
        shown |= condition
    page = list(Change.objects.filter(final & shown).order_by("txid", "id")[:limit])
    if len(page) == limit:
        return page, (page[-1].txid, page[-1].id)
    # A short page: everything final was read; resume after the last final change.
    last = Change.objects.filter(final).order_by("-txid", "-id").first()
    return page, (last.txid, last.id) if last else after
