"""Complaints, surveys and the experience metrics."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import (
    AllowedActionsField,
    ChoiceField,
    ModelSerializer,
    Serializer,
    UserSummarySerializer,
    one_for_all_rows,
    write_id,
)
from api.serializers.care import PeriodSerializer, RatioSerializer
from api.serializers.common import TransitionEventSerializer
from api.serializers.interactions import InteractionMessageSerializer
from api.serializers.referrals import PatientSummarySerializer
from crm.choices import Channel, Department
from interactions import service_levels
from interactions.choices import (
    ComplaintAction,
    ComplaintCategory,
    ComplaintPriority,
    ComplaintStatus,
    SurveyLanguage,
)
from interactions.models import (
    Complaint,
    ComplaintEvent,
    Interaction,
    SurveyInvitation,
    SurveyResponse,
)
from interactions.workflow import COMPLAINT_WORKFLOW
from patients.models import Patient
from referrals.models import Referral

User = get_user_model()


class ComplaintDueSerializer(Serializer):
    first_response_due = serializers.DateTimeField(allow_null=True)
    resolve_due = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()


class ComplaintSerializer(ModelSerializer):
    """A complaint; its status changes through the actions. Needs ``complaint_targets``
    and ``now`` in the context for ``due``."""

    patient = PatientSummarySerializer(read_only=True)
    patient_id = write_id(Patient.objects.all(), "patient")
    channel = ChoiceField(choices=Channel.choices)
    category = ChoiceField(choices=ComplaintCategory.choices)
    department = ChoiceField(choices=Department.choices)
    priority = ChoiceField(
        choices=ComplaintPriority.choices,
        required=False,
        help_text="Defaults from the category; may be raised, not lowered.",
    )
    status = ChoiceField(choices=ComplaintStatus.choices, read_only=True)
    owner = UserSummarySerializer(read_only=True, allow_null=True)
    owner_id = write_id(
        User.objects.filter(is_active=True), "owner", required=False, allow_null=True
    )
    referral_id = write_id(Referral.objects.all(), "referral", required=False, allow_null=True)
    queue = ChoiceField(choices=Department.choices, required=False, allow_blank=True)
    due = serializers.SerializerMethodField()
    allowed_actions = AllowedActionsField(COMPLAINT_WORKFLOW)

    class Meta:
        model = Complaint
        fields = [
            "id",
            "patient",
            "patient_id",
            "channel",
            "category",
            "department",
            "priority",
            "status",
            "owner",
            "owner_id",
            "queue",
            "description",
            "received_at",
            "first_response_at",
            "resolved_at",
            "resolution_note",
            "patient_informed",
            "referral",
            "referral_id",
            "due",
            "allowed_actions",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "referral",
            "first_response_at",
            "resolved_at",
            "resolution_note",
            "patient_informed",
        ]
        extra_kwargs = {"received_at": {"required": False}}

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            for name in ("patient_id", "received_at", "channel"):
                fields[name].read_only = True
        return fields

    def validate_received_at(self, value):
        if value > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError("Cannot be in the future.")
        return value

    @extend_schema_field(ComplaintDueSerializer)
    def get_due(self, complaint):
        due = service_levels.due(complaint, self.context["complaint_targets"], self.context["now"])
        return {
            "first_response_due": due.first_response_due,
            "resolve_due": due.resolve_due,
            "overdue": due.overdue,
        }


class ComplaintEventSerializer(TransitionEventSerializer):
    action = ChoiceField(choices=ComplaintAction.choices)
    from_status = ChoiceField(choices=ComplaintStatus.choices, allow_blank=True)
    to_status = ChoiceField(choices=ComplaintStatus.choices)

    class Meta(TransitionEventSerializer.Meta):
        model = ComplaintEvent
        fields = [f for f in TransitionEventSerializer.Meta.fields if f != "details"]


class SurveyInvitationSerializer(ModelSerializer):
    """A survey sent as a single-use link, by text or email (the ``message`` that
    carries it), or handed over by staff on other channels. The link is returned once,
    when created."""

    patient = PatientSummarySerializer(read_only=True)
    patient_id = write_id(Patient.objects.all(), "patient")
    channel = ChoiceField(choices=Channel.choices)
    language = ChoiceField(
        choices=SurveyLanguage.choices,
        required=False,
        help_text="Defaults to the patient's preferred language when the page has it.",
    )
    department = ChoiceField(choices=Department.choices, required=False, allow_blank=True)
    interaction_id = write_id(
        Interaction.objects.all(), "interaction", required=False, allow_null=True
    )
    referral_id = write_id(Referral.objects.all(), "referral", required=False, allow_null=True)
    answered = serializers.SerializerMethodField()
    link = serializers.SerializerMethodField(help_text="Only in the answer to the create call.")
    message = serializers.SerializerMethodField(
        help_text="The text or email that carries the link; only in the create answer."
    )

    class Meta:
        model = SurveyInvitation
        fields = [
            "id",
            "patient",
            "patient_id",
            "channel",
            "language",
            "interaction",
            "interaction_id",
            "referral",
            "referral_id",
            "department",
            "sent_at",
            "expires_at",
            "used_at",
            "answered",
            "link",
            "message",
        ]
        read_only_fields = ["interaction", "referral", "sent_at", "expires_at", "used_at"]

    def get_answered(self, invitation) -> bool:
        return invitation.used_at is not None

    def get_link(self, invitation) -> str | None:
        return getattr(invitation, "link", None)

    _message = one_for_all_rows(InteractionMessageSerializer)

    @extend_schema_field(InteractionMessageSerializer(allow_null=True))
    def get_message(self, invitation) -> dict | None:
        message = getattr(invitation, "message", None)
        return self._message.to_representation(message) if message is not None else None


class SurveyResponseSerializer(ModelSerializer):
    """A survey answer; staff record one taken by phone or in person here."""

    patient = PatientSummarySerializer(read_only=True)
    patient_id = write_id(Patient.objects.all(), "patient")
    channel = ChoiceField(choices=Channel.choices)
    department = ChoiceField(choices=Department.choices, required=False, allow_blank=True)
    interaction_id = write_id(
        Interaction.objects.all(), "interaction", required=False, allow_null=True
    )
    referral_id = write_id(Referral.objects.all(), "referral", required=False, allow_null=True)
    recorded_by = UserSummarySerializer(read_only=True, allow_null=True)
    detractor = serializers.BooleanField(source="is_detractor", read_only=True)

    class Meta:
        model = SurveyResponse
        fields = [
            "id",
            "patient",
            "patient_id",
            "interaction",
            "interaction_id",
            "referral",
            "referral_id",
            "department",
            "channel",
            "nps_score",
            "csat_score",
            "comment",
            "language",
            "received_at",
            "recorded_by",
            "detractor",
        ]
        read_only_fields = ["interaction", "referral"]
        extra_kwargs = {
            "nps_score": {"min_value": 0, "max_value": 10},
            "csat_score": {"min_value": 1, "max_value": 5},
            "received_at": {"required": False},
        }

    def validate(self, data):
        if data.get("nps_score") is None and data.get("csat_score") is None:
            raise serializers.ValidationError(
                {"nps_score": ["Give an NPS score, a CSAT score or both."]}
            )
        return data


class ComplaintBucketSerializer(Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    overdue = serializers.IntegerField()
    items = ComplaintSerializer(many=True)


class ComplaintWorklistSerializer(Serializer):
    buckets = ComplaintBucketSerializer(many=True)


class ScoreSerializer(Serializer):
    score = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()


class NpsSerializer(ScoreSerializer):
    promoters = serializers.IntegerField()
    passives = serializers.IntegerField()
    detractors = serializers.IntegerField()


class CsatSerializer(ScoreSerializer):
    satisfied = serializers.IntegerField()


class HoursSerializer(Serializer):
    median = serializers.FloatField(allow_null=True)
    p90 = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()


class PercentSerializer(Serializer):
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True)


class ComplaintFiguresSerializer(Serializer):
    received = serializers.IntegerField()
    by_category = serializers.DictField(child=serializers.IntegerField())
    by_status = serializers.DictField(child=serializers.IntegerField())
    hours_to_first_response = HoursSerializer()
    hours_to_resolution = HoursSerializer()
    resolved_within_target = PercentSerializer()


class ChannelResponseSerializer(Serializer):
    channel = serializers.CharField()
    inbound = serializers.IntegerField()
    answered = serializers.IntegerField()
    median = serializers.FloatField(allow_null=True)
    p90 = serializers.FloatField(allow_null=True)


class MessageCountsSerializer(Serializer):
    channel = serializers.CharField()
    purpose = serializers.CharField()
    went_out = serializers.IntegerField(help_text="Sent or delivered.")
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Failed or undeliverable.")
    refused = serializers.IntegerField(help_text="Refused by the contact policy.")
    waiting = serializers.IntegerField(help_text="Queued or sending.")


class AnswerTimeSerializer(HoursSerializer):
    unanswered = serializers.IntegerField()


class MessageMetricsSerializer(Serializer):
    by_channel_and_purpose = MessageCountsSerializer(many=True)
    opt_out_rate = RatioSerializer(help_text="Patients who texted STOP / patients texted.")
    reply_rate = RatioSerializer(help_text="Texts answered by the patient / texts sent.")
    hours_to_answer = AnswerTimeSerializer(help_text="From a patient's text to a staff reply.")


class ExperienceMetricsSerializer(Serializer):
    period = PeriodSerializer()
    nps = NpsSerializer()
    csat = CsatSerializer()
    survey_response_rate = RatioSerializer()
    complaints = ComplaintFiguresSerializer()
    first_response_hours_by_channel = ChannelResponseSerializer(many=True)
    messages = MessageMetricsSerializer()
