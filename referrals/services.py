"""Writes for the provider directory, referrals and follow-ups.

Each referral transition is a thin service over :data:`REFERRAL_WORKFLOW`, which locks
the row, refuses a transition the state machine does not allow (409 naming the allowed
actions), applies the change, writes one ReferralEvent and runs the care rules, all in
one transaction.
"""

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from crm.errors import Conflict, InvalidInput, NotAllowed
from crm.roles import Actor, Role, has_role
from crm.services import (
    full_clean,
    lock_for_update,
    require_reason,
    save_attributed,
    update_record,
)
from patients.models import Patient
from patients.services import check_coordinator_change
from referrals import rules
from referrals.choices import OPEN_STATUSES, FollowUpStatus, ReferralAction, ReferralStatus
from referrals.models import FollowUp, Organization, Practitioner, Referral
from referrals.workflow import FOLLOW_UP_WORKFLOW, REFERRAL_WORKFLOW

# Directory -------------------------------------------------------------------------


def _create[M: models.Model](model: type[M], *, actor: Actor, **fields: Any) -> M:
    instance = model(**fields)
    full_clean(instance)
    save_attributed(instance, actor=actor)
    return instance


def _update[M: models.Model](instance: M, *, actor: Actor, **fields: Any) -> M:
    instance = lock_for_update(instance, None)
    update_record(instance, actor=actor, fields=fields)
    return instance


@transaction.atomic
def organization_create(*, actor: Actor, **fields: Any) -> Organization:
    return _create(Organization, actor=actor, **fields)


@transaction.atomic
def organization_update(
    *, organization: Organization, actor: Actor, **fields: Any
) -> Organization:
    return _update(organization, actor=actor, **fields)


@transaction.atomic
def practitioner_create(*, actor: Actor, **fields: Any) -> Practitioner:
    return _create(Practitioner, actor=actor, **fields)


@transaction.atomic
def practitioner_update(
    *, practitioner: Practitioner, actor: Actor, **fields: Any
) -> Practitioner:
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


def _check_replaces(patient: Patient, replaces: Referral | None) -> None:
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
def referral_create(
    *, actor: Actor, patient: Patient, at: datetime | None = None, **fields: Any
) -> Referral:
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
    REFERRAL_WORKFLOW.start(referral, actor=actor, at=at)
    rules.on_referral_change(referral, actor=actor, now=at)
    return referral


@transaction.atomic
def referral_update(
    *, referral: Referral, actor: Actor, expected_version: int | None = None, **fields: Any
) -> Referral:
    referral = lock_for_update(referral, expected_version, related=REFERRAL_WORKFLOW.related)
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
    update_record(referral, actor=actor, fields=fields)
    return referral


@transaction.atomic
def referral_send(
    *,
    referral: Referral,
    actor: Actor,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Referral:
    at = at or timezone.now()
    return REFERRAL_WORKFLOW.apply(
        referral,
        ReferralAction.SEND,
        actor=actor,
        expected_version=expected_version,
        at=at,
        changes={"sent_at": at},
    )


@transaction.atomic
def referral_accept(
    *,
    referral: Referral,
    actor: Actor,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Referral:
    return REFERRAL_WORKFLOW.apply(
        referral, ReferralAction.ACCEPT, actor=actor, expected_version=expected_version, at=at
    )


@transaction.atomic
def referral_decline(
    *,
    referral: Referral,
    actor: Actor,
    reason: str,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Referral:
    return REFERRAL_WORKFLOW.apply(
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
    referral: Referral,
    actor: Actor,
    appointment_at: datetime,
    reason: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Referral:
    """Book (or rebook) the appointment."""
    changes = {"appointment_at": appointment_at}
    return REFERRAL_WORKFLOW.apply(
        referral,
        ReferralAction.SCHEDULE,
        actor=actor,
        expected_version=expected_version,
        at=at,
        reason=reason,
        changes=changes,
        details=changes,
    )


@transaction.atomic
def referral_no_show(
    *,
    referral: Referral,
    actor: Actor,
    reason: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Referral:
    return REFERRAL_WORKFLOW.apply(
        referral,
        ReferralAction.NO_SHOW,
        actor=actor,
        expected_version=expected_version,
        at=at,
        reason=reason,
    )


@transaction.atomic
def referral_seen(
    *,
    referral: Referral,
    actor: Actor,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Referral:
    return REFERRAL_WORKFLOW.apply(
        referral, ReferralAction.SEEN, actor=actor, expected_version=expected_version, at=at
    )


@transaction.atomic
def referral_close(
    *,
    referral: Referral,
    actor: Actor,
    report_received_on: date,
    report_from: str = "",
    report_summary: str = "",
    report_recommendations: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Referral:
    """Close the loop: the specialist's report has been received. The event names the
    date only; the report itself stays on the referral, behind its clinical section."""
    return REFERRAL_WORKFLOW.apply(
        referral,
        ReferralAction.CLOSE,
        actor=actor,
        expected_version=expected_version,
        at=at,
        changes={
            "report_received_on": report_received_on,
            "report_from": report_from,
            "report_summary": report_summary,
            "report_recommendations": report_recommendations,
        },
        details={"report_received_on": report_received_on},
    )


@transaction.atomic
def referral_cancel(
    *,
    referral: Referral,
    actor: Actor,
    reason: str,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Referral:
    return REFERRAL_WORKFLOW.apply(
        referral,
        ReferralAction.CANCEL,
        actor=actor,
        expected_version=expected_version,
        at=at,
        reason=reason,
    )


@transaction.atomic
def referral_reopen(
    *,
    referral: Referral,
    actor: Actor,
    reason: str,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Referral:
    """Return a closed or cancelled referral to the state it was in before."""
    changes = {"report_received_on": None} if referral.status == ReferralStatus.CLOSED else {}
    return REFERRAL_WORKFLOW.apply(
        referral,
        ReferralAction.REOPEN,
        actor=actor,
        expected_version=expected_version,
        at=at,
        reason=reason,
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
def follow_up_create(*, actor: Actor, patient: Patient, **fields: Any) -> FollowUp:
    follow_up = FollowUp(patient=patient, created_by=actor, **fields)
    full_clean(follow_up)
    save_attributed(follow_up, actor=actor, reason="created")
    return follow_up


@transaction.atomic
def follow_up_update(
    *, follow_up: FollowUp, actor: Actor, expected_version: int | None = None, **fields: Any
) -> FollowUp:
    follow_up = lock_for_update(follow_up, expected_version, related=FOLLOW_UP_WORKFLOW.related)
    if follow_up.status != FollowUpStatus.OPEN:
        raise Conflict(
            f"This follow-up is already {follow_up.get_status_display().lower()}.",
            code="follow_up_closed",
            current_status=follow_up.status,
        )
    update_record(follow_up, actor=actor, fields=fields)
    return follow_up


def _finish(
    follow_up: FollowUp,
    action: str,
    *,
    actor: Actor,
    outcome: str,
    expected_version: int | None,
    at: datetime | None,
) -> FollowUp:
    at = at or timezone.now()
    return FOLLOW_UP_WORKFLOW.apply(
        follow_up,
        action,
        actor=actor,
        expected_version=expected_version,
        at=at,
        reason=outcome,
        changes={"outcome": outcome, "completed_at": at, "completed_by": actor},
    )


@transaction.atomic
def follow_up_complete(
    *,
    follow_up: FollowUp,
    actor: Actor,
    outcome: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> FollowUp:
    return _finish(
        follow_up,
        "complete",
        actor=actor,
        outcome=outcome,
        expected_version=expected_version,
        at=at,
    )


@transaction.atomic
def follow_up_cancel(
    *,
    follow_up: FollowUp,
    actor: Actor,
    reason: str,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> FollowUp:
    return _finish(
        follow_up, "cancel", actor=actor, outcome=reason, expected_version=expected_version, at=at
    )


FOLLOW_UP_TRANSITION_SERVICES: dict[str, Callable[..., FollowUp]] = {
    "complete": follow_up_complete,
    "cancel": follow_up_cancel,
}


# Handoffs --------------------------------------------------------------------------


def _move(rows: Iterable[models.Model], *, actor: Actor, reason: str, **changes: Any) -> int:
    """Apply ``changes`` to each row with the actor and reason in its history."""
    rows = list(rows)
    for row in rows:
        for name, value in changes.items():
            setattr(row, name, value)
        save_attributed(row, actor=actor, reason=reason)
    return len(rows)


@transaction.atomic
def patient_reassign_coordinator(
    *,
    patient: Patient,
    coordinator: User,
    actor: Actor,
    reason: str,
    expected_version: int | None = None,
) -> dict[str, int]:
    """Give the patient a new coordinator, and with them the patient's open referrals and
    the open follow-ups the previous coordinator held, in one step."""
    require_reason(reason)
    patient = lock_for_update(patient, expected_version)
    if patient.care_coordinator_id != coordinator.pk:
        check_coordinator_change(patient=patient, actor=actor)
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
    *,
    from_user: User,
    to_user: User | None = None,
    follow_ups_queue: str = "",
    actor: Actor,
    reason: str,
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
    if actor is None or (actor.pk != from_user.pk and not has_role(actor, Role.ADMIN)):
        raise NotAllowed(
            "Only the departing colleague or an administrator may hand over their work: "
            "their patients' restricted items go with it.",
            code="care_team_denied",
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
    follow_up_owner: dict[str, Any] = (
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
