"""The message state machine, as a table (docs/domain.md, messages).

queued -> sending -> sent -> delivered, with the side exits: back to queued to retry
a temporary failure or to wait for the patient's contact window; failed (permanent, or
out of retries); undeliverable (the address cannot receive); refused (the contact
policy said no when it was time to send); cancelled (its occasion passed). Inbound
messages start as received and stay there. A worker that dies while sending leaves
the message in sending; another worker claims it again when its lease runs out.
Receipts can overtake the worker's own record, so delivered is reachable from sending.
"""

from crm.workflow import Transition, Workflow, reason
from messaging.choices import MessageAction as A
from messaging.choices import MessageStatus as S
from messaging.models import Message, MessageEvent

MESSAGE_WORKFLOW = Workflow(
    name="message",
    model=Message,
    event_model=MessageEvent,
    event_link="message",
    related=("patient",),
    transitions=[
        Transition(A.CLAIM, "Hand to a worker", frozenset({S.QUEUED, S.SENDING}), S.SENDING),
        Transition(A.HAND_OFF, "Accepted by the provider", frozenset({S.SENDING}), S.SENT),
        Transition(A.DELIVER, "Delivered", frozenset({S.SENDING, S.SENT}), S.DELIVERED),
        Transition(A.RETRY, "Retry later", frozenset({S.SENDING}), S.QUEUED),
        Transition(A.WAIT, "Wait for the contact window", frozenset({S.SENDING}), S.QUEUED),
        Transition(A.FAIL, "Failed", frozenset({S.SENDING, S.SENT}), S.FAILED),
        Transition(
            A.BOUNCE, "Undeliverable", frozenset({S.SENDING, S.SENT, S.DELIVERED}), S.UNDELIVERABLE
        ),
        Transition(A.REFUSE, "Refused", frozenset({S.QUEUED, S.SENDING}), S.REFUSED),
        Transition(A.CANCEL, "Cancel", frozenset({S.QUEUED}), S.CANCELLED, inputs=(reason(True),)),
    ],
)
