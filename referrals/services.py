"""Writes for the provider directory, referrals and follow-ups.

Each referral transition is its own service: it locks the row, refuses a transition
the state machine does not allow (409 naming the allowed actions), applies the change
and writes one ReferralEvent, all in one transaction.
"""

from collections.abc import Callable
from datetime import date, datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from crm.errors import Conflict, InvalidInput, InvalidTransition
from crm.services import full_clean, lock_for_update, require_reason, save_attributed
from patients.models import Patient
from referrals import rules
from referrals.choices import OPEN_STATUSES, FollowUpStatus, ReferralAction, ReferralStatus
from referrals.models import FollowUp, Organization, Practitioner, Referral, ReferralEvent
from referrals.workflow import TRANSITIONS, allowed_actions


def _set_and_save(instance, *, actor, fields: dict, reason: str = "") -> None:
    changed = [name for name, value in fields.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, fields[name])
    full_clean(instance)
    if changed:
        save_attributed(instance, actor=actor, reason=reason)


# Directory -------------------------------------------------------------------------


def _create(model, *, actor, **fields):
    instance = model(**fields)
    full_clean(instance)
    save_attributed(instance, actor=actor)
    return instance


def _update(instance, *, actor, **fields):
    instance = type(instance).objects.select_for_update().get(pk=instance.pk)
    _set_and_save(instance, actor=actor, fields=fields)
    return instance


@transaction.atomic
def organization_create(*, actor, **fields) -> Organization:
    return _create(Organization, actor=actor, **fields)


@transaction.atomic
def organization_update(*, organization: Organization, actor, **fields) -> Organization:
    return _update(organization, actor=actor, **fields)


@transaction.atomic
def practitioner_create(*, actor, **fields) -> Practitioner:
    return _create(Practitioner, actor=actor, **fields)


@transaction.atomic
def practitioner_update(*, practitioner: Practitioner, actor, **fields) -> Practitioner:
    return _update(practitioner, actor=actor, **fields)


# Referrals -------------------------------------------------------------------------

# What may change once a referral has left draft: the rest is fixed by what was sent.
EDITABLE_AFTER_SEND = {
    "coordinator",
    "priority",
    "report_from",
    "report_summary",
    "report_recommendations",
}


def _check_replaces(patient, replaces: Referral | None) -> None:
    if replaces is None:
        return
    if replaces.patient_id != patient.pk:
        raise InvalidInput(
            "The replaced referral belongs to another patient.",
            errors={"replaces": ["Belongs to another patient."]},
        )
    if replaces.status != ReferralStatus.DECLINED:
        raise InvalidInput(
            "Only a declined referral can be replaced by a new one.",
            errors={"replaces": ["Is not declined."]},
        )


@transaction.atomic
def referral_create(*, actor, patient, at: datetime | None = None, **fields) -> Referral:
    """Create a draft referral; the coordinator defaults to the patient's. Naming a
    declined referral in ``replaces`` redirects it and resolves its find-provider task."""
    at = at or timezone.now()
    _check_replaces(patient, fields.get("replaces"))
    fields.setdefault("coordinator", patient.care_coordinator)
    referral = Referral(
        patient=patient,
        status=ReferralStatus.DRAFT,
        status_changed_at=at,
        created_at=at,
        created_by=actor,
        **fields,
    )
    full_clean(referral)
    save_attributed(referral, actor=actor, reason="created")
    ReferralEvent.objects.create(
        referral=referral,
        action=ReferralAction.CREATE,
        to_status=ReferralStatus.DRAFT,
        actor=actor,
        occurred_at=at,
    )
    rules.on_referral_change(referral, actor=actor, now=at)
    return referral


@transaction.atomic
def referral_update(
    *, referral: Referral, actor, expected_version: int | None = None, **fields
) -> Referral:
    referral = lock_for_update(referral, expected_version)
    if referral.status != ReferralStatus.DRAFT:
        frozen = sorted(
            name
            for name, value in fields.items()
            if name not in EDITABLE_AFTER_SEND and getattr(referral, name) != value
        )
        if frozen:
            raise Conflict(
                "These fields are fixed once the referral is sent; cancel it and create a "
                "new referral instead.",
                code="referral_fields_locked",
                errors={name: ["Cannot change after the referral is sent."] for name in frozen},
            )
    _set_and_save(referral, actor=actor, fields=fields)
    return referral


def _transition(
    referral: Referral,
    action: str,
    *,
    actor,
    expected_version: int | None,
    at: datetime | None,
    reason: str = "",
    changes: dict | None = None,
    check: Callable[[Referral], None] | None = None,
    target: str | None = None,
) -> Referral:
    transition = TRANSITIONS[action]
    if transition.reason_required and not reason.strip():
        raise InvalidInput("A reason is required.", errors={"reason": ["This field is required."]})
    referral = lock_for_update(referral, expected_version)
    if referral.status not in transition.sources:
        allowed = allowed_actions(referral.status)
        raise InvalidTransition(
            f"A referral that is {referral.get_status_display().lower()} cannot be "
            f"{action.replace('_', '-')}; allowed now: {', '.join(allowed) or 'none'}.",
            current_status=referral.status,
            allowed_actions=allowed,
        )
    if check:
        check(referral)
    at = at or timezone.now()
    from_status = referral.status
    referral.status = target or transition.target
    referral.status_changed_at = at
    for name, value in (changes or {}).items():
        setattr(referral, name, value)
    full_clean(referral)
    save_attributed(referral, actor=actor, reason=f"{action}: {reason}" if reason else action)
    ReferralEvent.objects.create(
        referral=referral,
        action=action,
        from_status=from_status,
        to_status=referral.status,
        actor=actor,
        occurred_at=at,
        reason=reason,
        details={
            name: value.isoformat() if isinstance(value, date | datetime) else value
            for name, value in (changes or {}).items()
            if value not in (None, "")
        },
    )
    rules.on_referral_change(referral, actor=actor, now=at)
    return referral


@transaction.atomic
def referral_send(*, referral, actor, expected_version=None, at=None) -> Referral:
    def check(locked: Referral) -> None:
        if not (locked.receiving_organization_id or locked.receiving_practitioner_id):
            raise InvalidInput(
                "Choose who receives the referral before sending it.",
                errors={"receiving_organization": ["Required to send the referral."]},
            )

    at = at or timezone.now()
    return _transition(
        referral,
        ReferralAction.SEND,
        actor=actor,
        expected_version=expected_version,
        at=at,
        changes={"sent_at": at},
        check=check,
    )


@transaction.atomic
def referral_accept(*, referral, actor, expected_version=None, at=None) -> Referral:
    return _transition(
        referral, ReferralAction.ACCEPT, actor=actor, expected_version=expected_version, at=at
    )


@transaction.atomic
def referral_decline(*, referral, actor, reason: str, expected_version=None, at=None) -> Referral:
    return _transition(
        referral,
        ReferralAction.DECLINE,
        actor=actor,
        expected_version=expected_version,
        at=at,
        reason=reason,
    )


@transaction.atomic
def referral_schedule(
    *,
    referral,
    actor,
    appointment_at: datetime,
    reason: str = "",
    expected_version=None,
    at=None,
) -> Referral:
    """Book (or rebook) the appointment."""

    def check(locked: Referral) -> None:
        if locked.sent_at and appointment_at < locked.sent_at:
            raise InvalidInput(
                "The appointment cannot be before the referral was sent.",
                errors={"appointment_at": ["Must be after the referral was sent."]},
            )

    return _transition(
        referral,
        ReferralAction.SCHEDULE,
        actor=actor,
        expected_version=expected_version,
        at=at,
        reason=reason,
        changes={"appointment_at": appointment_at},
        check=check,
    )


@transaction.atomic
def referral_no_show(*, referral, actor, reason: str = "", expected_version=None, at=None):
    return _transition(
        referral,
        ReferralAction.NO_SHOW,
        actor=actor,
        expected_version=expected_version,
        at=at,
        reason=reason,
    )


@transaction.atomic
def referral_seen(*, referral, actor, expected_version=None, at=None) -> Referral:
    return _transition(
        referral, ReferralAction.SEEN, actor=actor, expected_version=expected_version, at=at
    )


@transaction.atomic
def referral_close(
    *,
    referral,
    actor,
    report_received_on: date,
    report_from: str = "",
    report_summary: str = "",
    report_recommendations: str = "",
    expected_version=None,
    at=None,
) -> Referral:
    """Close the loop: the specialist's report has been received."""
    if report_received_on > timezone.localdate():
        raise InvalidInput(
            "The report cannot be received in the future.",
            errors={"report_received_on": ["Cannot be in the future."]},
        )

    def check(locked: Referral) -> None:
        if locked.sent_at and report_received_on < timezone.localdate(locked.sent_at):
            raise InvalidInput(
                "The report must be received after the referral was sent.",
                errors={"report_received_on": ["Is before the referral was sent."]},
            )

    changes = {
        "report_received_on": report_received_on,
        "report_from": report_from,
        "report_summary": report_summary,
        "report_recommendations": report_recommendations,
    }
    return _transition(
        referral,
        ReferralAction.CLOSE,
        actor=actor,
        expected_version=expected_version,
        at=at,
        changes=changes,
        check=check,
    )


@transaction.atomic
def referral_cancel(*, referral, actor, reason: str, expected_version=None, at=None):
    return _transition(
        referral,
        ReferralAction.CANCEL,
        actor=actor,
        expected_version=expected_version,
        at=at,
        reason=reason,
    )


@transaction.atomic
def referral_reopen(*, referral, actor, reason: str, expected_version=None, at=None):
    """Return a closed or cancelled referral to the state it was in before."""
    previous = (
        ReferralEvent.objects.filter(referral=referral, to_status=referral.status)
        .exclude(from_status="")
        .order_by("-occurred_at", "-id")
        .values_list("from_status", flat=True)
        .first()
    ) or ReferralStatus.DRAFT
    changes = {"report_received_on": None} if referral.status == ReferralStatus.CLOSED else {}
    return _transition(
        referral,
        ReferralAction.REOPEN,
        actor=actor,
        expected_version=expected_version,
        at=at,
        reason=reason,
        target=previous,
        changes=changes,
    )


TRANSITION_SERVICES = {
    ReferralAction.SEND: referral_send,
    ReferralAction.ACCEPT: referral_accept,
    ReferralAction.DECLINE: referral_decline,
    ReferralAction.SCHEDULE: referral_schedule,
    ReferralAction.NO_SHOW: referral_no_show,
    ReferralAction.SEEN: referral_seen,
    ReferralAction.CLOSE: referral_close,
    ReferralAction.CANCEL: referral_cancel,
    ReferralAction.REOPEN: referral_reopen,
}


# Follow-ups ------------------------------------------------------------------------


@transaction.atomic
def follow_up_create(*, actor, patient, **fields) -> FollowUp:
    follow_up = FollowUp(patient=patient, created_by=actor, **fields)
    full_clean(follow_up)
    save_attributed(follow_up, actor=actor, reason="created")
    return follow_up


def _require_open(follow_up: FollowUp) -> None:
    if follow_up.status != FollowUpStatus.OPEN:
        raise Conflict(
            f"This follow-up is already {follow_up.get_status_display().lower()}.",
            code="follow_up_closed",
            current_status=follow_up.status,
        )


@transaction.atomic
def follow_up_update(*, follow_up: FollowUp, actor, expected_version=None, **fields) -> FollowUp:
    follow_up = lock_for_update(follow_up, expected_version)
    _require_open(follow_up)
    _set_and_save(follow_up, actor=actor, fields=fields)
    return follow_up


def _finish(follow_up, status, *, actor, outcome, expected_version, at) -> FollowUp:
    follow_up = lock_for_update(follow_up, expected_version)
    _require_open(follow_up)
    follow_up.finish(status, by=actor, outcome=outcome, at=at or timezone.now())
    full_clean(follow_up)
    save_attributed(follow_up, actor=actor, reason=f"{status}: {outcome}")
    return follow_up


@transaction.atomic
def follow_up_complete(*, follow_up, actor, outcome: str = "", expected_version=None, at=None):
    return _finish(
        follow_up,
        FollowUpStatus.DONE,
        actor=actor,
        outcome=outcome,
        expected_version=expected_version,
        at=at,
    )


@transaction.atomic
def follow_up_cancel(*, follow_up, actor, reason: str, expected_version=None, at=None):
    require_reason(reason)
    return _finish(
        follow_up,
        FollowUpStatus.CANCELLED,
        actor=actor,
        outcome=reason,
        expected_version=expected_version,
        at=at,
    )


# Handoffs --------------------------------------------------------------------------


def _move(rows, *, actor, reason: str, **changes) -> int:
    """Apply ``changes`` to each row with the actor and reason in its history."""
    rows = list(rows)
    for row in rows:
        for name, value in changes.items():
            setattr(row, name, value)
        save_attributed(row, actor=actor, reason=reason)
    return len(rows)


@transaction.atomic
def patient_reassign_coordinator(
    *, patient, coordinator, actor, reason: str, expected_version=None
) -> dict[str, int]:
    """Give the patient a new coordinator, and with them the patient's open referrals and
    the open follow-ups the previous coordinator held, in one step."""
    require_reason(reason)
    patient = lock_for_update(patient, expected_version)
    previous = patient.care_coordinator
    note = f"handoff: {reason}"
    referrals = patient.referrals.filter(status__in=OPEN_STATUSES).exclude(coordinator=coordinator)
    if previous is not None:
        referrals = referrals.filter(Q(coordinator=previous) | Q(coordinator__isnull=True))
    moved = {
        "patients": _move([patient], actor=actor, reason=note, care_coordinator=coordinator)
        if previous != coordinator
        else 0,
        "referrals": _move(referrals, actor=actor, reason=note, coordinator=coordinator),
        "follow_ups": _move(
            patient.follow_ups.filter(status=FollowUpStatus.OPEN, assigned_to=previous)
            if previous is not None
            else [],
            actor=actor,
            reason=note,
            assigned_to=coordinator,
        ),
    }
    return moved


@transaction.atomic
def staff_handoff(
    *, from_user, to_user=None, follow_ups_queue: str = "", actor, reason: str
) -> dict[str, int]:
    """Hand everything a departing staff member holds to another user: the patients they
    coordinate, their open referrals and their open follow-ups (or send the follow-ups
    to a department queue instead)."""
    require_reason(reason)
    if to_user is None and not follow_ups_queue:
        raise InvalidInput(
            "Name the user or the queue that takes over.",
            errors={"to_user_id": ["Give a user, or a queue for the follow-ups."]},
        )
    if to_user == from_user:
        raise InvalidInput(
            "Hand over to someone else.", errors={"to_user_id": ["Same as the departing user."]}
        )
    note = f"handoff: {reason}"
    moved = {"patients": 0, "referrals": 0}
    if to_user is not None:
        moved["patients"] = _move(
            Patient.objects.select_for_update().filter(care_coordinator=from_user),
            actor=actor,
            reason=note,
            care_coordinator=to_user,
        )
        moved["referrals"] = _move(
            Referral.objects.select_for_update().filter(
                coordinator=from_user, status__in=OPEN_STATUSES
            ),
            actor=actor,
            reason=note,
            coordinator=to_user,
        )
    follow_up_owner = (
        {"assigned_to": None, "queue": follow_ups_queue}
        if follow_ups_queue
        else {"assigned_to": to_user}
    )
    moved["follow_ups"] = _move(
        FollowUp.objects.select_for_update().filter(
            assigned_to=from_user, status=FollowUpStatus.OPEN
        ),
        actor=actor,
        reason=note,
        **follow_up_owner,
    )
    return moved
