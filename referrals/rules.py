"""Care-continuity rules: the follow-ups a referral's or an interaction's life calls for.

Rule (follow-up kind)   fires when                                   due
- appointment_reminder  a referral is scheduled or rescheduled       2 days before the visit
- visit_confirmation    the visit time passed, still scheduled (*)   the day after the visit
- report_request        seen, and no report by the target (*)        at once
- find_provider         a referral is declined                       next business day
- callback              an interaction's outcome: follow-up needed   next business day
- post_visit_check_in   a referral is closed                         next business day
- service_recovery      a survey response is a detractor             next business day
(*) time-based: run by ``manage.py run_care_rules``; the others run in the transition.

Referral rules go to the referral's coordinator (else the patient's, else the
care-coordination queue); a callback to whoever logged the interaction, else its
department queue; service recovery to the rated department's queue. Each follow-up
records its ``rule`` and a ``rule_key`` naming the occasion; a database constraint makes
(rule, rule_key) unique, so running a rule twice, or twice at once, never creates a
second follow-up. When a referral moves on, open rule follow-ups that no longer apply
(a reminder for a visit that was rescheduled, a report request once the report is in)
are resolved automatically.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.choices import Channel, Department
from crm.services import save_attributed
from interactions.choices import Outcome
from patients.choices import ConsentPurpose, ConsentStatus, InterpreterNeeded
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
CALLBACK = FollowUpKind.CALLBACK
CHECK_IN = FollowUpKind.POST_VISIT_CHECK_IN
SERVICE_RECOVERY = FollowUpKind.SERVICE_RECOVERY

REMIND_BEFORE = timedelta(days=2)
END_OF_BUSINESS_DAY = time(17)


@dataclass
class Need:
    """A follow-up a rule calls for."""

    rule: str
    key: str
    patient: Patient
    title: str
    due_at: datetime
    assigned_to: object = None
    queue: str = ""
    priority: str = FollowUpPriority.MEDIUM
    note: str = ""
    referral: Referral | None = None
    interaction: object = None
    contact: dict = field(default_factory=dict)


def next_business_day(after: datetime) -> datetime:
    """End of the next weekday (17:00 in the clinic's time zone) after ``after``."""
    local = timezone.localtime(after)
    day = local.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, END_OF_BUSINESS_DAY))


def _owner(referral: Referral) -> dict:
    person = referral.coordinator or referral.patient.care_coordinator
    return {"assigned_to": person} if person else {"queue": Department.CARE_COORDINATION}


def _provider(referral: Referral) -> str:
    return str(referral.receiving_practitioner or referral.receiving_organization or "provider")


def contact_plan(patient: Patient, purpose: str) -> tuple[dict, str]:
    """How to reach the patient: their preferred language and channel, and a note."""
    languages = list(patient.languages.all())
    preferred = [lang for lang in languages if lang.preferred] or languages
    language = min(preferred, key=lambda lang: lang.rank).language if preferred else ""
    channel = patient.preferred_channel or Channel.PHONE
    opted_out = patient.consents.filter(
        channel=channel, purpose=purpose, status=ConsentStatus.OPT_OUT
    ).exists()
    notes = []
    if opted_out:
        notes.append(f"Opted out of {channel} for this purpose; use phone.")
        channel = Channel.PHONE
    if language:
        notes.append(f"Contact in {language_name(language)} ({language}) by {channel}.")
    if patient.interpreter_needed == InterpreterNeeded.YES:
        notes.append("Interpreter needed.")
    if patient.contact_window_start:
        notes.append(
            f"Best time {patient.contact_window_start:%H:%M}-{patient.contact_window_end:%H:%M}"
            f" {patient.time_zone}".rstrip()
            + "."
        )
    if patient.do_not_contact:
        notes.append("Patient is marked do-not-contact: check before calling.")
    return {"contact_language": language, "contact_channel": channel}, " ".join(notes)


def create_once(need: Need, *, actor) -> FollowUp | None:
    """Create the follow-up unless this rule already fired for this key."""
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
        **need.contact,
    )
    try:
        with transaction.atomic():  # a savepoint: a concurrent runner may win the key
            save_attributed(follow_up, actor=actor, reason=f"rule: {need.rule}")
    except IntegrityError:
        return None
    return follow_up


# The rules -------------------------------------------------------------------------


def _appointment_key(referral: Referral) -> str:
    return f"{referral.pk}:{referral.appointment_at.isoformat()}"


def appointment_reminder(referral: Referral, now: datetime) -> Need:
    contact, note = contact_plan(referral.patient, ConsentPurpose.APPOINTMENT_REMINDERS)
    when = timezone.localtime(referral.appointment_at)
    return Need(
        rule=REMINDER,
        key=_appointment_key(referral),
        patient=referral.patient,
        title=f"Remind patient of the {referral.specialty} visit on {when:%Y-%m-%d %H:%M}",
        due_at=max(now, referral.appointment_at - REMIND_BEFORE),
        referral=referral,
        contact=contact,
        note=note,
        **_owner(referral),
    )


def visit_confirmation(referral: Referral, now: datetime) -> Need:
    return Need(
        rule=CONFIRM_VISIT,
        key=_appointment_key(referral),
        patient=referral.patient,
        title=f"Confirm the {referral.specialty} visit happened or record the no-show",
        due_at=referral.appointment_at + timedelta(days=1),
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
    contact, note = contact_plan(referral.patient, ConsentPurpose.CARE_COORDINATION)
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


def interaction_callback(interaction) -> Need:
    contact, note = contact_plan(interaction.patient, ConsentPurpose.CARE_COORDINATION)
    owner = (
        {"assigned_to": interaction.staff}
        if interaction.staff
        else {"queue": interaction.department}
    )
    return Need(
        rule=CALLBACK,
        key=str(interaction.pk),
        patient=interaction.patient,
        title=f"Call back about {interaction.get_topic_display().lower()}",
        due_at=next_business_day(interaction.occurred_at),
        interaction=interaction,
        contact=contact,
        note=note,
        **owner,
    )


# What a transition into a status calls for.
ON_ENTERING = {
    S.SCHEDULED: appointment_reminder,
    S.DECLINED: find_provider,
    S.CLOSED: post_visit_check_in,
}


def _still_applies(follow_up: FollowUp, referral: Referral) -> bool:
    if follow_up.rule in (REMINDER, CONFIRM_VISIT):
        return referral.status == S.SCHEDULED and follow_up.rule_key == _appointment_key(referral)
    if follow_up.rule == REQUEST_REPORT:
        return referral.status == S.SEEN
    if follow_up.rule == FIND_PROVIDER:
        return referral.status == S.DECLINED and not referral.replaced_by.exists()
    return True


def resolve_moot(referral: Referral, *, actor, now: datetime) -> None:
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


def on_referral_change(referral: Referral, *, actor, now: datetime | None = None) -> None:
    """Run the rules a referral's transition (or creation) triggers."""
    now = now or timezone.now()
    resolve_moot(referral, actor=actor, now=now)
    if referral.replaces_id:
        resolve_moot(referral.replaces, actor=actor, now=now)
    rule = ON_ENTERING.get(referral.status)
    if rule is not None:
        create_once(rule(referral, now), actor=actor)


def on_interaction_logged(interaction, *, actor) -> None:
    if interaction.outcome == Outcome.FOLLOW_UP_NEEDED:
        create_once(interaction_callback(interaction), actor=actor)


# Time-based rules, run by `manage.py run_care_rules` -------------------------------


def _missing(candidates: Iterable[Referral], rule: str, key) -> list[Referral]:
    candidates = list(candidates)
    fired = set(
        FollowUp.objects.filter(rule=rule, referral__in=candidates).values_list(
            "rule_key", flat=True
        )
    )
    return [referral for referral in candidates if key(referral) not in fired]


def run_time_based_rules(*, now: datetime | None = None, actor=None) -> dict[str, int]:
    """Fire the rules that depend on the clock. Safe to run every minute, and
    concurrently: each follow-up is created at most once."""
    now = now or timezone.now()
    referrals = Referral.objects.select_related(
        "patient__care_coordinator",
        "coordinator",
        "receiving_organization",
        "receiving_practitioner",
    )
    created = {CONFIRM_VISIT: 0, REQUEST_REPORT: 0}

    visits_passed = referrals.filter(status=S.SCHEDULED, appointment_at__lt=now)
    for referral in _missing(visits_passed, CONFIRM_VISIT, _appointment_key):
        created[CONFIRM_VISIT] += bool(create_once(visit_confirmation(referral, now), actor=actor))

    targets = service_levels.targets()
    reports_late = referrals.filter(service_levels.overdue_q(targets, now), status=S.SEEN)
    for referral in _missing(
        reports_late, REQUEST_REPORT, lambda r: f"{r.pk}:{r.status_changed_at.isoformat()}"
    ):
        created[REQUEST_REPORT] += bool(create_once(report_request(referral, now), actor=actor))
    return created


def service_recovery(response) -> Need:
    scores = ", ".join(
        f"{name} {score}"
        for name, score in (("NPS", response.nps_score), ("CSAT", response.csat_score))
        if score is not None
    )
    contact, note = contact_plan(response.patient, ConsentPurpose.CARE_COORDINATION)
    comment = f' Comment: "{response.comment[:300]}"' if response.comment else ""
    return Need(
        rule=SERVICE_RECOVERY,
        key=str(response.pk),
        patient=response.patient,
        title=f"Service-recovery call after a low rating ({scores})",
        due_at=next_business_day(response.received_at),
        queue=response.department,
        priority=FollowUpPriority.HIGH,
        interaction=response.interaction,
        referral=response.referral,
        contact=contact,
        note=(note + comment).strip(),
    )


def on_survey_response(response, *, actor) -> None:
    """A detractor (NPS 0-6 or CSAT 1-2) gets a service-recovery call from the
    responsible department."""
    if response.is_detractor:
        create_once(service_recovery(response), actor=actor)
