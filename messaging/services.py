"""Writes for messages: compose and queue (the outbox), send in batches, record the
provider's receipts and the patient's replies.

Sending is at most once and attempted at least once:

1. :func:`message_queue` writes the message, queued, in the transaction of the change
   that causes it (a referral scheduled, a staff member pressing Send). Nothing is sent
   inside a transaction; if it rolls back there is no message.
2. :func:`dispatch_due` claims a batch of due messages (``SELECT ... FOR UPDATE SKIP
   LOCKED`` on PostgreSQL, so workers never take the same message), moves them to
   sending with a lease and commits; then asks the contact policy again for each,
   hands each to its channel, and records every outcome in one write per batch.
3. A worker that dies between the provider call and that write leaves its messages in
   sending. The provider's receipt names the message by its idempotency key and moves
   it on (to sent or delivered). One whose lease ran out with no receipt is claimed
   again; before sending it again the worker asks the provider whether the earlier
   attempt reached it (the same text to the same number since that attempt began), and
   records that one instead of sending twice.

Every automated message names its rule and occasion, and a unique constraint on the pair
makes one occasion send once however often the rule runs.
"""

import contextlib
import datetime
import logging
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from appointments.models import Appointment
from appointments.services import appointment_answer
from crm.choices import Department
from crm.errors import Conflict, InvalidInput, InvalidTransition
from crm.roles import Actor
from crm.services import full_clean, save_attributed
from interactions.choices import Direction, Topic
from interactions.models import Interaction
from messaging import channels, segments
from messaging.choices import (
    Keyword,
    MessageAction,
    MessageChannel,
    MessageStatus,
    Sender,
    Template,
)
from messaging.models import Message, MessageEvent
from messaging.texts import Rendered, render
from messaging.workflow import MESSAGE_WORKFLOW
from patients.choices import (
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    LinkPurpose,
    PatientStatus,
)
from patients.contact import (
    ContactDecision,
    contact_policy,
    patient_zone,
    sending_hours_state,
)
from patients.links import link_issue, link_token
from patients.models import PHONE_SYSTEMS, CommunicationConsent, ContactPoint, Patient
from referrals.choices import FollowUpKind, FollowUpPriority, FollowUpStatus
from referrals.models import FollowUp, Referral
from referrals.rules import Need, contact_plan, create_once

log = logging.getLogger(__name__)

MESSAGE_CHANNELS = tuple(MessageChannel.values)
# The answers to a patient's keyword: they go out whatever the patient's consents say,
# because the patient just asked for them (a STOP is confirmed once).
KEYWORD_ANSWERS = (Template.OPTED_OUT, Template.OPTED_IN, Template.HELP)
# Not CANCEL or YES, which some carriers count: a patient who answers a reminder with
# "Cancel" or "Yes" means the appointment, and staff must read it.
KEYWORDS: dict[str, str] = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT"), Keyword.STOP),
    **dict.fromkeys(("START", "UNSTOP"), Keyword.START),
    **dict.fromkeys(("HELP", "INFO"), Keyword.HELP),
}
# Answers to an appointment reminder, as patients write them in the supported
# languages (the whole text, any case and punctuation). CANCEL is an opt-out word at
# some providers: the reminders ask for 3, and the provider's opt-out list must leave
# CANCEL to the clinic (README, SMS).
ANSWERS: dict[str, str] = {
    **dict.fromkeys(
        (
            *("C", "1", "YES", "Y", "CONFIRM", "CONFIRMED", "OK"),
            *("SI", "SÍ", "CONFIRMAR", "CONFIRMO", "SIM"),
            *("是", "确认", "確認", "好"),
            *("CÓ", "CO", "XÁCNHẬN", "네", "예", "확인", "OO", "OPO"),
            *("ДА", "نعم", "WI"),
            "С",  # noqa: RUF001 (a C typed on a Russian keyboard)
        ),
        Keyword.CONFIRM,
    ),
    **dict.fromkeys(
        (
            *("R", "2", "RESCHEDULE", "CHANGE", "CAMBIAR", "REPROGRAMAR", "REMARCAR"),
            *("改期", "ĐỔI", "ĐỔILỊCH", "DOI", "변경", "PALITAN", "ПЕРЕНЕСТИ", "تغيير"),
            "CHANJE",
            "Р",  # noqa: RUF001 (an R typed on a Russian keyboard)
        ),
        Keyword.RESCHEDULE,
    ),
    **dict.fromkeys(
        (
            *("3", "X", "CANCEL", "CANCELAR", "取消", "HỦY", "HUY", "취소", "KANSELAHIN"),
            *("ОТМЕНА", "ОТМЕНИТЬ", "إلغاء", "ANILE"),  # noqa: RUF001 (Russian)
        ),
        Keyword.CANCEL,
    ),
}
PURPOSE_TOPIC: dict[str, str] = {
    ConsentPurpose.APPOINTMENT_REMINDERS: Topic.SCHEDULING,
    ConsentPurpose.BILLING: Topic.BILLING,
}
# The follow-up an automated message leaves when it cannot go out, by its rule. The
# booking confirmation and the reminder of one appointment leave one reminder to-do.
FOLLOW_UP_KIND: dict[str, str] = {
    Template.APPOINTMENT_REMINDER: FollowUpKind.APPOINTMENT_REMINDER,
    Template.REFERRAL_SCHEDULED: FollowUpKind.APPOINTMENT_REMINDER,
    # What the patient must hear from the pharmacy or about a result: someone calls.
    Template.PRESCRIPTION_READY: FollowUpKind.CALLBACK,
    Template.REFILL_DUE: FollowUpKind.CALLBACK,
    Template.RESULT_AVAILABLE: FollowUpKind.CALLBACK,
}
# Backoff between attempts after a temporary failure: 1, 4, 16, 64 minutes...
RETRY_BASE = datetime.timedelta(minutes=1)
# The patient's pages (``selfservice``), by link purpose: the name of the page's URL.
PAGES: dict[str, str] = {
    LinkPurpose.APPOINTMENT: "visit",
    LinkPurpose.PREFERENCES: "preferences",
    LinkPurpose.FEEDBACK: "tell_us",
}
# Templates that always carry a link to one of those pages (HELP: the preferences).
LINK_TEMPLATES: dict[str, str] = {
    Template.PREFERENCES_LINK: LinkPurpose.PREFERENCES,
    Template.FEEDBACK_LINK: LinkPurpose.FEEDBACK,
    Template.HELP: LinkPurpose.PREFERENCES,
}
PAGE_LINK_LIFETIME = datetime.timedelta(days=30)
# What the stored copy of a message says in place of its link (a credential).
LINK_MASK = "(the link to the patient's page)"


@dataclass(frozen=True)
class PageLink:
    """A patient's page a message links to (``patients.links``): its purpose, what it
    is about (an appointment) and until when it opens."""

    purpose: str
    expires_at: datetime.datetime
    subject_id: int | None = None


@dataclass(frozen=True)
class Draft:
    """What a message would be: the policy's answer and, when it allows, the text."""

    decision: ContactDecision
    rendered: Rendered | None
    send_after: datetime.datetime | None = None  # later than asked: the contact window

    @property
    def segments(self) -> tuple[int, str] | None:
        if self.rendered is None or self.decision.channel != MessageChannel.SMS:
            return None
        return segments.count(self.rendered.body)


def _decide(
    patient: Patient, *, purpose: str, channel: str, at: datetime.datetime
) -> ContactDecision:
    return contact_policy(patient, purpose=purpose, channel=channel, at=at, among=MESSAGE_CHANNELS)


def _check_template(template: str, text: str) -> None:
    if template == Template.GENERAL and not text.strip():
        raise InvalidInput("Write the message.", errors={"text": ["This field is required."]})
    if "\x00" in text:
        raise InvalidInput("The text has a NUL character.", errors={"text": ["Not allowed."]})


def message_draft(
    *,
    patient: Patient,
    purpose: str,
    channel: str = "",
    template: str = Template.GENERAL,
    values: dict | None = None,
    at: datetime.datetime | None = None,
    wait_for_window: bool = True,
    answering: Message | None = None,
) -> Draft:
    """The message as it would go out now: the channel and address the contact
    policy picks (or why it refuses), the text in the patient's language, and when it
    would leave (it waits for the patient's hours, unless it answers them). Writes
    nothing: the app's preview and :func:`message_queue` both use it."""
    at = at or timezone.now()
    values = dict(values or {})
    if template in LINK_TEMPLATES:
        values.setdefault("link", LINK_MASK)
    _check_template(template, values.get("text", ""))
    decision = _decide(patient, purpose=purpose, channel=channel, at=at)
    if answering is not None and template in KEYWORD_ANSWERS:
        # The patient just texted a keyword: the answer goes back to that number.
        decision = replace(
            decision,
            allowed=True,
            channel=answering.channel,
            address=answering.address,
            code="",
            reason="",
        )
    if not decision.allowed and channel not in ("", *MESSAGE_CHANNELS):
        raise InvalidInput(
            "Messages go by SMS or email.", errors={"channel": ["Choose sms or email."]}
        )
    if not decision.allowed:
        return Draft(decision, None)
    values.setdefault("name", patient.preferred_name or patient.given_name)
    rendered = render(
        template,
        channel=decision.channel,
        language=decision.language,
        values=values,
        zone=patient_zone(patient),
    )
    send_after = None
    if wait_for_window:
        within, opens_at = sending_hours_state(patient, at)
        send_after = None if within else opens_at
    return Draft(decision, rendered, send_after)


def _interaction(message: Message, actor: Actor) -> Interaction:
    summary = f"{message.subject}\n\n{message.body}" if message.subject else message.body
    return Interaction(
        patient=message.patient,
        channel=message.channel,
        direction=message.direction,
        department=message.department,
        topic=PURPOSE_TOPIC.get(message.purpose, Topic.GENERAL),
        occurred_at=message.created_at,
        # An automation's message is the rule's, not the person whose step set it off.
        staff=actor if message.sender == Sender.STAFF else None,
        summary=summary[:10000],
        language=message.language_used,
        referral=message.referral,
    )


def _start(message: Message, *, actor: Actor) -> Message:
    """Save a new message with its timeline interaction and its first event."""
    interaction = _interaction(message, actor)
    save_attributed(interaction, actor=actor, reason=f"message {message.direction}")
    message.interaction = interaction
    message.save()
    MESSAGE_WORKFLOW.start(message, actor=actor, at=message.created_at)
    return message


def message_queue(
    *,
    actor: Actor,
    patient: Patient,
    purpose: str,
    department: str,
    channel: str = "",
    template: str = Template.GENERAL,
    values: dict | None = None,
    sender: str = Sender.STAFF,
    rule: str = "",
    occasion: str = "",
    send_after: datetime.datetime | None = None,
    referral: Referral | None = None,
    appointment: Appointment | None = None,
    reply_to: Message | None = None,
    link: PageLink | None = None,
    at: datetime.datetime | None = None,
) -> Message:
    """Write an outbound message, queued, in the caller's transaction (the outbox);
    a worker sends it once it is due and the transaction has committed. ``at`` is when
    its occasion happened (a step recorded late): the message dates from then.

    A message with a ``link`` (or whose template always has one) links to one of the
    patient's pages; the link is issued with the message and put into its text only
    when it is sent.

    A staff member's message the policy refuses is a 409 that says why, and nothing is
    written. An automated one is recorded as refused with its reason and leaves a
    follow-up for the person who must act instead, so nothing is dropped silently.
    A rule's message for an occasion it already sent for is not written twice (the
    first one is returned)."""
    now = min(at or timezone.now(), timezone.now())
    due = max(send_after or now, now)
    automated = sender != Sender.STAFF
    if link is None and template in LINK_TEMPLATES:
        link = PageLink(LINK_TEMPLATES[template], expires_at=now + PAGE_LINK_LIFETIME)
    nonce = secrets.token_urlsafe(24) if link else ""
    if link:
        values = {
            **(values or {}),
            "link": LINK_MASK,
            "link_nonce": nonce,
            "link_kind": PAGES[link.purpose],
        }
    draft = message_draft(
        patient=patient,
        purpose=purpose,
        channel=channel,
        template=template,
        values=values,
        at=due,
        wait_for_window=reply_to is None,
        answering=reply_to,
    )
    decision = draft.decision
    if not decision.allowed and not automated:
        raise Conflict(
            decision.reason,
            code="contact_not_permitted",
            errors={"channel": [decision.reason]},
        )
    message = Message(
        patient=patient,
        channel=decision.channel if decision.channel in MESSAGE_CHANNELS else MessageChannel.SMS,
        direction=Direction.OUTBOUND,
        purpose=purpose,
        department=department,
        template=template,
        context={k: v for k, v in (values or {}).items() if v not in (None, "")},
        language=decision.language,
        address=decision.address,
        sender=sender,
        sent_by=actor,
        rule=rule,
        occasion=occasion[:200],
        send_after=draft.send_after or due,
        referral=referral,
        appointment=appointment,
        reply_to=reply_to,
        created_at=now,
    )
    if draft.rendered is not None:
        _apply_rendered(message, draft.rendered)
    else:
        message.status = MessageStatus.REFUSED
        message.status_reason = decision.note()
        message.refusal_code = decision.code
        message.body = f"({Template(template).label}: not sent)"
    # The key is new; the related rows were loaded from the database.
    full_clean(
        message,
        exclude=[
            "patient",
            "interaction",
            "referral",
            "appointment",
            "reply_to",
            "sent_by",
            "idempotency_key",
        ],
    )
    try:
        _write(message, actor=actor, now=now)
    except IntegrityError:
        # The rule already sent for this occasion (or a concurrent run just did).
        if not rule:
            raise
        return Message.objects.get(rule=rule, occasion=message.occasion)
    if link and message.status == MessageStatus.QUEUED:
        link_issue(
            patient=patient,
            purpose=link.purpose,
            nonce=nonce,
            subject_id=link.subject_id,
            expires_at=link.expires_at,
            language=message.language,
        )
    return message


@transaction.atomic
def _write(message: Message, *, actor: Actor, now: datetime.datetime) -> None:
    """Save a new outbound message (its own savepoint in the caller's transaction, so a
    lost race for its occasion undoes only this)."""
    _start(message, actor=actor)
    if message.status == MessageStatus.REFUSED:
        _leave_for_person(message, actor=actor, reason=message.status_reason, at=now)
    elif message.send_after <= now:
        transaction.on_commit(_kick)


def _apply_rendered(message: Message, rendered: Rendered) -> None:
    message.language_used = rendered.language
    message.subject = rendered.subject[:200]
    message.body = rendered.body
    if message.channel == MessageChannel.SMS:
        message.segments, message.encoding = segments.count(rendered.body)
    else:
        message.segments, message.encoding = None, ""


def _kick() -> None:
    """Ask a worker to send what is due now, rather than at the next scheduled run. The
    change that queued the message has committed: a broker that cannot be reached (or,
    without one, a send that fails in this process) must not fail it; the scheduler's
    next run sends the message."""
    from messaging.tasks import dispatch

    try:
        dispatch.delay()
    except Exception:
        log.exception("Could not ask a worker to send; the scheduled run will.")


def _leave_for_person(
    message: Message, *, actor: Actor, reason: str, at: datetime.datetime
) -> None:
    """An automated message that could not go out becomes a follow-up for the person
    who must reach the patient another way."""
    if message.rule not in FOLLOW_UP_KIND:
        return  # staff saw the refusal; other automations (a survey) need no one
    referral = message.referral
    contact, how = contact_plan(message.patient, message.purpose, at)
    owner: dict[str, Any]
    if referral is not None and referral.coordinator_id:
        owner = {"assigned_to": referral.coordinator}
    elif message.patient.care_coordinator_id:
        owner = {"assigned_to": message.patient.care_coordinator}
    else:
        owner = {"queue": message.department}
    follow_up = create_once(
        Need(
            rule=FOLLOW_UP_KIND[message.rule],
            key=_person_key(message),
            patient=message.patient,
            title=f"Reach the patient: the {Template(message.template).label.lower()} "
            "could not be sent",
            due_at=at,
            priority=FollowUpPriority.HIGH,
            note=how if reason in how else f"{reason} {how}".strip(),
            referral=referral,
            contact=contact,
            **owner,
        ),
        actor=actor,
        at=at,
    )
    if follow_up is not None:
        Message.objects.filter(pk=message.pk).update(follow_up=follow_up)
        message.follow_up = follow_up


def _person_key(message: Message) -> str:
    """What one follow-up stands for: every message about one appointment time (its
    confirmation and reminders) leaves one."""
    if message.appointment_id:
        return f"appointment:{message.appointment_id}:{message.context.get('at', '')}"[:100]
    return message.occasion[:100] or f"message:{message.pk}"


# Sending ----------------------------------------------------------------------------


@dataclass
class _Outcome:
    message: Message
    action: str
    reason: str = ""


def _claim(now: datetime.datetime, limit: int) -> tuple[uuid.UUID, list[int]]:
    """Take up to ``limit`` due messages (and those whose worker's lease ran out) for
    this worker, in one short transaction."""
    claim = uuid.uuid4()
    lease = datetime.timedelta(seconds=settings.MESSAGE_LEASE_SECONDS)
    due = Q(status=MessageStatus.QUEUED, send_after__lte=now) | Q(
        status=MessageStatus.SENDING, claimed_until__lt=now
    )
    with transaction.atomic():
        taken = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(due)
            .order_by("send_after")
            .values_list("pk", "status")[:limit]
        )
        if not taken:
            return claim, []
        if abandoned := [pk for pk, status in taken if status == MessageStatus.SENDING]:
            # Their worker died: when its attempt began, from the lease it took.
            Message.objects.filter(
                pk__in=abandoned, status=MessageStatus.SENDING, unconfirmed_since__isnull=True
            ).update(unconfirmed_since=F("claimed_until") - lease)
        # The status condition again: on SQLite, which has no row locks, two workers
        # may pick the same rows, and only one update finds them still due.
        Message.objects.filter(due, pk__in=[pk for pk, _ in taken]).update(
            status=MessageStatus.SENDING,
            claim=claim,
            claimed_until=now + lease,
            attempts=F("attempts") + 1,
        )
        claimed = dict(Message.objects.filter(claim=claim).values_list("pk", "attempts"))
        MessageEvent.objects.bulk_create(
            MessageEvent(
                message_id=pk,
                action=MessageAction.CLAIM,
                from_status=status,
                to_status=MessageStatus.SENDING,
                occurred_at=now,
                details={"attempt": claimed[pk]},
            )
            for pk, status in taken
            if pk in claimed
        )
    return claim, list(claimed)


def dispatch_due(
    *, now: datetime.datetime | None = None, limit: int | None = None
) -> dict[str, int]:
    """Send one batch of due messages (see the module docstring); returns how many
    ended in each outcome. Safe to run in many workers at once and to run again."""
    now = now or timezone.now()
    claim, taken = _claim(now, limit or settings.MESSAGES_PER_BATCH)
    if not taken:
        return {}
    messages = list(
        Message.objects.filter(claim=claim)
        .order_by("send_after", "id")
        .select_related("patient", "referral")
        .prefetch_related("patient__consents", "patient__contact_points", "patient__languages")
    )
    loaded = {message.pk: _snapshot(message) for message in messages}
    outcomes = [_send(message, now) for message in messages]
    _record(claim, outcomes, loaded, now)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    return counts


def _send(message: Message, now: datetime.datetime) -> _Outcome:
    """Ask the policy again (consent may have changed since the message was queued),
    render the template again (the patient's language or zone may have too), then hand
    the message to its channel."""
    if message.unconfirmed_since and (earlier := _sent_earlier(message, now)):
        return earlier
    language = message.language
    if message.template not in KEYWORD_ANSWERS:
        decision = _decide(
            message.patient, purpose=message.purpose, channel=message.channel, at=now
        )
        if not decision.allowed and message.sender != Sender.STAFF:
            fallback = _decide(message.patient, purpose=message.purpose, channel="", at=now)
            if fallback.allowed:
                message.status_reason = f"{decision.reason} Sent by {fallback.channel} instead."
                message.channel = fallback.channel
                decision = fallback
        if not decision.allowed:
            message.refusal_code = decision.code
            return _Outcome(message, MessageAction.REFUSE, decision.note())
        message.address = decision.address
        language = message.language = decision.language
        if message.reply_to_id is None:  # answering a patient's text is not unbidden
            within, opens_at = sending_hours_state(message.patient, now)
            if not within and opens_at is not None:
                message.send_after = opens_at
                return _Outcome(
                    message,
                    MessageAction.WAIT,
                    f"Outside the patient's hours; waits until {opens_at:%Y-%m-%d %H:%M %Z}.",
                )
    stored = _render(message, language)
    _apply_rendered(message, stored)
    outgoing = _outgoing(message, language, stored)
    try:
        if message.channel == MessageChannel.EMAIL:
            accepted = channels.send_email(message, outgoing)
        else:
            accepted = channels.sms_backend().send(message, outgoing.body)
    except channels.SendError as exc:
        message.error_code = exc.code
        if exc.undeliverable:
            return _Outcome(message, MessageAction.BOUNCE, exc.reason)
        if exc.temporary and message.attempts < settings.MESSAGE_ATTEMPTS:
            message.send_after = now + RETRY_BASE * 4 ** (message.attempts - 1)
            return _Outcome(message, MessageAction.RETRY, exc.reason)
        return _Outcome(message, MessageAction.FAIL, exc.reason)
    message.provider_id = accepted.provider_id
    if accepted.segments:
        message.segments = accepted.segments
    message.sent_at = now
    if accepted.delivered:
        message.delivered_at = now
        return _Outcome(message, MessageAction.DELIVER)
    return _Outcome(message, MessageAction.HAND_OFF)


def _outgoing(message: Message, language: str, stored: Rendered) -> Rendered:
    """What is never stored (a survey link) goes only to the provider."""
    if "link_nonce" not in message.context:
        return stored
    return _render(message, language, with_link=True)


def _sent_earlier(message: Message, now: datetime.datetime) -> _Outcome | None:
    """A message whose worker died while sending it: if the provider has the text
    (rendered as that attempt rendered it), the message was sent and is recorded so;
    if it cannot be asked, the message waits rather than risk a second text."""
    since = message.unconfirmed_since
    assert since is not None
    if message.channel != MessageChannel.SMS or not message.address:
        message.unconfirmed_since = None  # email cannot be asked; its Message-ID is the same
        return None
    text = _outgoing(message, message.language, _render(message, message.language)).body
    try:
        found = channels.sms_backend().find(message.address, text, since=since)
    except channels.SendError as exc:
        message.send_after = now + RETRY_BASE
        return _Outcome(message, MessageAction.RETRY, exc.reason)
    message.unconfirmed_since = None
    if found is None:
        return None
    message.provider_id = found.provider_id
    message.segments = found.segments or message.segments
    return _Outcome(
        message,
        MessageAction.HAND_OFF,
        "The provider had it from an attempt whose worker stopped; not sent again.",
    )


def survey_token(nonce: str) -> str:
    """The survey token a message's nonce stands for (``messaging.surveys``): derived
    with the server's secret, so it is built when sent and never stored."""
    return salted_hmac("messaging.survey-link", nonce, algorithm="sha256").hexdigest()


def survey_link(nonce: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse("feedback", args=[survey_token(nonce)])


def page_link(page: str, nonce: str) -> str:
    """The link to one of the patient's pages (``selfservice``), by its URL's name."""
    return settings.PUBLIC_BASE_URL + reverse(page, args=[link_token(nonce)])


def _render(message: Message, language: str, *, with_link: bool = False) -> Rendered:
    """The message's template, from its stored values; ``with_link``, with what is
    never stored too (a survey link, a link to one of the patient's pages)."""
    values = {
        "name": message.patient.preferred_name or message.patient.given_name,
        **message.context,
    }
    if with_link and "link_nonce" in values:
        kind, nonce = values.get("link_kind", "survey"), values["link_nonce"]
        values["link"] = survey_link(nonce) if kind == "survey" else page_link(kind, nonce)
    return render(
        message.template,
        channel=message.channel,
        language=language,
        values=values,
        zone=patient_zone(message.patient),
    )


# What sending may change on a message, besides its status: each differs per message.
_PER_MESSAGE = [
    "status_reason",
    "refusal_code",
    "channel",
    "address",
    "subject",
    "body",
    "language",
    "language_used",
    "segments",
    "encoding",
    "send_after",
    "provider_id",
    "error_code",
    "unconfirmed_since",
]
# The times each outcome stamps, the same for the whole batch.
_STAMPS: dict[str, tuple[str, ...]] = {
    MessageAction.HAND_OFF: ("sent_at",),
    MessageAction.DELIVER: ("sent_at", "delivered_at"),
    MessageAction.FAIL: ("failed_at",),
    MessageAction.BOUNCE: ("failed_at",),
}
_LEFT_FOR_A_PERSON = (MessageStatus.REFUSED, MessageStatus.FAILED, MessageStatus.UNDELIVERABLE)


def _snapshot(message: Message) -> tuple:
    return tuple(getattr(message, name) for name in _PER_MESSAGE)


def _record(
    claim: uuid.UUID, outcomes: list[_Outcome], loaded: dict[int, tuple], now: datetime.datetime
) -> None:
    """Write every outcome of the batch at once: one update per outcome for what the
    batch shares (status, times), one for what differs per message (the provider's id,
    a reason), the events, and the follow-ups the failed automated ones leave. A
    receipt that arrived while the batch was out (the provider is fast) has already
    moved its message on; those keep the receipt's status."""
    with transaction.atomic():
        still_ours = set(
            Message.objects.select_for_update()
            .filter(claim=claim, status=MessageStatus.SENDING)
            .values_list("pk", flat=True)
        )
        by_action: dict[str, list[Message]] = {}
        changed: dict[int, Message] = {}
        fields: set[str] = set()
        events, for_person = [], []
        for outcome in outcomes:
            message = outcome.message
            if message.pk not in still_ours:
                continue
            target = MESSAGE_WORKFLOW.table[outcome.action].target
            assert target is not None
            message.status = target
            if outcome.reason and outcome.action != MessageAction.HAND_OFF:
                message.status_reason = outcome.reason
            differs = {
                name
                for name, before, after in zip(
                    _PER_MESSAGE, loaded[message.pk], _snapshot(message), strict=True
                )
                if before != after
            }
            if differs:
                changed[message.pk] = message
                fields |= differs
            by_action.setdefault(outcome.action, []).append(message)
            if target in _LEFT_FOR_A_PERSON:
                for_person.append(message)
            events.append(
                MessageEvent(
                    message=message,
                    action=outcome.action,
                    from_status=MessageStatus.SENDING,
                    to_status=target,
                    occurred_at=now,
                    reason=outcome.reason[:4000],
                    details={"attempt": message.attempts}
                    | ({"error_code": message.error_code} if message.error_code else {}),
                )
            )
        for action, messages in by_action.items():
            Message.objects.filter(pk__in=[m.pk for m in messages]).update(
                status=MESSAGE_WORKFLOW.table[action].target,
                claim=None,
                claimed_until=None,
                **dict.fromkeys(_STAMPS.get(action, ()), now),
            )
        if changed:
            Message.objects.bulk_update(list(changed.values()), sorted(fields))
        MessageEvent.objects.bulk_create(events)
        for message in for_person:
            _leave_for_person(message, actor=None, reason=message.status_reason, at=now)


# Receipts and replies ---------------------------------------------------------------

# The provider's message statuses, as steps of ours.
RECEIPT_ACTIONS = {
    "sent": MessageAction.HAND_OFF,
    "delivered": MessageAction.DELIVER,
    "read": MessageAction.DELIVER,
    "undelivered": MessageAction.FAIL,
    "failed": MessageAction.FAIL,
}


@transaction.atomic
def receipt_record(
    *,
    key: str,
    provider_id: str,
    provider_status: str,
    error_code: str = "",
    at: datetime.datetime | None = None,
) -> Message | None:
    """Move a message on by the provider's delivery receipt. Receipts may come twice,
    late or out of order: one that does not move the message forward changes nothing.
    Returns the message, or None when no message matches."""
    at = at or timezone.now()
    action = RECEIPT_ACTIONS.get(provider_status)
    found = Q(provider_id=provider_id) if provider_id else Q(pk__in=[])
    with contextlib.suppress(ValueError):
        found |= Q(idempotency_key=uuid.UUID(key))
    message = Message.objects.select_for_update().filter(found).first()
    if message is None or action is None:
        return message
    if action == MessageAction.FAIL and error_code in channels.UNDELIVERABLE_CODES:
        action = MessageAction.BOUNCE
    if message.status not in MESSAGE_WORKFLOW.table[action].sources:
        return message
    changes: dict[str, Any] = {"claim": None, "claimed_until": None}
    if provider_id and not message.provider_id:
        changes["provider_id"] = provider_id
    if action in (MessageAction.HAND_OFF, MessageAction.DELIVER) and not message.sent_at:
        changes["sent_at"] = at
    if action == MessageAction.DELIVER:
        changes["delivered_at"] = at
    if action in (MessageAction.FAIL, MessageAction.BOUNCE):
        changes.update(
            failed_at=at,
            error_code=error_code,
            status_reason=f"Provider error {error_code or 'unknown'}.",
        )
    message = MESSAGE_WORKFLOW.apply(
        message,
        action,
        actor=None,
        at=at,
        changes=changes,
        details={"provider_status": provider_status, "error_code": error_code},
    )
    if action in (MessageAction.FAIL, MessageAction.BOUNCE):
        _leave_for_person(message, actor=None, reason=message.status_reason, at=at)
    return message


def _bare(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).upper()


def keyword_of(text: str) -> str:
    """The standard keyword a text is, if the whole text is one (any case, any
    punctuation or spacing around it): ``Stop.`` is STOP, ``stop sending`` is not."""
    return KEYWORDS.get(_bare(text), "")


def answer_of(text: str) -> str:
    """The answer to an appointment reminder a text is, if the whole text is one."""
    return ANSWERS.get(_bare(text), "")


def _patients_at(number: str) -> list[Patient]:
    ids = ContactPoint.objects.filter(system__in=PHONE_SYSTEMS, value=number).values("patient_id")
    return list(
        Patient.objects.filter(pk__in=ids).exclude(status=PatientStatus.MERGED).order_by("pk")
    )


@transaction.atomic
def inbound_receive(
    *,
    from_number: str,
    body: str,
    provider_id: str,
    at: datetime.datetime | None = None,
) -> Message | None:
    """A text from a patient. It is threaded to the last message we sent that number
    and lands on the patient's timeline. A keyword changes the number's SMS consent
    (source: patient reply) and is answered once; any other text opens (or joins) a
    follow-up for the team that owns the conversation, due within
    ``MESSAGE_ANSWER_WITHIN``. The provider may deliver a webhook twice: the second
    changes nothing. Returns None for a number no patient has."""
    at = at or timezone.now()
    if provider_id:
        seen = Message.objects.filter(provider_id=provider_id).first()
        if seen is not None:
            return seen
    last_sent = (
        Message.objects.filter(
            address=from_number, direction=Direction.OUTBOUND, channel=MessageChannel.SMS
        )
        .select_related("patient")
        .order_by("-created_at", "-id")
        .first()
    )
    patients = _patients_at(from_number)
    patient = last_sent.patient if last_sent is not None else (patients[0] if patients else None)
    if patient is None:
        log.warning("An inbound text came from a number no patient has; it was not kept.")
        return None
    keyword = keyword_of(body)
    appointment_id = last_sent.appointment_id if last_sent is not None else None
    answer = answer_of(body) if appointment_id and not keyword else ""
    message = Message(
        patient=patient,
        channel=MessageChannel.SMS,
        direction=Direction.INBOUND,
        department=last_sent.department if last_sent else Department.CARE_COORDINATION,
        body=body[:10000],
        address=from_number,
        sender=Sender.PATIENT,
        status=MessageStatus.RECEIVED,
        keyword=keyword or answer,
        provider_id=provider_id,
        reply_to=last_sent,
        created_at=at,
        send_after=at,
        answered_at=at if keyword else None,
    )
    message.segments, message.encoding = segments.count(message.body)
    _start(message, actor=None)
    if keyword:
        _answer_keyword(message, keyword, patients or [patient], at)
    elif not (answer and appointment_id and _answer_reminder(message, answer, appointment_id, at)):
        _ask_staff_to_answer(message, at)
    return message


def _answer_reminder(
    message: Message, answer: str, appointment_id: int, at: datetime.datetime
) -> bool:
    """Act on a patient's answer to an appointment reminder
    (``appointments.services.appointment_answer``). False when the appointment can no
    longer take it (it is past, or cancelled): then a person reads the text."""
    appointment = Appointment.objects.get(pk=appointment_id)
    try:
        message.follow_up = appointment_answer(
            appointment=appointment,
            answer=answer,
            said=f'The patient replied "{message.body[:100]}" by text.',
            key=f"message:{message.pk}",
            at=at,
            note=f'"{message.body[:500]}"',
            interaction=message.interaction,
            channel=MessageChannel.SMS,
        )
    except InvalidTransition:
        return False
    message.answered_at = at
    message.save(update_fields=["answered_at", "follow_up"])
    return True


def _answer_keyword(
    message: Message, keyword: str, patients: list[Patient], at: datetime.datetime
) -> None:
    status = ConsentStatus.OPT_IN if keyword == Keyword.START else ConsentStatus.OPT_OUT
    changed = False
    if keyword != Keyword.HELP:
        for patient in patients:
            changed |= _set_sms_consent(patient, status, at)
    answers: dict[str, str] = {Keyword.STOP: Template.OPTED_OUT, Keyword.START: Template.OPTED_IN}
    answer = answers.get(keyword, Template.HELP)
    if keyword != Keyword.HELP and not changed:
        return  # the number was already where the keyword puts it: confirmed before
    message_queue(
        actor=None,
        patient=message.patient,
        purpose=ConsentPurpose.CARE_COORDINATION,
        department=message.department,
        channel=MessageChannel.SMS,
        template=answer,
        sender=Sender.RULE,
        rule=f"keyword_{keyword}",
        occasion=str(message.pk),
        reply_to=message,
    )


def _set_sms_consent(patient: Patient, status: str, at: datetime.datetime) -> bool:
    """The patient's SMS consent for every purpose, as a reply set it. Whether any
    changed."""
    changed = False
    current = {c.purpose: c for c in patient.consents.filter(channel=MessageChannel.SMS)}
    for purpose in ConsentPurpose.values:
        consent = current.get(purpose)
        if consent is not None and consent.status == status and consent.is_in_effect(at.date()):
            continue
        if consent is None:
            if status == ConsentStatus.OPT_IN:
                continue  # no opt-out to lift
            consent = CommunicationConsent(
                patient=patient, channel=MessageChannel.SMS, purpose=purpose
            )
        consent.status = status
        consent.source = ConsentSource.PATIENT_REPLY
        consent.captured_at = at
        consent.captured_by = None
        consent.effective_from = None
        consent.effective_to = None
        save_attributed(consent, actor=None, reason=f"patient replied {status}")
        changed = True
    return changed


def _ask_staff_to_answer(message: Message, at: datetime.datetime) -> None:
    """Open a follow-up to answer the text, or add to the one already open for this
    conversation, so no patient's text goes unanswered."""
    open_one = (
        FollowUp.objects.filter(
            patient=message.patient,
            kind=FollowUpKind.ANSWER_MESSAGE,
            queue=message.department,
            status=FollowUpStatus.OPEN,
        )
        .order_by("created_at")
        .first()
    )
    if open_one is None:
        open_one = create_once(
            Need(
                rule=FollowUpKind.ANSWER_MESSAGE,
                key=f"message:{message.pk}",
                patient=message.patient,
                title="Answer the patient's text message",
                due_at=at + settings.MESSAGE_ANSWER_WITHIN,
                queue=message.department,
                priority=FollowUpPriority.HIGH,
                note=f'"{message.body[:500]}"',
                interaction=message.interaction,
                contact={"contact_channel": MessageChannel.SMS},
            ),
            actor=None,
            at=at,
        )
    else:
        open_one.note = f'{open_one.note}\n"{message.body[:500]}"'[:4000]
        save_attributed(open_one, actor=None, reason="another text from the patient")
    if open_one is not None:
        message.follow_up = open_one
        message.save(update_fields=["follow_up"])


@transaction.atomic
def message_reply(*, actor: Actor, message: Message, text: str) -> Message:
    """Staff answer a patient's text: the reply goes on the same thread, and the
    patient's unanswered texts in it, with their follow-up, count as answered."""
    if message.direction != Direction.INBOUND:
        raise InvalidInput(
            "Only a patient's message can be answered.",
            errors={"reply_to_id": ["Choose a message the patient sent."]},
        )
    reply = message_queue(
        actor=actor,
        patient=message.patient,
        purpose=ConsentPurpose.CARE_COORDINATION,
        department=message.department,
        channel=message.channel,
        values={"text": text},
        reply_to=message,
    )
    now = timezone.now()
    unanswered = Message.objects.filter(
        patient=message.patient,
        direction=Direction.INBOUND,
        department=message.department,
        answered_at__isnull=True,
    )
    follow_up_ids = set(unanswered.exclude(follow_up=None).values_list("follow_up_id", flat=True))
    unanswered.update(answered_at=now)
    for follow_up in FollowUp.objects.filter(pk__in=follow_up_ids, status=FollowUpStatus.OPEN):
        follow_up.finish(FollowUpStatus.DONE, by=actor, outcome="Answered by text.", at=now)
        save_attributed(follow_up, actor=actor, reason="answered by text")
    return reply


@transaction.atomic
def message_cancel(*, actor: Actor, message: Message, reason: str) -> Message:
    """Stop a queued message from going out (its occasion passed, or staff decided)."""
    return MESSAGE_WORKFLOW.apply(message, MessageAction.CANCEL, actor=actor, reason=reason)


def cancel_moot(
    *,
    rules: Iterable[str],
    still_applies: Iterable[str],
    of: Referral | Appointment,
    actor: Actor,
    reason: str,
) -> int:
    """Cancel the rules' queued messages about ``of`` whose occasion is no longer
    current (a reminder for a visit that was rescheduled)."""
    moot = of.messages.filter(rule__in=list(rules), status=MessageStatus.QUEUED).exclude(
        occasion__in=list(still_applies)
    )
    count = 0
    for message in moot:
        try:
            MESSAGE_WORKFLOW.apply(message, MessageAction.CANCEL, actor=actor, reason=reason)
            count += 1
        except InvalidTransition:  # a worker took it meanwhile
            continue
    return count
