"""Minimum-necessary access, in one place (docs/domain.md, "Minimum necessary access").

Each role is granted, per section of the record, a *scope* for reading and one for
writing. The API asks this module before it reads or writes a section, narrows querysets
with :func:`rows`, and drops the fields of sections a role may not read. A denial is a
403 that names the section and why.

section                   coordinator  clinician  billing/pharmacy   front desk  admin
identity, contact points  RW           R          R                  RW          R
language, preferences     RW           R          R                  RW          R
care team                 RW           R          R                  R           RW
interactions              RW           RW         R, W own dept      RW          R
restricted interactions   assigned     RW         -                  -           -
referrals: status         RW           RW         -                  R           R
referrals: clinical       RW           RW         -                  -           -
appointments              RW           RW         R (billing only)   RW          R
follow-ups                RW           RW         own queue          RW          R
feedback, complaints      RW           R          R own dept         RW          R
department events         R            R, W lab   RW own dept        -           R
history, access log       R            R          -                  -           R
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum

from django.db import models
from django.db.models import Q

from crm.choices import Department
from crm.errors import NotAllowed
from crm.roles import Role, StaffUser, user_queues, user_roles


class Section(models.TextChoices):
    IDENTITY = "identity", "identity and contact points"
    PREFERENCES = "preferences", "language, accessibility, preferences and consent"
    CARE_TEAM = "care_team", "care team"
    INTERACTIONS = "interactions", "interactions"
    RESTRICTED = "restricted_interactions", "restricted interactions"
    REFERRALS = "referrals", "referrals (status, dates, receiving provider)"
    REFERRAL_CLINICAL = "referral_clinical", "referrals' clinical reason and report"
    APPOINTMENTS = "appointments", "appointments"
    FOLLOW_UPS = "follow_ups", "follow-ups"
    FEEDBACK = "feedback", "feedback and complaints"
    DEPARTMENT_EVENTS = "department_events", "department events (pharmacy, lab, billing)"
    HISTORY = "history", "change history and access log"


class Scope(IntEnum):
    """How much of a section a grant covers; a larger value covers more."""

    NONE = 0
    ASSIGNED = 1  # patients the user is the assigned coordinator of
    OWN_QUEUE = 2  # follow-ups assigned to the user or in their department's queue
    OWN_DEPARTMENT = 3  # rows of the user's own department
    ALL = 4


@dataclass(frozen=True)
class Grant:
    read: Scope = Scope.NONE
    write: Scope = Scope.NONE


RW = Grant(Scope.ALL, Scope.ALL)
R = Grant(Scope.ALL, Scope.NONE)
NONE = Grant()
OWN_DEPT_WRITER = Grant(Scope.ALL, Scope.OWN_DEPARTMENT)
OWN_QUEUE = Grant(Scope.OWN_QUEUE, Scope.OWN_QUEUE)
OWN_DEPT_READER = Grant(Scope.OWN_DEPARTMENT, Scope.NONE)
OWN_DEPT = Grant(Scope.OWN_DEPARTMENT, Scope.OWN_DEPARTMENT)
ASSIGNED = Grant(Scope.ASSIGNED, Scope.ASSIGNED)

S = Section
# Billing and pharmacy: the shared context, and their own department's work.
DEPARTMENT_DESK: dict[str, Grant] = {
    S.IDENTITY: R,
    S.PREFERENCES: R,
    S.CARE_TEAM: R,
    S.INTERACTIONS: OWN_DEPT_WRITER,
    S.FOLLOW_UPS: OWN_QUEUE,
    S.FEEDBACK: OWN_DEPT_READER,
    S.DEPARTMENT_EVENTS: OWN_DEPT,
}
POLICY: dict[str, dict[str, Grant]] = {
    Role.COORDINATOR: {
        S.IDENTITY: RW,
        S.PREFERENCES: RW,
        S.CARE_TEAM: RW,
        S.INTERACTIONS: RW,
        S.RESTRICTED: ASSIGNED,
        S.REFERRALS: RW,
        S.REFERRAL_CLINICAL: RW,
        S.APPOINTMENTS: RW,
        S.FOLLOW_UPS: RW,
        S.FEEDBACK: RW,
        S.DEPARTMENT_EVENTS: R,
        S.HISTORY: R,
    },
    Role.CLINICIAN: {
        S.IDENTITY: R,
        S.PREFERENCES: R,
        S.CARE_TEAM: R,
        S.INTERACTIONS: RW,
        S.RESTRICTED: RW,
        S.REFERRALS: RW,
        S.REFERRAL_CLINICAL: RW,
        S.APPOINTMENTS: RW,
        S.FOLLOW_UPS: RW,
        S.FEEDBACK: R,
        # Every department's events; the lab's (clinical) are theirs to record.
        S.DEPARTMENT_EVENTS: Grant(Scope.ALL, Scope.OWN_DEPARTMENT),
        S.HISTORY: R,
    },
    # Billing bills visits: it reads them. Pharmacy's work needs none.
    Role.BILLING: DEPARTMENT_DESK | {S.APPOINTMENTS: R},
    Role.PHARMACY: DEPARTMENT_DESK,
    Role.FRONT_DESK: {
        S.IDENTITY: RW,
        S.PREFERENCES: RW,
        S.CARE_TEAM: R,
        S.INTERACTIONS: RW,
        S.REFERRALS: R,
        S.APPOINTMENTS: RW,
        S.FOLLOW_UPS: RW,
        S.FEEDBACK: RW,
    },
    Role.ADMIN: {
        S.IDENTITY: R,
        S.PREFERENCES: R,
        S.CARE_TEAM: RW,
        S.INTERACTIONS: R,
        S.REFERRALS: R,
        S.APPOINTMENTS: R,
        S.FOLLOW_UPS: R,
        S.FEEDBACK: R,
        S.DEPARTMENT_EVENTS: R,
        S.HISTORY: R,
    },
}

# Who may break the glass for a patient's restricted items (clinicians see them anyway).
EMERGENCY_ACCESS_ROLES = (Role.COORDINATOR, Role.CLINICIAN)

# The department whose rows a role's "own department" scope covers.
ROLE_DEPARTMENT: dict[str, str] = {
    Role.COORDINATOR: Department.CARE_COORDINATION,
    Role.CLINICIAN: Department.CLINICAL,
    Role.BILLING: Department.BILLING,
    Role.PHARMACY: Department.PHARMACY,
    Role.FRONT_DESK: Department.FRONT_DESK,
}


def grant(user: StaffUser, section: str) -> Grant:
    """The widest grant any of the user's roles holds on ``section``."""
    read = write = Scope.NONE
    for role in user_roles(user):
        held = POLICY.get(role, {}).get(section, NONE)
        read, write = max(read, held.read), max(write, held.write)
    return Grant(read, write)


def hidden_fields(user: StaffUser, section_fields: Mapping[str, Iterable[str]]) -> set[str]:
    """The fields of the sections the user may not read. One answer for every
    representation of a record: its serializer, its events' details, its change history,
    so a field hidden in one is hidden in all."""
    hidden: set[str] = set()
    for section, names in section_fields.items():
        if not can(user, section):
            hidden.update(names)
    return hidden


def departments(user: StaffUser) -> list[str]:
    return sorted({ROLE_DEPARTMENT[r] for r in user_roles(user) if r in ROLE_DEPARTMENT})


def can(user: StaffUser, section: str, mode: str = "read", scope: Scope | None = None) -> bool:
    """Whether the user has any access to ``section`` for ``mode`` (rows are narrowed by
    :func:`rows_q`), or, given ``scope``, access covering at least that scope."""
    held = getattr(grant(user, section), mode)
    return held > Scope.NONE if scope is None else held >= scope


def require(user: StaffUser, section: str, mode: str = "read", scope: Scope = Scope.NONE) -> Scope:
    """The user's scope on ``section``, or a 403 that names the section and why."""
    held = getattr(grant(user, section), mode)
    if held == Scope.NONE or held < scope:
        roles = ", ".join(sorted(Role(r).label.lower() for r in user_roles(user))) or "none"
        verb = "read" if mode == "read" else "change"
        raise NotAllowed(
            f"Your role ({roles}) may not {verb} {Section(section).label}: staff see only the "
            "parts of the record their job needs.",
            code="section_denied",
            section=section,
        )
    return held


@dataclass(frozen=True)
class RowRule:
    """Where a model keeps what scopes compare with: its department, its queue, the
    person it is assigned to, and the path to its patient ("" on the patient)."""

    department: str = "department"
    queue: str = "queue"
    assignee: str = "assigned_to"
    patient: str = "patient"


def rows_q(user: StaffUser, section: str, rule: RowRule = RowRule(), mode: str = "read") -> Q:
    """The rows of a section's model the user may read (or write)."""
    scope = getattr(grant(user, section), mode)
    if scope == Scope.ALL:
        return Q()
    if scope == Scope.OWN_DEPARTMENT:
        return Q(**{f"{rule.department}__in": departments(user)})
    if scope == Scope.OWN_QUEUE:
        return Q(**{rule.assignee: user}) | Q(**{f"{rule.queue}__in": user_queues(user)})
    if scope == Scope.ASSIGNED:
        return Q(**{"__".join(filter(None, (rule.patient, "care_coordinator"))): user})
    return Q(pk__in=[])


def row_allowed(
    user: StaffUser,
    section: str,
    row: models.Model,
    rule: RowRule = RowRule(),
    mode: str = "write",
) -> bool:
    """Whether the user's scope on ``section`` covers this one row (saved or not)."""
    scope = getattr(grant(user, section), mode)
    if scope == Scope.ALL:
        return True
    if scope == Scope.OWN_DEPARTMENT:
        return getattr(row, rule.department) in departments(user)
    if scope == Scope.OWN_QUEUE:
        assignee = getattr(row, rule.assignee, None)
        return (assignee is not None and assignee.pk == user.pk) or (
            getattr(row, rule.queue, "") in user_queues(user)
        )
    if scope == Scope.ASSIGNED:
        patient = getattr(row, rule.patient)
        return patient is not None and patient.care_coordinator_id == user.pk
    return False


def require_row(
    user: StaffUser,
    section: str,
    row: models.Model,
    rule: RowRule = RowRule(),
    mode: str = "write",
) -> None:
    if not row_allowed(user, section, row, rule, mode):
        raise NotAllowed(
            f"You may {'change' if mode == 'write' else 'see'} {Section(section).label} only "
            "for your own department, queue or assigned patients.",
            code="row_denied",
            section=section,
        )
