"""Reads of the patient record. Each owns its joins and prefetches so serializers never
query, and the 360 view runs the same number of queries for any patient."""

from datetime import datetime

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from crm.access import Section, can, rows_q
from crm.history import merged_change_log
from interactions.models import Interaction
from interactions.selectors import interaction_list, visible_interactions_q
from patients.models import (
    CommunicationConsent,
    ContactPoint,
    Patient,
    PatientIdentifier,
    PatientLanguage,
)
from referrals import service_levels
from referrals.choices import OPEN_STATUSES, FollowUpStatus
from referrals.models import Referral
from referrals.selectors import REFERRAL_RELATED

TIMELINE_SIZE = 20


def patient_list() -> QuerySet[Patient]:
    return Patient.objects.prefetch_related("languages").order_by(
        "family_name", "given_name", "id"
    )


def patient_detail() -> QuerySet[Patient]:
    return Patient.objects.select_related(
        "care_coordinator", "primary_care_practitioner"
    ).prefetch_related(
        "identifiers",
        "contact_points",
        "languages",
        Prefetch("consents", queryset=CommunicationConsent.objects.select_related("captured_by")),
    )


def patients_speaking_q(tag: str) -> Q:
    """Patients with a language equal to ``tag`` or a subtag of it (``zh`` finds zh-Hans)."""
    return Q(
        Exists(
            PatientLanguage.objects.filter(patient=OuterRef("pk")).filter(
                Q(language__iexact=tag) | Q(language__istartswith=f"{tag}-")
            )
        )
    )


def patients_with_phone_q(e164: str) -> Q:
    return Q(Exists(ContactPoint.objects.filter(patient=OuterRef("pk"), value=e164)))


def _count(queryset: QuerySet) -> Coalesce:
    counted = (
        queryset.filter(patient=OuterRef("pk"))
        .order_by()
        .values("patient")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def patient_360(*, patient_id: int, user, now: datetime) -> dict:
    """Everything staff need before talking to the patient, in a constant number of
    queries: the record, the latest interactions, open referrals and follow-ups."""
    visible = Interaction.objects.filter(visible_interactions_q(user))
    patient = (
        patient_detail()
        .annotate(
            interactions_total=_count(visible),
            referrals_total=_count(Referral.objects.all()),
        )
        .get(pk=patient_id)
    )
    timeline = list(interaction_list(user=user).filter(patient=patient)[: TIMELINE_SIZE + 1])
    # Through the related managers, each row's ``patient`` is already this patient.
    referrals = []
    if can(user, Section.REFERRALS):
        referrals = list(
            patient.referrals.filter(status__in=OPEN_STATUSES)
            .select_related(*REFERRAL_RELATED)
            .order_by("-created_at", "-id")
        )
    follow_ups = list(
        patient.follow_ups.filter(status=FollowUpStatus.OPEN)
        .filter(rows_q(user, Section.FOLLOW_UPS))
        .select_related("assigned_to")
        .order_by("due_at", "id")
    )
    return {
        "patient": patient,
        "interactions": timeline[:TIMELINE_SIZE],
        # The row after the timeline, if any: where the interaction list goes on.
        "interactions_following": timeline[TIMELINE_SIZE]
        if len(timeline) > TIMELINE_SIZE
        else None,
        "open_referrals": referrals,
        "open_follow_ups": follow_ups,
        "service_levels": service_levels.targets(),
        "counts": {
            "interactions": patient.interactions_total,
            "referrals": patient.referrals_total if can(user, Section.REFERRALS) else 0,
            "open_referrals": len(referrals),
            "open_follow_ups": len(follow_ups),
            "overdue_follow_ups": sum(1 for f in follow_ups if f.due_at < now),
        },
    }


def patient_history(patient: Patient) -> list[dict]:
    """Changes to the patient and to their identifiers, contact points, languages and
    consents, newest first."""
    return merged_change_log(
        [
            ("patient", Patient.history.filter(id=patient.pk)),
            ("identifier", PatientIdentifier.history.filter(patient_id=patient.pk)),
            ("contact_point", ContactPoint.history.filter(patient_id=patient.pk)),
            ("language", PatientLanguage.history.filter(patient_id=patient.pk)),
            ("consent", CommunicationConsent.history.filter(patient_id=patient.pk)),
        ]
    )
