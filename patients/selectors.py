"""Reads of the patient record. Each owns its joins and prefetches so serializers never
query. The 360 view, which reads every app, is ``interactions.selectors.patient_360``."""

from collections.abc import Collection

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from crm.access import RowRule, Section, rows_q
from crm.models import AccessRecord
from crm.roles import StaffUser
from patients.models import (
    CommunicationConsent,
    ContactPoint,
    EmergencyAccess,
    Patient,
    PatientIdentifier,
    PatientLanguage,
)


def patient_list() -> QuerySet[Patient]:
    return Patient.objects.prefetch_related("languages").order_by(
        "family_name", "given_name", "id"
    )


# What the record's serializer shows besides the patient row.
PATIENT_RELATED = ("care_coordinator", "primary_care_practitioner")


def patient_children() -> list:
    """The child rows the record shows (and the contact policy reads)."""
    return [
        "identifiers",
        "contact_points",
        "languages",
        Prefetch("consents", queryset=CommunicationConsent.objects.select_related("captured_by")),
    ]


def patient_detail() -> QuerySet[Patient]:
    return Patient.objects.select_related(*PATIENT_RELATED).prefetch_related(*patient_children())


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


def patient_history_sources(patient: Patient) -> list[tuple[str, QuerySet, Collection[str]]]:
    """The change history of the patient and of their identifiers, contact points,
    languages and consents: (record, history, hidden fields) for ``merged_change_log``."""
    return [
        ("patient", Patient.history.filter(id=patient.pk), ()),
        ("identifier", PatientIdentifier.history.filter(patient_id=patient.pk), ()),
        ("contact_point", ContactPoint.history.filter(patient_id=patient.pk), ()),
        ("language", PatientLanguage.history.filter(patient_id=patient.pk), ()),
        ("consent", CommunicationConsent.history.filter(patient_id=patient.pk), ()),
    ]


def break_glass_purpose(user_id: int, patients: set[int]) -> tuple[Exists, str]:
    """Reads of a patient the user holds an unexpired break-the-glass grant for are
    logged with purpose break_glass (a condition for the access record's INSERT)."""
    grants = EmergencyAccess.objects.filter(
        user_id=user_id, patient_id__in=patients, expires_at__gt=timezone.now()
    )
    return Exists(grants), AccessRecord.Purpose.BREAK_GLASS


def restricted_visible_q(user: StaffUser, *, path: str = "") -> Q:
    """Which restricted items the user may see, for a model whose restricted item is at
    ``path`` (``""`` for the item itself, ``"interaction__"`` for a follow-up linked to
    one): clinicians', the assigned coordinator's, and those of patients the user holds
    an unexpired break-the-glass grant for."""
    condition = rows_q(user, Section.RESTRICTED, RowRule(patient=f"{path}patient"))
    if condition == Q():  # every restricted item (a clinician)
        return condition
    if user.is_authenticated:
        grants = EmergencyAccess.objects.filter(
            user=user, patient=OuterRef(f"{path}patient"), expires_at__gt=timezone.now()
        )
        condition |= Q(Exists(grants))
    return condition


def consent_list(*, user: StaffUser) -> QuerySet[CommunicationConsent]:
    """The contact consents the user may read (the preferences section), each with its
    patient, whose time zone says whether the consent is still in effect."""
    return (
        CommunicationConsent.objects.filter(rows_q(user, Section.PREFERENCES))
        .select_related("patient")
        .order_by("patient_id", "channel", "purpose", "id")
    )
