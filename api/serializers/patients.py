from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import (
    ChoiceField,
    ModelSerializer,
    SectionFieldsMixin,
    Serializer,
    UserSummarySerializer,
    one_for_all_rows,
    write_id,
)
from api.serializers.appointments import AppointmentSummarySerializer
from api.serializers.events import DepartmentEventSerializer
from api.serializers.interactions import InteractionSerializer
from api.serializers.referrals import (
    FollowUpSerializer,
    PractitionerSummarySerializer,
    ReferralSerializer,
)
from appointments.selectors import RECENT_SHOWN, UPCOMING_SHOWN
from crm.access import Section
from crm.choices import Channel
from integrations.selectors import EVENTS_SHOWN
from interactions.selectors import OPEN_SHOWN, PAST_REFERRALS_SHOWN, TIMELINE_SIZE
from patients.choices import (
    AccessibilityNeed,
    AdministrativeSex,
    CandidateStatus,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    ContactSystem,
    ContactUse,
    InterpreterNeeded,
    LanguageMode,
    PatientStatus,
)
from patients.contact import contact_summary, preferred_language
from patients.models import (
    CommunicationConsent,
    ContactPoint,
    DuplicateCandidate,
    EmergencyAccess,
    Patient,
    PatientIdentifier,
    PatientLanguage,
    PatientMerge,
)
from patients.validators import language_name
from referrals.models import Practitioner


class IdentifierSerializer(ModelSerializer):
    class Meta:
        model = PatientIdentifier
        fields = ["id", "system", "value"]
        validators = []  # uniqueness is checked by the service, across patients


class ContactPointSerializer(ModelSerializer):
    system = ChoiceField(choices=ContactSystem.choices)
    use = ChoiceField(choices=ContactUse.choices, required=False, allow_blank=True)

    class Meta:
        model = ContactPoint
        fields = ["id", "system", "value", "use", "rank", "period_start", "period_end"]
        extra_kwargs = {"rank": {"min_value": 1, "max_value": 99}}
        validators = []


class LanguageSerializer(ModelSerializer):
    mode = ChoiceField(choices=LanguageMode.choices, required=False)
    name = serializers.SerializerMethodField(help_text="English name of the language.")

    class Meta:
        model = PatientLanguage
        fields = ["id", "language", "name", "mode", "preferred", "rank"]
        extra_kwargs = {"rank": {"min_value": 1, "max_value": 99}}
        validators = []

    def get_name(self, obj) -> str:
        return language_name(obj.language)


class ConsentSerializer(ModelSerializer):
    channel = ChoiceField(choices=Channel.choices)
    purpose = ChoiceField(choices=ConsentPurpose.choices)
    status = ChoiceField(choices=ConsentStatus.choices)
    source = ChoiceField(choices=ConsentSource.choices)
    captured_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = CommunicationConsent
        fields = [
            "id",
            "channel",
            "purpose",
            "status",
            "captured_at",
            "source",
            "captured_by",
            "effective_from",
            "effective_to",
        ]
        extra_kwargs = {"captured_at": {"required": False}}
        validators = []


class ContactDecisionSerializer(Serializer):
    """The contact policy's answer for one purpose (``patients.contact``)."""

    purpose = ChoiceField(choices=ConsentPurpose.choices)
    allowed = serializers.BooleanField()
    channel = ChoiceField(
        choices=Channel.choices,
        allow_null=True,
        help_text="The channel to use: the first allowed one in the patient's fallback "
        "order; when refused, the one that was refused.",
    )
    code = serializers.CharField(
        help_text="Empty when allowed; else deceased, merged, do_not_contact, opted_out "
        "or no_address."
    )
    reason = serializers.CharField()


class OptOutSerializer(Serializer):
    channel = ChoiceField(choices=Channel.choices)
    purpose = ChoiceField(choices=ConsentPurpose.choices)


class ContactStatusSerializer(Serializer):
    """How to reach the patient now, as the contact policy answers it: what the 360's
    header shows. Opt-outs count only while in effect."""

    preferred_language = serializers.CharField(allow_null=True)
    local_time = serializers.DateTimeField(help_text="Now, in the patient's time zone.")
    within_window = serializers.BooleanField(
        allow_null=True, help_text="Null when the patient gave no contact window."
    )
    window_opens_at = serializers.DateTimeField(allow_null=True)
    opted_out = OptOutSerializer(many=True, help_text="Opt-outs in effect today.")
    purposes = ContactDecisionSerializer(many=True)


class EmergencyAccessSerializer(ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    reviewed_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = EmergencyAccess
        fields = [
            "id",
            "user",
            "patient",
            "reason",
            "granted_at",
            "expires_at",
            "reviewed_at",
            "reviewed_by",
            "review_note",
        ]
        extra_kwargs = {"reason": {"min_length": 10}}
        read_only_fields = [
            "patient",
            "granted_at",
            "expires_at",
            "reviewed_at",
            "review_note",
        ]


class EmergencyAccessReviewSerializer(Serializer):
    note = serializers.CharField(max_length=2000)


class PatientListSerializer(ModelSerializer):
    """What a search result needs: who, born when, which MRN, which language."""

    status = ChoiceField(choices=PatientStatus.choices, read_only=True)
    interpreter_needed = ChoiceField(choices=InterpreterNeeded.choices, read_only=True)
    preferred_language = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = [
            "id",
            "mrn",
            "family_name",
            "given_name",
            "preferred_name",
            "birth_date",
            "status",
            "interpreter_needed",
            "preferred_language",
        ]

    _language = one_for_all_rows(LanguageSerializer)

    @extend_schema_field(LanguageSerializer(allow_null=True))
    def get_preferred_language(self, patient):
        language = preferred_language(patient)
        return self._language.to_representation(language) if language else None


# The patient's fields by section of the record (crm.access).
IDENTITY_FIELDS = [
    "mrn",
    "family_name",
    "given_name",
    "middle_name",
    "preferred_name",
    "birth_date",
    "age",
    "administrative_sex",
    "status",
    "merged_into",
    "identifiers",
    "contact_points",
]
PREFERENCE_FIELDS = [
    "interpreter_needed",
    "languages",
    "accessibility_needs",
    "accessibility_notes",
    "preferred_channel",
    "contact_window_start",
    "contact_window_end",
    "time_zone",
    "do_not_contact",
    "consents",
    "contact_status",
]
CARE_TEAM_FIELDS = [
    "care_coordinator",
    "care_coordinator_id",
    "primary_care_practitioner",
    "primary_care_practitioner_id",
    "high_risk",
]


class PatientSerializer(SectionFieldsMixin, ModelSerializer):
    """The patient's record with identifiers, contact points, languages and consents.

    On update, a child list that is sent replaces the stored one (rows are matched by
    their natural key, so unchanged rows keep their history); a list left out is kept.
    """

    administrative_sex = ChoiceField(choices=AdministrativeSex.choices, required=False)
    status = ChoiceField(choices=PatientStatus.choices, required=False)
    interpreter_needed = ChoiceField(choices=InterpreterNeeded.choices, required=False)
    preferred_channel = ChoiceField(choices=Channel.choices, required=False, allow_blank=True)
    accessibility_needs = serializers.ListField(
        child=ChoiceField(choices=AccessibilityNeed.choices), required=False, max_length=10
    )
    care_coordinator = UserSummarySerializer(read_only=True, allow_null=True)
    care_coordinator_id = write_id(
        get_user_model().objects.filter(is_active=True),
        "care_coordinator",
        required=False,
        allow_null=True,
    )
    primary_care_practitioner = PractitionerSummarySerializer(read_only=True, allow_null=True)
    primary_care_practitioner_id = write_id(
        Practitioner.objects.all(), "primary_care_practitioner", required=False, allow_null=True
    )
    merged_into = serializers.PrimaryKeyRelatedField(
        read_only=True,
        help_text="The record this one was merged into: read and write that one "
        "(POST /api/patients/{id}/merge/ merges; /unmerge/ undoes it).",
    )
    identifiers = IdentifierSerializer(many=True, required=False, max_length=20)
    contact_points = ContactPointSerializer(many=True, required=False, max_length=20)
    languages = LanguageSerializer(many=True, required=False, max_length=10)
    consents = ConsentSerializer(many=True, required=False, max_length=60)
    age = serializers.SerializerMethodField()
    contact_status = serializers.SerializerMethodField()
    confirm_new_person = serializers.BooleanField(
        write_only=True,
        required=False,
        help_text="On registration: the records that may be this person were checked, and "
        "this is someone else (without it, a likely duplicate is a 409 listing them).",
    )

    section_fields = {
        Section.IDENTITY: IDENTITY_FIELDS,
        Section.PREFERENCES: PREFERENCE_FIELDS,
        Section.CARE_TEAM: CARE_TEAM_FIELDS,
    }

    class Meta:
        model = Patient
        fields = [
            "id",
            *IDENTITY_FIELDS,
            *PREFERENCE_FIELDS,
            *CARE_TEAM_FIELDS,
            "version",
            "created_at",
            "updated_at",
            "confirm_new_person",
        ]
        extra_kwargs = {"mrn": {"required": False}}

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            del fields["confirm_new_person"]  # a question for registration only
        return fields

    def validate_status(self, value: str) -> str:
        if value == PatientStatus.MERGED:
            raise serializers.ValidationError(
                "Merge records with POST /api/patients/{id}/merge/: it moves what the other "
                "record holds."
            )
        return value

    _contact_status = one_for_all_rows(ContactStatusSerializer)

    @extend_schema_field(ContactStatusSerializer)
    def get_contact_status(self, patient) -> dict:
        at = self.context.get("now") or timezone.now()
        return self._contact_status.to_representation(contact_summary(patient, at=at))

    def get_age(self, patient) -> int:
        today = timezone.localdate()
        born = patient.birth_date
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class Patient360Serializer(SectionFieldsMixin, Serializer):
    """The 360-degree view: the record, recent contacts, open work, counts."""

    patient = PatientSerializer()
    interactions = InteractionSerializer(many=True, help_text=f"Latest {TIMELINE_SIZE}.")
    interactions_next = serializers.CharField(
        allow_null=True, help_text="URL of the full timeline when there are more."
    )
    open_referrals = ReferralSerializer(
        many=True,
        help_text=f"The newest {OPEN_SHOWN} open ones; counts.open_referrals says how many "
        "there are.",
    )
    past_referrals = ReferralSerializer(
        many=True,
        help_text=f"The latest {PAST_REFERRALS_SHOWN} declined, closed or cancelled; "
        "counts.past_referrals says how many there are.",
    )
    open_follow_ups = FollowUpSerializer(
        many=True,
        help_text=f"The {OPEN_SHOWN} due first; counts.open_follow_ups says how many there are.",
    )
    upcoming_appointments = AppointmentSummarySerializer(
        many=True,
        default=list,
        help_text=f"The next {UPCOMING_SHOWN} (today's not yet recorded among them), soonest "
        "first, with whether the patient confirmed and the reminders sent.",
    )
    recent_appointments = AppointmentSummarySerializer(
        many=True, default=list, help_text=f"The latest {RECENT_SHOWN} past or cancelled ones."
    )
    department_events = DepartmentEventSerializer(
        many=True,
        default=list,
        help_text=f"The latest {EVENTS_SHOWN} of the departments (pharmacy, lab, billing) "
        "the user reads.",
    )
    counts = serializers.DictField(child=serializers.IntegerField())
    emergency_access_until = serializers.DateTimeField(
        allow_null=True,
        help_text="While the signed-in user has broken the glass for this patient: when "
        "their emergency access ends.",
    )

    section_fields = {
        Section.REFERRALS: ["open_referrals", "past_referrals"],
        Section.FOLLOW_UPS: ["open_follow_ups"],
        Section.INTERACTIONS: ["interactions", "interactions_next"],
        Section.APPOINTMENTS: ["upcoming_appointments", "recent_appointments"],
        Section.DEPARTMENT_EVENTS: ["department_events"],
    }


class EvidenceSerializer(Serializer):
    field = serializers.CharField()
    outcome = serializers.CharField()
    weight = serializers.FloatField()


class MatchPatientSerializer(Serializer):
    id = serializers.IntegerField()
    given_name = serializers.CharField()
    family_name = serializers.CharField()
    birth_date = serializers.DateField()


class DuplicateMatchSerializer(Serializer):
    """A record that may be the same person: the score and every reason for it."""

    patient = MatchPatientSerializer()
    score = serializers.FloatField()
    evidence = EvidenceSerializer(many=True)


class PossibleDuplicateSerializer(Serializer):
    """The 409 of a registration that looks like a patient already registered."""

    message = serializers.CharField()
    code = serializers.CharField()
    candidates = DuplicateMatchSerializer(many=True)


class DuplicateCandidateSerializer(ModelSerializer):
    """Two records that may be one person, for the registration team."""

    patient = PatientListSerializer(read_only=True)
    other = PatientListSerializer(read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True)
    status = ChoiceField(choices=CandidateStatus.choices, read_only=True)
    decided_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = DuplicateCandidate
        fields = [
            "id",
            "patient",
            "other",
            "score",
            "evidence",
            "status",
            "found_by",
            "found_at",
            "decided_by",
            "decided_at",
        ]


class MergeSerializer(Serializer):
    """Join another record into this one (the survivor)."""

    other_id = serializers.PrimaryKeyRelatedField(
        queryset=Patient.objects.all(), source="other", help_text="The record that goes."
    )
    reason = serializers.CharField(max_length=2000)


class UnmergeSerializer(Serializer):
    reason = serializers.CharField(max_length=2000)


class PatientMergeSerializer(ModelSerializer):
    """A merge: who joined which records, what moved (rows by table) and what changed."""

    survivor = serializers.PrimaryKeyRelatedField(read_only=True)
    merged = serializers.PrimaryKeyRelatedField(read_only=True)
    merged_by = UserSummarySerializer(read_only=True, allow_null=True)
    unmerged_by = UserSummarySerializer(read_only=True, allow_null=True)
    moved = serializers.SerializerMethodField()

    class Meta:
        model = PatientMerge
        fields = [
            "id",
            "survivor",
            "merged",
            "reason",
            "moved",
            "changed",
            "merged_by",
            "merged_at",
            "unmerged_by",
            "unmerged_at",
        ]

    def get_moved(self, merge) -> dict[str, int]:
        """How many rows of each table moved."""
        return {key: len(ids) for key, ids in merge.moved.items()}
