"""Reads of the directory, referrals and follow-ups. Reads of patient data take the
user and return only the rows the access policy lets them see."""

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from crm.access import Section, rows_q
from crm.choices import Sensitivity
from crm.roles import StaffUser
from patients.selectors import restricted_visible_q
from referrals.models import FollowUp, Organization, Practitioner, Referral, ReferralEvent


def organization_list() -> QuerySet[Organization]:
    return Organization.objects.order_by("name", "id")


def practitioner_list() -> QuerySet[Practitioner]:
    return Practitioner.objects.select_related("organization").order_by(
        "family_name", "given_name", "id"
    )


# What a referral's serializer shows besides its patient.
REFERRAL_RELATED = (
    "receiving_organization",
    "receiving_practitioner",
    "referring_practitioner",
    "coordinator",
)


def with_replacement(referrals: QuerySet[Referral]) -> QuerySet[Referral]:
    """Each referral with ``replaced_by_id``: the referral that redirected it, if any."""
    replacement = Referral.objects.filter(replaces=OuterRef("pk")).order_by("id").values("pk")
    return referrals.annotate(replaced_by_id=Subquery(replacement[:1]))


def referral_rows() -> QuerySet[Referral]:
    """Referrals with what their representation shows, for rows already chosen (no
    access filter: a filter the chosen ids already passed only misleads the planner)."""
    return with_replacement(Referral.objects.select_related("patient", *REFERRAL_RELATED))


def referral_list(*, user: StaffUser) -> QuerySet[Referral]:
    return referral_rows().filter(rows_q(user, Section.REFERRALS)).order_by("-created_at", "-id")


def referral_events(referral: Referral) -> QuerySet[ReferralEvent]:
    return referral.events.select_related("actor").order_by("occurred_at", "id")


def visible_follow_ups_q(user: StaffUser) -> Q:
    """The user's follow-ups by scope; one that arose from a restricted interaction
    only for those who may see that interaction (its title says what it is about).
    The interaction is looked at only for follow-ups that have one: a join would hash
    every interaction for a list of follow-ups that mostly have none."""
    in_scope = rows_q(user, Section.FOLLOW_UPS)
    restricted_seen = restricted_visible_q(user)
    if restricted_seen == Q():  # Q() is "all": it would vanish from an OR
        return in_scope
    # The interaction model, through the foreign key (interactions is a layer above).
    interaction = FollowUp._meta.get_field("interaction").related_model
    hidden = interaction._default_manager.filter(
        pk=OuterRef("interaction"), sensitivity=Sensitivity.RESTRICTED
    ).exclude(restricted_seen)
    return in_scope & (Q(interaction__isnull=True) | ~Q(Exists(hidden)))


def hidden_follow_ups_q(user: StaffUser) -> Q:
    """For a user whose scope is every follow-up: those they may not read (restricted
    ones), which counts kept for all rows take off."""
    visible = visible_follow_ups_q(user)
    return Q(interaction__isnull=False) & ~visible if visible != Q() else Q(pk__in=[])


def follow_up_rows() -> QuerySet[FollowUp]:
    """Follow-ups with what their representation shows, for rows already chosen."""
    return FollowUp.objects.select_related("patient", "assigned_to", "completed_by")


def follow_up_list(*, user: StaffUser) -> QuerySet[FollowUp]:
    return follow_up_rows().filter(visible_follow_ups_q(user)).order_by("due_at", "id")
