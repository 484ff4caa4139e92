"""Staff roles. Each role is a Django group created by a data migration."""

from typing import TYPE_CHECKING

from django.db import models

from crm.choices import Department

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# Who makes a request (signed in or not), and who a write is attributed to (none for the
# system: a rule run by the clock, a patient answering a survey link). Lazily evaluated.
type StaffUser = User | AnonymousUser
type Actor = User | None


class Role(models.TextChoices):
    COORDINATOR = "coordinator", "Care coordinator"
    CLINICIAN = "clinician", "Clinician"
    BILLING = "billing", "Billing"
    PHARMACY = "pharmacy", "Pharmacy"
    FRONT_DESK = "front_desk", "Front desk"
    ADMIN = "admin", "Administrator"


# The department queue each role works from.
ROLE_QUEUES = {
    Role.COORDINATOR: Department.CARE_COORDINATION,
    Role.CLINICIAN: Department.CLINICAL,
    Role.BILLING: Department.BILLING,
    Role.PHARMACY: Department.PHARMACY,
    Role.FRONT_DESK: Department.FRONT_DESK,
}


def user_roles(user) -> frozenset[str]:
    """The user's staff roles, read once per user object."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_crm_roles", None)
    if cached is None:
        names = user.groups.filter(name__in=Role.values).values_list("name", flat=True)
        cached = frozenset(names)
        user._crm_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def user_queues(user) -> list[str]:
    """The department queues the user's roles work from."""
    return sorted({ROLE_QUEUES[role] for role in user_roles(user) if role in ROLE_QUEUES})
