"""Care-continuity rules: the follow-ups a referral's or an interaction's life calls for.

Rule (follow-up kind)   fires when                                   due
- visit_confirmation    the visit time passed, still scheduled (*)   the day after the visit
- report_request        seen, and no report by the target (*)        at once
- find_provider         a referral is declined                       next business day
- rebook                a patient missed the appointment (no-show)   next business day
- post_visit_check_in   a referral is closed                         next business day
(*) time-based: run by ``manage.py run_care_rules``; the others run in the transition.
Rules that interactions trigger (a callback, service recovery) are in
``interactions.rules``; they use :func:`create_once` from here. The patient's reminder
before a scheduled visit is a message the messaging app sends itself
(``messaging.automations``); it leaves an ``appointment_reminder`` follow-up, keyed by
the appointment like the rules here, only when a person must remind the patient.

Referral rules go to the referral's coordinator (else the patient's, else the
care-coordination queue). How to reach the patient (channel, language, interpreter,
contact window) comes from the contact policy (``patients.contact``). Each follow-up
records its ``rule`` and a ``rule_key`` naming the occasion; a database constraint makes
(rule, rule_key) unique, so running a rule twice, or twice at once, never creates a
second follow-up. When a referral moves on, open rule follow-ups that no longer apply
(a reminder for a visit that was rescheduled, a report request once the report is in)
are resolved automatically.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.choices import Department
from crm.periods import next_business_day
from crm.roles import Actor
from crm.services import save_attributed
from patients.choices import ConsentPurpose
from patients.contact import contact_policy
from patients.models import Patient
from patients.validators import language_name
from referrals import service_levels
from referrals.choices import FollowUpKind, FollowUpPriority, FollowUpStatus
from referrals.choices import ReferralStatus as S
from referrals.models import FollowUp, Referral

REMINDER = FollowUpKind.APPOINTMENT_REMINDER
CONFIRM_VISIT = FollowUpKind.VISIT_CONFIRMATION
REQUEST_REPORT = FollowUpKind.REPORT_REQUEST
FIND_PROVIDER = FollowUpKind.FIND_PROVIDER
REBOOK = FollowUpKind.REBOOK
CHECK_IN = FollowUpKind.POST_VISIT_CHECK_IN


@dataclass
class Need:
    """A follow-up a rule calls for."""

    rule: str
    key: str
    patient: Patient
    title: str
    due_at: datetime
    assigned_to: Any = None  # a user
    queue: str = ""
    priority: str = FollowUpPriority.MEDIUM
    note: str = ""
    referral: Referral | None = None
    interaction: Any = None  # an interactions.Interaction
    contact: dict = field(default_factory=dict)


def _owner(referral: Referral) -> dict:
    person = referral.coordinator or referral.patient.care_coordinator
    return {"assigned_to": person} if person else {"queue": Department.CARE_COORDINATION}


def _provider(referral: Referral) -> str:
    return str(referral.receiving_practitioner or referral.receiving_organization or "provider")


def contact_plan(patient: Patient, purpose: str, now: datetime) -> tuple[dict, str]:
    """How to reach the patient, by the contact policy: the language and channel for the
    follow-up's fields, and a note for the person who makes the contact."""
    decision = contact_policy(patient, purpose=purpose, at=now)
    notes = []
    if decision.allowed and decision.language:
        notes.append(
            f"Contact in {language_name(decision.language)} ({decision.language}) "
            f"by {decision.channel}."
        )
    elif decision.allowed:
        notes.append(f"Contact by {decision.channel}.")
    notes.append(decision.note())
    contact = {
        "contact_language": decision.language,
        "contact_channel": decision.channel if decision.allowed else "",
    }
    return contact, " ".join(note for note in notes if note)


def create_once(need: Need, *, actor: Actor, at: datetime | None = None) -> FollowUp | None:
    """Create the follow-up unless this rule already fired for this key. ``at`` is when
    the event that calls for it happened (a visit recorded late, say): the follow-up
    dates from then, as its due time does."""
    if FollowUp.objects.filter(rule=need.rule, rule_key=need.key).exists():
        return None
    follow_up = FollowUp(
        patient=need.patient,
        kind=need.rule,
        title=need.title[:200],
        note=need.note,
        due_at=need.due_at,
        assigned_to=need.assigned_to,
        queue=need.queue,
        priority=need.priority,
        referral=need.referral,
        interaction=need.interaction,
        rule=need.rule,
        rule_key=need.key,
        created_by=actor,
        created_at=min(at or timezone.now(), timezone.now()),
        **need.contact,
    )
    try:
        with transaction.atomic():  # a savepoint: a concurrent runner may win the key
            save_attributed(follow_up, actor=actor, reason=f"rule: {need.rule}")
    except IntegrityError:
        return None
    return follow_up


# The rules -------------------------------------------------------------------------


def _appointment(referral: Referral) -> datetime:
    """A scheduled referral's appointment time (a database constraint keeps it set)."""
    if referral.appointment_at is None:
        raise ValueError(f"Referral {referral.pk} has no appointment time.")
    return referral.appointment_at


def appointment_key(referral: Referral) -> str:
    """Names a referral's appointment: a rescheduled visit is a new occasion."""
    return f"{referral.pk}:{_appointment(referral).isoformat()}"


def visit_confirmation(referral: Referral, now: datetime) -> Need:
    return Need(
        rule=CONFIRM_VISIT,
        key=appointment_key(referral),
        patient=referral.patient,
        title=f"Confirm the {referral.specialty} visit happened or record the no-show",
        due_at=_appointment(referral) + timedelta(days=1),
        priority=FollowUpPriority.HIGH,
        referral=referral,
        **_owner(referral),
    )


def report_request(referral: Referral, now: datetime) -> Need:
    return Need(
        rule=REQUEST_REPORT,
        key=f"{referral.pk}:{referral.status_changed_at.isoformat()}",
        patient=referral.patient,
        title=f"Request the consult report from {_provider(referral)}",
        due_at=now,
        priority=FollowUpPriority.HIGH,
        referral=referral,
        **_owner(referral),
    )


def find_provider(referral: Referral, now: datetime) -> Need:
    return Need(
        rule=FIND_PROVIDER,
        key=str(referral.pk),
        patient=referral.patient,
        title=f"Find another {referral.specialty} provider (referral declined)",
        due_at=next_business_day(now),
        priority=FollowUpPriority.HIGH,
        referral=referral,
        **_owner(referral),
    )


def post_visit_check_in(referral: Referral, now: datetime) -> Need:
    contact, note = contact_plan(referral.patient, ConsentPurpose.CARE_COORDINATION, now)
    return Need(
        rule=CHECK_IN,
        key=f"{referral.pk}:{referral.status_changed_at.isoformat()}",
        patient=referral.patient,
        title=f"Post-visit check-in call after the {referral.specialty} visit",
        due_at=next_business_day(now),
        referral=referral,
        contact=contact,
        note=note,
        **_owner(referral),
    )


def rebook(referral: Referral, now: datetime) -> Need:
    contact, note = contact_plan(referral.patient, ConsentPurpose.APPOINTMENT_REMINDERS, now)
    return Need(
        rule=REBOOK,
        key=f"{referral.pk}:{referral.status_changed_at.isoformat()}",
        patient=referral.patient,
        title=f"Rebook the missed {referral.specialty} appointment",
        due_at=next_business_day(now),
        priority=FollowUpPriority.HIGH,
        referral=referral,
        contact=contact,
        note=note,
        **_owner(referral),
    )


# What a transition into a status calls for.
ON_ENTERING: dict[str, Callable[[Referral, datetime], Need]] = {
    S.DECLINED: find_provider,
    S.NO_SHOW: rebook,
    S.CLOSED: post_visit_check_in,
}


def _still_applies(follow_up: FollowUp, referral: Referral) -> bool:
    if follow_up.rule in (REMINDER, CONFIRM_VISIT):
        return referral.status == S.SCHEDULED and follow_up.rule_key == appointment_key(referral)
    if follow_up.rule == REQUEST_REPORT:
        return referral.status == S.SEEN
    if follow_up.rule == FIND_PROVIDER:
        return referral.status == S.DECLINED and not referral.replaced_by.exists()
    if follow_up.rule == REBOOK:
        return referral.status == S.NO_SHOW
    return True


def resolve_moot(referral: Referral, *, actor: Actor, now: datetime) -> None:
    """Close the referral's open rule follow-ups that its new state made moot."""
    open_rule_follow_ups = referral.follow_ups.filter(status=FollowUpStatus.OPEN).exclude(rule="")
    for follow_up in open_rule_follow_ups:
        if not _still_applies(follow_up, referral):
            follow_up.finish(
                FollowUpStatus.DONE,
                by=actor,
                outcome=f"Resolved automatically: the referral is now {referral.status}.",
                at=now,
            )
            save_attributed(follow_up, actor=actor, reason="rule: resolved")


def on_referral_change(referral: Referral, *, actor: Actor, now: datetime | None = None) -> None:
    """Run the rules a referral's transition (or creation) triggers."""
    now = now or timezone.now()
    resolve_moot(referral, actor=actor, now=now)
    if referral.replaces is not None:
        resolve_moot(referral.replaces, actor=actor, now=now)
    rule = ON_ENTERING.get(referral.status)
    if rule is not None:
        create_once(rule(referral, now), actor=actor, at=now)


# Time-based rules, run by `manage.py run_care_rules` -------------------------------


def _missing(
    candidates: Iterable[Referral], rule: str, key: Callable[[Referral], str]
) -> list[Referral]:
    candidates = list(candidates)
    fired = set(
        FollowUp.objects.filter(rule=rule, referral__in=candidates).values_list(
            "rule_key", flat=True
        )
    )
    return [referral for referral in candidates if key(referral) not in fired]


def run_time_based_rules(*, now: datetime | None = None, actor: Actor = None) -> dict[str, int]:
    """Fire the rules that depend on the clock. Safe to run every minute, and
    concurrently: each follow-up is created at most once."""
    now = now or timezone.now()
    referrals = Referral.objects.select_related(
        "patient__care_coordinator",
        "coordinator",
        "receiving_organization",
        "receiving_practitioner",
    )
    created: dict[str, int] = {CONFIRM_VISIT: 0, REQUEST_REPORT: 0}

    visits_passed = referrals.filter(status=S.SCHEDULED, appointment_at__lt=now)
    for referral in _missing(visits_passed, CONFIRM_VISIT, appointment_key):
        created[CONFIRM_VISIT] += bool(create_once(visit_confirmation(referral, now), actor=actor))

    targets = service_levels.targets()
    reports_late = referrals.filter(service_levels.overdue_q(targets, now), status=S.SEEN)
    for referral in _missing(
        reports_late, REQUEST_REPORT, lambda r: f"{r.pk}:{r.status_changed_at.isoformat()}"
    ):
        created[REQUEST_REPORT] += bool(create_once(report_request(referral, now), actor=actor))
    return created
