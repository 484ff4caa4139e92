from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import (
    AllowedActionsField,
    ChoiceField,
    ModelSerializer,
    SectionFieldsMixin,
    Serializer,
    UserSummarySerializer,
    write_id,
)
from api.serializers.common import TransitionEventSerializer
from crm.access import hidden_fields
from crm.choices import Channel, Department
from interactions.models import Interaction
from patients.models import Patient
from patients.validators import language_name, normalize_language_tag
from referrals import service_levels
from referrals.choices import (
    FHIR_SERVICE_REQUEST_STATUS,
    FHIR_TASK_STATUS,
    FollowUpKind,
    FollowUpPriority,
    FollowUpStatus,
    ReferralAction,
    ReferralPriority,
    ReferralStatus,
)
from referrals.models import FollowUp, Organization, Practitioner, Referral, ReferralEvent
from referrals.workflow import FOLLOW_UP_WORKFLOW, REFERRAL_WORKFLOW

User = get_user_model()


class OrganizationSerializer(ModelSerializer):
    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "npi",
            "specialty",
            "in_network",
            "accepting_new_patients",
            "phone",
            "fax",
            "email",
            "address",
            "active",
        ]


class OrganizationSummarySerializer(ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "in_network"]


class PractitionerSerializer(ModelSerializer):
    organization = OrganizationSummarySerializer(read_only=True, allow_null=True)
    organization_id = write_id(
        Organization.objects.all(), "organization", required=False, allow_null=True
    )
    languages = serializers.ListField(
        child=serializers.CharField(max_length=35),
        required=False,
        max_length=20,
        help_text="BCP-47 tags of the languages the practitioner speaks.",
    )

    class Meta:
        model = Practitioner
        fields = [
            "id",
            "npi",
            "family_name",
            "given_name",
            "specialty",
            "organization",
            "organization_id",
            "in_network",
            "accepting_new_patients",
            "languages",
            "phone",
            "active",
        ]

    def validate_languages(self, tags: list[str]) -> list[str]:
        errors, normalized = {}, []
        for index, tag in enumerate(tags):
            try:
                normalized.append(normalize_language_tag(tag))
            except DjangoValidationError as exc:
                errors[index] = exc.messages
        if errors:
            raise serializers.ValidationError(errors)
        return list(dict.fromkeys(normalized))


class PractitionerSummarySerializer(ModelSerializer):
    class Meta:
        model = Practitioner
        fields = ["id", "given_name", "family_name", "specialty"]


class PatientSummarySerializer(ModelSerializer):
    class Meta:
        model = Patient
        fields = ["id", "mrn", "given_name", "family_name", "preferred_name", "birth_date"]


class NextStepSerializer(Serializer):
    step = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()


class ReferralSerializer(SectionFieldsMixin, ModelSerializer):
    """A referral; its status changes only through the transition actions.

    Needs ``service_levels`` and ``now`` in the serializer context for ``next_step``.
    """

    patient = PatientSummarySerializer(read_only=True)
    patient_id = write_id(Patient.objects.all(), "patient")
    referring_practitioner = PractitionerSummarySerializer(read_only=True, allow_null=True)
    referring_practitioner_id = write_id(
        Practitioner.objects.all(), "referring_practitioner", required=False, allow_null=True
    )
    receiving_organization = OrganizationSummarySerializer(read_only=True, allow_null=True)
    receiving_organization_id = write_id(
        Organization.objects.all(), "receiving_organization", required=False, allow_null=True
    )
    receiving_practitioner = PractitionerSummarySerializer(read_only=True, allow_null=True)
    receiving_practitioner_id = write_id(
        Practitioner.objects.all(), "receiving_practitioner", required=False, allow_null=True
    )
    coordinator = UserSummarySerializer(read_only=True, allow_null=True)
    coordinator_id = write_id(
        User.objects.filter(is_active=True), "coordinator", required=False, allow_null=True
    )
    replaces_id = write_id(
        Referral.objects.all(),
        "replaces",
        required=False,
        allow_null=True,
        help_text="A declined referral this one redirects to another provider.",
    )
    replaced_by = serializers.SerializerMethodField(
        help_text="The referral that redirected this declined one to another provider."
    )
    priority = ChoiceField(choices=ReferralPriority.choices, required=False)
    status = ChoiceField(choices=ReferralStatus.choices, read_only=True)
    next_step = serializers.SerializerMethodField()
    allowed_actions = AllowedActionsField(REFERRAL_WORKFLOW)
    fhir = serializers.SerializerMethodField()

    class Meta:
        model = Referral
        fields = [
            "id",
            "patient",
            "patient_id",
            "referring_practitioner",
            "referring_practitioner_id",
            "receiving_organization",
            "receiving_organization_id",
            "receiving_practitioner",
            "receiving_practitioner_id",
            "specialty",
            "priority",
            "status",
            "reason",
            "coordinator",
            "coordinator_id",
            "replaces",
            "replaces_id",
            "replaced_by",
            "appointment_at",
            "report_received_on",
            "report_from",
            "report_summary",
            "report_recommendations",
            "sent_at",
            "status_changed_at",
            "next_step",
            "allowed_actions",
            "fhir",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "replaces",
            "appointment_at",
            "report_received_on",
            "sent_at",
            "status_changed_at",
        ]

    section_fields = Referral.section_fields

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            fields["patient_id"].read_only = True
            fields["replaces_id"].read_only = True
        return fields

    def get_replaced_by(self, referral) -> int | None:
        if hasattr(referral, "replaced_by_id"):  # annotated by the list selectors
            return referral.replaced_by_id
        if referral.status != ReferralStatus.DECLINED:
            return None
        return referral.replaced_by.values_list("pk", flat=True).order_by("pk").first()

    @extend_schema_field(NextStepSerializer(allow_null=True))
    def get_next_step(self, referral):
        step = service_levels.next_step(
            referral, self.context["service_levels"], self.context["now"]
        )
        return (
            None
            if step is None
            else {"step": step.step, "due_at": step.due_at, "overdue": step.overdue}
        )

    @extend_schema_field(
        serializers.DictField(
            child=serializers.CharField(),
            help_text=("The state as FHIR ServiceRequest.status and Task.status."),
        )
    )
    def get_fhir(self, referral) -> dict:
        return {
            "service_request_status": FHIR_SERVICE_REQUEST_STATUS[referral.status],
            "task_status": FHIR_TASK_STATUS[referral.status],
        }


class ReferralEventSerializer(TransitionEventSerializer):
    """One step. Its details leave out the fields the reader may not see on the
    referral itself (the report, for a role without the clinical section)."""

    action = ChoiceField(choices=ReferralAction.choices)
    from_status = ChoiceField(choices=ReferralStatus.choices, allow_blank=True)
    to_status = ChoiceField(choices=ReferralStatus.choices)

    class Meta(TransitionEventSerializer.Meta):
        model = ReferralEvent

    def to_representation(self, event):
        data = super().to_representation(event)
        request = self.context.get("request")
        if request is not None:
            hidden = hidden_fields(request.user, Referral.section_fields)
            data["details"] = {k: v for k, v in data["details"].items() if k not in hidden}
        return data


class FollowUpSerializer(ModelSerializer):
    patient = PatientSummarySerializer(read_only=True)
    patient_id = write_id(Patient.objects.all(), "patient")
    kind = ChoiceField(choices=FollowUpKind.choices, required=False)
    assigned_to = UserSummarySerializer(read_only=True, allow_null=True)
    assigned_to_id = write_id(
        User.objects.filter(is_active=True), "assigned_to", required=False, allow_null=True
    )
    queue = ChoiceField(choices=Department.choices, required=False, allow_blank=True)
    priority = ChoiceField(choices=FollowUpPriority.choices, required=False)
    status = ChoiceField(choices=FollowUpStatus.choices, read_only=True)
    contact_channel = ChoiceField(choices=Channel.choices, required=False, allow_blank=True)
    completed_by = UserSummarySerializer(read_only=True, allow_null=True)
    referral_id = write_id(Referral.objects.all(), "referral", required=False, allow_null=True)
    interaction_id = write_id(
        Interaction.objects.all(), "interaction", required=False, allow_null=True
    )
    contact_language_name = serializers.SerializerMethodField(
        help_text="The contact language's English name (ase: American Sign Language)."
    )
    overdue = serializers.SerializerMethodField()
    allowed_actions = AllowedActionsField(FOLLOW_UP_WORKFLOW)

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "patient",
            "patient_id",
            "kind",
            "title",
            "note",
            "due_at",
            "assigned_to",
            "assigned_to_id",
            "queue",
            "priority",
            "status",
            "overdue",
            "outcome",
            "completed_at",
            "completed_by",
            "referral",
            "referral_id",
            "interaction",
            "interaction_id",
            "rule",
            "contact_language",
            "contact_language_name",
            "contact_channel",
            "allowed_actions",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["outcome", "completed_at", "rule", "referral", "interaction"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            for name in ("patient_id", "referral_id", "interaction_id"):
                fields[name].read_only = True
        return fields

    def get_contact_language_name(self, follow_up) -> str:
        return language_name(follow_up.contact_language) if follow_up.contact_language else ""

    def get_overdue(self, follow_up) -> bool:
        return follow_up.status == FollowUpStatus.OPEN and follow_up.due_at < self.context["now"]
