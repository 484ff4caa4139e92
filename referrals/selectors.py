"""Reads of the directory, referrals and follow-ups. Reads of patient data take the
user and return only the rows the access policy lets them see."""

from django.db.models import QuerySet

from crm.access import Section, rows_q
from crm.roles import StaffUser
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


def referral_list(*, user: StaffUser) -> QuerySet[Referral]:
    return (
        Referral.objects.filter(rows_q(user, Section.REFERRALS))
        .select_related("patient", *REFERRAL_RELATED)
        .order_by("-created_at", "-id")
    )


def referral_events(referral: Referral) -> QuerySet[ReferralEvent]:
    return referral.events.select_related("actor").order_by("occurred_at", "id")


def follow_up_list(*, user: StaffUser) -> QuerySet[FollowUp]:
    return (
        FollowUp.objects.filter(rows_q(user, Section.FOLLOW_UPS))
        .select_related("patient", "assigned_to", "completed_by")
        .order_by("due_at", "id")
    )
