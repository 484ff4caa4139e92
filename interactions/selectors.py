"""Reads of interactions, always through the caller's visibility rule."""

from django.db.models import Q, QuerySet

from crm.roles import Role, user_roles
from interactions.choices import Sensitivity
from interactions.models import Interaction


def visible_interactions_q(user) -> Q:
    """Restricted interactions are for clinicians and the patient's assigned coordinator
    only; billing, pharmacy, front desk and admin see normal ones."""
    roles = user_roles(user)
    if Role.CLINICIAN in roles:
        return Q()
    if Role.COORDINATOR in roles:
        return Q(sensitivity=Sensitivity.NORMAL) | Q(patient__care_coordinator=user)
    return Q(sensitivity=Sensitivity.NORMAL)


def interaction_list(*, user) -> QuerySet[Interaction]:
    return (
        Interaction.objects.filter(visible_interactions_q(user))
        .select_related("staff")
        .order_by("-occurred_at", "-id")
    )
