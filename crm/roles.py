"""Staff roles. Each role is a Django group created by a data migration."""

from django.db import models
from rest_framework.permissions import BasePermission


class Role(models.TextChoices):
    COORDINATOR = "coordinator", "Care coordinator"
    CLINICIAN = "clinician", "Clinician"
    BILLING = "billing", "Billing"
    PHARMACY = "pharmacy", "Pharmacy"
    FRONT_DESK = "front_desk", "Front desk"
    ADMIN = "admin", "Administrator"


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


class HasStaffRole(BasePermission):
    """A signed-in user with at least one staff role; everyone else is refused."""

    message = "Your account has no staff role; ask an administrator to assign one."

    def has_permission(self, request, view) -> bool:
        return bool(user_roles(request.user)) and request.user.is_active
