"""The state machines of referrals and follow-ups, as tables (docs/domain.md, referrals).

``reopen`` has no fixed target: it returns to the state the referral was in before it
was closed or cancelled. Guards refuse what the state allows but the facts do not: a
no-show before the appointment time, a visit recorded before its day.
"""

import datetime

from django.utils import timezone

from crm.errors import InvalidInput
from crm.roles import Actor
from crm.workflow import Input, Transition, Workflow, reason
from referrals import rules
from referrals.choices import FollowUpStatus
from referrals.choices import ReferralAction as A
from referrals.choices import ReferralStatus as S
from referrals.models import FollowUp, Referral, ReferralEvent

# The states whose first time each referral keeps (a first schedule is kept by action:
# a reschedule stays scheduled).
FIRST_INTO: dict[str, str] = {
    S.ACCEPTED: "accepted_at",
    S.SEEN: "seen_at",
    S.CLOSED: "closed_at",
}
OPEN_REFERRAL = frozenset({S.DRAFT, S.SENT, S.ACCEPTED, S.SCHEDULED, S.NO_SHOW, S.SEEN})


def _has_receiver(referral: Referral, at: datetime.datetime, changes: dict) -> None:
    if not (referral.receiving_organization_id or referral.receiving_practitioner_id):
        raise InvalidInput(
            "Choose who receives the referral before sending it.",
            errors={"receiving_organization": ["Required to send the referral."]},
        )


def _after_sending(referral: Referral, at: datetime.datetime, changes: dict) -> None:
    if referral.sent_at and changes["appointment_at"] < referral.sent_at:
        raise InvalidInput(
            "The appointment cannot be before the referral was sent.",
            errors={"appointment_at": ["Must be after the referral was sent."]},
        )


def _appointment_passed(referral: Referral, at: datetime.datetime, changes: dict) -> str | None:
    if referral.appointment_at and at < referral.appointment_at:
        return (
            "A no-show can be recorded only after the appointment time "
            f"({timezone.localtime(referral.appointment_at):%Y-%m-%d %H:%M})."
        )
    return None


def _appointment_day_came(referral: Referral, at: datetime.datetime, changes: dict) -> str | None:
    if referral.appointment_at and timezone.localdate(at) < timezone.localdate(
        referral.appointment_at
    ):
        return (
            "A visit can be recorded from the day of the appointment "
            f"({timezone.localdate(referral.appointment_at):%Y-%m-%d}) on."
        )
    return None


def _report_dates(referral: Referral, at: datetime.datetime, changes: dict) -> None:
    received = changes["report_received_on"]
    if received > timezone.localdate():
        raise InvalidInput(
            "The report cannot be received in the future.",
            errors={"report_received_on": ["Cannot be in the future."]},
        )
    if referral.sent_at and received < timezone.localdate(referral.sent_at):
        raise InvalidInput(
            "The report must be received after the referral was sent.",
            errors={"report_received_on": ["Is before the referral was sent."]},
        )


def _state_times(referral: Referral, at: datetime.datetime, action: str, target: str) -> dict:
    """The first time into each state and the visits and no-shows so far, kept on the
    referral for the metrics (``referrals.metrics``)."""
    changes: dict = {}
    first = "scheduled_at" if action == A.SCHEDULE else FIRST_INTO.get(target)
    if first:
        earlier = getattr(referral, first)
        changes[first] = at if earlier is None else min(earlier, at)
    if action == A.NO_SHOW:
        changes["no_shows"] = referral.no_shows + 1
    if action == A.SEEN:
        changes["visits"] = referral.visits + 1
    return changes


def _state_before(referral: Referral, transition: Transition) -> str:
    """Where a reopened referral returns: the state it left to be closed or cancelled."""
    previous = (
        ReferralEvent.objects.filter(referral=referral, to_status=referral.status)
        .exclude(from_status="")
        .order_by("-occurred_at", "-id")
        .values_list("from_status", flat=True)
        .first()
    )
    return previous or S.DRAFT


APPOINTMENT = Input("appointment_at", "datetime", "Appointment date and time")
REFERRAL_WORKFLOW = Workflow(
    name="referral",
    model=Referral,
    event_model=ReferralEvent,
    event_link="referral",
    changed_at_field="status_changed_at",
    related=(
        "patient__care_coordinator",
        "receiving_organization",
        "receiving_practitioner",
        "referring_practitioner",
        "coordinator",
    ),
    target_of=_state_before,
    derive=_state_times,
    transitions=[
        Transition(
            A.SEND,
            "Send",
            frozenset({S.DRAFT}),
            S.SENT,
            guard=_has_receiver,
            help="Record that the referral was sent to the receiving provider.",
        ),
        Transition(
            A.ACCEPT,
            "Accept",
            frozenset({S.SENT}),
            S.ACCEPTED,
            help="Record that the receiving provider accepted the referral.",
        ),
        Transition(
            A.DECLINE,
            "Decline",
            frozenset({S.SENT, S.ACCEPTED}),
            S.DECLINED,
            inputs=(reason(True, "Why the receiving provider declined."),),
            help="Record that the receiving provider declined. The patient will need "
            "another provider.",
        ),
        # From scheduled it is a reschedule; from no_show a rebooking.
        Transition(
            A.SCHEDULE,
            "Schedule",
            frozenset({S.ACCEPTED, S.SCHEDULED, S.NO_SHOW}),
            S.SCHEDULED,
            inputs=(APPOINTMENT, reason(False)),
            guard=_after_sending,
            help="Record the appointment the receiving provider booked. A reminder "
            "follow-up is created two days before.",
        ),
        Transition(
            A.NO_SHOW,
            "Record no-show",
            frozenset({S.SCHEDULED}),
            S.NO_SHOW,
            inputs=(reason(False),),
            guard=_appointment_passed,
            help="Record that the patient did not attend. A rebooking follow-up is created.",
        ),
        Transition(
            A.SEEN,
            "Record visit",
            frozenset({S.SCHEDULED}),
            S.SEEN,
            guard=_appointment_day_came,
            help="Record that the patient was seen; the loop stays open until the report is back.",
        ),
        Transition(
            A.CLOSE,
            "Close with report",
            frozenset({S.SEEN}),
            S.CLOSED,
            inputs=(
                Input("report_received_on", "date", "Report received on"),
                Input("report_from", "text", "Report from", required=False, max_length=200),
                Input(
                    "report_summary", "text", "Report summary", required=False, max_length=10000
                ),
                Input(
                    "report_recommendations",
                    "text",
                    "Recommendations",
                    required=False,
                    max_length=10000,
                ),
            ),
            guard=_report_dates,
            help="Close the loop: the specialist's report is back.",
        ),
        Transition(
            A.CANCEL,
            "Cancel",
            OPEN_REFERRAL,
            S.CANCELLED,
            inputs=(reason(True),),
            help="Cancel this referral. Say why, so the care team knows.",
        ),
        Transition(
            A.REOPEN,
            "Reopen",
            frozenset({S.CLOSED, S.CANCELLED}),
            None,
            inputs=(reason(True),),
            help="Reopen this referral: it returns to the state it was in before.",
        ),
    ],
)


@REFERRAL_WORKFLOW.react
def _run_rules(referral: Referral, *, actor: Actor, at: datetime.datetime, action: str) -> None:
    """The care rules run on every referral transition."""
    rules.on_referral_change(referral, actor=actor, now=at)


FOLLOW_UP_WORKFLOW = Workflow(
    name="follow-up",
    model=FollowUp,
    related=("patient", "assigned_to", "completed_by"),
    transitions=[
        Transition(
            "complete",
            "Complete",
            frozenset({FollowUpStatus.OPEN}),
            FollowUpStatus.DONE,
            inputs=(
                Input(
                    "outcome",
                    "text",
                    "Outcome",
                    required=False,
                    help="What happened, for the next person.",
                    max_length=4000,
                ),
            ),
        ),
        Transition(
            "cancel",
            "Cancel",
            frozenset({FollowUpStatus.OPEN}),
            FollowUpStatus.CANCELLED,
            inputs=(reason(True),),
        ),
    ],
)
