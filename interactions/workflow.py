"""The complaint state machine, as a table (docs/domain.md, complaints)."""

from crm.workflow import Input, Transition, Workflow, reason
from interactions.choices import ComplaintAction as A
from interactions.choices import ComplaintStatus as S
from interactions.models import Complaint, ComplaintEvent

COMPLAINT_WORKFLOW = Workflow(
    name="complaint",
    model=Complaint,
    event_model=ComplaintEvent,
    event_link="complaint",
    related=("patient", "owner"),
    # Any step taken is a response to the patient: the first one stops that clock.
    derive=lambda complaint, at, *_: {"first_response_at": complaint.first_response_at or at},
    transitions=[
        Transition(
            A.ACKNOWLEDGE,
            "Acknowledge",
            frozenset({S.NEW}),
            S.ACKNOWLEDGED,
            inputs=(reason(False, "What the patient was told."),),
            help="The first response to the patient: received and owned.",
        ),
        Transition(
            A.INVESTIGATE,
            "Investigate",
            frozenset({S.NEW, S.ACKNOWLEDGED}),
            S.INVESTIGATING,
            inputs=(reason(False),),
        ),
        Transition(
            A.RESOLVE,
            "Resolve",
            frozenset({S.ACKNOWLEDGED, S.INVESTIGATING}),
            S.RESOLVED,
            inputs=(
                Input("resolution_note", "text", "How it was resolved", max_length=10000),
                Input("patient_informed", "boolean", "The patient was told of the resolution"),
            ),
        ),
        Transition(A.CLOSE, "Close", frozenset({S.RESOLVED}), S.CLOSED, inputs=(reason(False),)),
        Transition(
            A.REOPEN,
            "Reopen",
            frozenset({S.RESOLVED, S.CLOSED}),
            S.INVESTIGATING,
            inputs=(reason(True),),
        ),
    ],
)
