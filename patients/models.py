import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from crm.choices import Channel
from crm.history import HistoricalRecords
from crm.models import VersionedRecord
from patients.choices import (
    AdministrativeSex,
    CandidateStatus,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    ContactSystem,
    ContactUse,
    InterpreterNeeded,
    LanguageMode,
    LinkPurpose,
    PatientStatus,
)
from patients.matching import phonetic_key
from patients.validators import (
    name_search_key,
    normalize_language_tag,
    normalize_phone,
    validate_time_zone,
)

PHONE_SYSTEMS = (ContactSystem.PHONE, ContactSystem.SMS, ContactSystem.FAX)


class Patient(VersionedRecord):
    """A person receiving care: identity, preferences for being contacted, care team.

    Contact points, languages, identifiers and consents are child rows; together they
    make the 360-degree record served by ``patients.selectors.patient_360``.
    """

    mrn = models.CharField("MRN", max_length=32, unique=True)
    family_name = models.CharField(max_length=100)
    given_name = models.CharField(max_length=100)
    middle_name = models.CharField(max_length=100, blank=True)
    preferred_name = models.CharField(max_length=100, blank=True)
    # Case- and accent-folded copy of all names, with Latin letters for other scripts
    # (``patients.validators.name_search_key``), kept by save() for searching: words with
    # LIKE '%word%' and, on PostgreSQL, trigram similarity, both served by a trigram
    # index (migration 0003). Cut at its length for the longest names.
    name_search = models.CharField(max_length=410, editable=False)
    # The family name's sound (``patients.matching.phonetic_key``), kept by save(): the
    # patient index looks up look-alikes by it and the birth date.
    family_key = models.CharField(max_length=16, editable=False, default="")
    # The given name's sound, kept by save(): search finds a name with one typo in a short
    # given name (Tnoy West: TN, WST) by both sounds, where trigrams have too few in common.
    given_key = models.CharField(max_length=16, editable=False, default="")
    birth_date = models.DateField()
    administrative_sex = models.CharField(
        max_length=16, choices=AdministrativeSex, default=AdministrativeSex.UNKNOWN
    )
    status = models.CharField(max_length=16, choices=PatientStatus, default=PatientStatus.ACTIVE)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )

    interpreter_needed = models.CharField(
        max_length=8, choices=InterpreterNeeded, default=InterpreterNeeded.UNKNOWN
    )
    accessibility_needs = models.JSONField(
        default=list, blank=True, help_text="Codes from AccessibilityNeed."
    )
    accessibility_notes = models.TextField(max_length=2000, blank=True)

    preferred_channel = models.CharField(max_length=16, choices=Channel, blank=True)
    contact_window_start = models.TimeField(null=True, blank=True)
    contact_window_end = models.TimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])
    do_not_contact = models.BooleanField(default=False)

    care_coordinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coordinated_patients",
    )
    primary_care_practitioner = models.ForeignKey(
        "referrals.Practitioner",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="primary_care_patients",
    )
    high_risk = models.BooleanField(
        default=False,
        help_text="Flagged by the care team: a coordinator calls after every visit.",
    )

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        indexes = [
            models.Index(fields=["family_name", "given_name", "id"], name="patient_name_idx"),
            models.Index(fields=["birth_date"], name="patient_birth_date_idx"),
            models.Index(fields=["family_key", "birth_date"], name="patient_family_key_idx"),
            models.Index(fields=["family_key", "given_key"], name="patient_sounds_idx"),
            # mrn__iexact, as the search box and the mrn filter look an MRN up.
            models.Index(Upper("mrn"), name="patient_mrn_upper_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=PatientStatus.MERGED, merged_into__isnull=False)
                | (~Q(status=PatientStatus.MERGED) & Q(merged_into__isnull=True)),
                name="%(app_label)s_%(class)s_merged_into_iff_merged",
            ),
            models.CheckConstraint(
                condition=Q(contact_window_start__isnull=True, contact_window_end__isnull=True)
                | Q(contact_window_start__isnull=False, contact_window_end__isnull=False),
                name="%(app_label)s_%(class)s_contact_window_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mrn} {self.family_name}, {self.given_name}"

    def save(self, *args, **kwargs):
        self.set_search_keys()
        super().save(*args, **kwargs)

    def set_search_keys(self) -> None:
        """The derived keys search and the patient index read (a bulk insert, which
        skips save(), calls this itself)."""
        self.name_search = name_search_key(
            self.given_name, self.middle_name, self.preferred_name, self.family_name
        )[: Patient._meta.get_field("name_search").max_length]
        self.family_key = phonetic_key(self.family_name)
        self.given_key = phonetic_key(self.given_name)

    def clean(self) -> None:
        errors = {}
        if self.birth_date and self.birth_date > timezone.localdate():
            errors["birth_date"] = "Date of birth cannot be in the future."
        if self.birth_date and self.birth_date < datetime.date(1880, 1, 1):
            errors["birth_date"] = "Date of birth is before 1880."
        if bool(self.contact_window_start) != bool(self.contact_window_end):
            errors["contact_window_end"] = "Give both the start and the end of the window."
        if self.status == PatientStatus.MERGED and not self.merged_into_id:
            errors["merged_into"] = "A merged patient must name the record it was merged into."
        if self.merged_into_id and self.merged_into_id == self.pk:
            errors["merged_into"] = "A patient cannot be merged into itself."
        if errors:
            raise ValidationError(errors)


class PatientIdentifier(models.Model):
    """An identifier from another system (EHR, payer, lab), unique within its system."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="identifiers")
    system = models.CharField(max_length=200, help_text="URI of the issuing system.")
    value = models.CharField(max_length=100)

    history = HistoricalRecords()

    class Meta:
        ordering = ["system", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "value"], name="%(app_label)s_%(class)s_unique_per_system"
            ),
            models.UniqueConstraint(
                fields=["patient", "system"], name="%(app_label)s_%(class)s_one_per_system"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system}|{self.value}"


class ContactPoint(models.Model):
    """A way to reach the patient (FHIR ContactPoint); phone numbers stored as E.164."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="contact_points")
    system = models.CharField(max_length=8, choices=ContactSystem)
    value = models.CharField(max_length=254)
    use = models.CharField(max_length=8, choices=ContactUse, blank=True)
    rank = models.PositiveSmallIntegerField(default=1, help_text="1 is the most preferred.")
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["rank", "id"]
        # Phone search matches the E.164 value whatever the system (phone, sms).
        indexes = [models.Index(fields=["value"], name="contactpoint_value_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "system", "value"], name="%(app_label)s_%(class)s_unique"
            ),
            models.CheckConstraint(condition=Q(rank__gte=1), name="%(app_label)s_%(class)s_rank"),
            models.CheckConstraint(
                condition=Q(period_end__isnull=True)
                | Q(period_start__isnull=True)
                | Q(period_end__gte=models.F("period_start")),
                name="%(app_label)s_%(class)s_period_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system}:{self.value}"

    def clean(self) -> None:
        if self.system in PHONE_SYSTEMS and self.value:
            try:
                self.value = normalize_phone(self.value)
            except ValidationError as exc:
                raise ValidationError({"value": exc.messages}) from None
        elif self.system == ContactSystem.EMAIL and self.value:
            from django.core.validators import validate_email

            try:
                validate_email(self.value)
            except ValidationError:
                raise ValidationError({"value": "Enter a valid email address."}) from None
            self.value = self.value.strip().lower()
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValidationError({"period_end": "The period ends before it starts."})


class PatientLanguage(models.Model):
    """A language the patient uses (FHIR Patient.communication), as a BCP-47 tag."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="languages")
    language = models.CharField(max_length=35, db_index=True)
    mode = models.CharField(max_length=8, choices=LanguageMode, default=LanguageMode.SPOKEN)
    preferred = models.BooleanField(default=False)
    rank = models.PositiveSmallIntegerField(default=1)

    history = HistoricalRecords()

    class Meta:
        ordering = ["rank", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "language", "mode"], name="%(app_label)s_%(class)s_unique"
            ),
            models.CheckConstraint(condition=Q(rank__gte=1), name="%(app_label)s_%(class)s_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.language} ({self.mode})"

    def clean(self) -> None:
        try:
            self.language = normalize_language_tag(self.language)
        except ValidationError as exc:
            raise ValidationError({"language": exc.messages}) from None


class CommunicationConsent(models.Model):
    """The patient's opt-in or opt-out for one channel and purpose (ContactPointConsent)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=16, choices=Channel)
    purpose = models.CharField(max_length=32, choices=ConsentPurpose)
    status = models.CharField(max_length=8, choices=ConsentStatus)
    captured_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=16, choices=ConsentSource)
    captured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["channel", "purpose"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "channel", "purpose"], name="%(app_label)s_%(class)s_unique"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_from__isnull=True)
                | Q(effective_to__gte=models.F("effective_from")),
                name="%(app_label)s_%(class)s_effective_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose}: {self.status}"

    def clean(self) -> None:
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise ValidationError({"effective_to": "The consent ends before it starts."})

    def is_in_effect(self, on: datetime.date) -> bool:
        return (self.effective_from is None or self.effective_from <= on) and (
            self.effective_to is None or on <= self.effective_to
        )


class EmergencyAccess(models.Model):
    """Break the glass: a staff member states why they need a patient's restricted items
    now and gets them for a limited time. Every grant is flagged for the privacy officer
    until reviewed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="emergency_accesses"
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="emergency_accesses"
    )
    reason = models.TextField(max_length=2000)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    review_note = models.TextField(max_length=2000, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-granted_at", "-id"]
        indexes = [
            models.Index(
                fields=["user", "patient", "expires_at"], name="emergencyaccess_active_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("granted_at")),
                name="%(app_label)s_%(class)s_expires_after_granted",
            ),
        ]

    def __str__(self) -> str:
        return f"Emergency access by {self.user_id} to patient {self.patient_id}"


class PatientLink(models.Model):
    """A link sent to a patient that opens one page for one purpose, with no account:
    answering about an appointment, say. Only a hash of its token is kept; the token
    is derived from a nonce with the server's secret (``patients.links``) when the
    message carrying it is sent. It works until ``expires_at``."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="links")
    purpose = models.CharField(max_length=16, choices=LinkPurpose)
    subject_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="What the link is about (the appointment)."
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    language = models.CharField(max_length=35, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True, help_text="Last answered.")

    class Meta:
        indexes = [models.Index(fields=["purpose", "subject_id"], name="patientlink_subject_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} link ({self.pk})"


class DuplicateCandidate(models.Model):
    """Two records that may be one person (``patients.matching``), for the registration
    team: found by the population scan or at registration, with the score and its
    reasons. Each pair is kept once (``patient`` the lower id), and once a person has
    decided (merged, or two people) a later scan leaves it so."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    evidence = models.JSONField(default=list, help_text="[{field, outcome, weight}, ...]")
    status = models.CharField(max_length=16, choices=CandidateStatus, default=CandidateStatus.OPEN)
    found_by = models.CharField(max_length=16, help_text="scan or registration")
    found_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-score", "id"]
        indexes = [models.Index(fields=["status", "-score", "id"], name="duplicate_worklist_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "other"], name="%(app_label)s_%(class)s_one_per_pair"
            ),
            models.CheckConstraint(
                condition=Q(patient__lt=models.F("other")),
                name="%(app_label)s_%(class)s_ordered_pair",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} ~ {self.other_id} ({self.score})"


class DuplicateScan(models.Model):
    """A run of the population scan (``patients.services.duplicate_scan``): how far it
    got, so a worker stopped midway goes on from the last birth year it finished, then
    the shared phones and emails."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    years_done_through = models.PositiveSmallIntegerField(null=True, blank=True)
    contacts_done = models.BooleanField(default=False)
    compared = models.PositiveBigIntegerField(default=0)
    found = models.PositiveIntegerField(
        default=0, help_text="Open pairs on the worklist when it finished."
    )

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Duplicate scan {self.pk}"


class PatientMerge(models.Model):
    """Two records found to be one person, joined: every child row of ``merged`` that
    the survivor could take moved to ``survivor`` (``patients.merge``), and what moved
    and what changed is kept here, so an unmerge within ``UNDO_DAYS`` puts back exactly
    that."""

    UNDO_DAYS = 30

    survivor = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    merged = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(max_length=2000)
    merged_status = models.CharField(max_length=16, help_text="The record's status before.")
    # {"app_label.Model:field": [ids]}: the rows moved, by the field that moved.
    moved = models.JSONField(default=dict)
    # [{"model", "id", "field", "before", "after"}]: values the merge changed on rows it
    # kept (the more restrictive consent; one preferred language).
    changed = models.JSONField(default=list)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(default=timezone.now)
    unmerged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    unmerged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-merged_at", "-id"]
        indexes = [models.Index(fields=["merged", "-merged_at"], name="patient_merge_merged_idx")]

    def __str__(self) -> str:
        return f"{self.merged_id} into {self.survivor_id}"
