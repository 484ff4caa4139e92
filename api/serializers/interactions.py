from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import (
    ChoiceField,
    ModelSerializer,
    Serializer,
    UserSummarySerializer,
    one_for_all_rows,
    write_id,
)
from crm.choices import Channel, Department
from interactions.choices import Direction, Outcome, Sensitivity, Topic
from interactions.models import Complaint, Interaction
from messaging.choices import MessageStatus
from patients.models import Patient
from referrals.models import FollowUp, Referral


class InteractionMessageSerializer(Serializer):
    """The text or email an interaction is, and where it is on its way."""

    id = serializers.IntegerField()
    status = ChoiceField(choices=MessageStatus.choices)
    status_reason = serializers.CharField()
    language_used = serializers.CharField()
    fallback = serializers.BooleanField()


class InteractionSerializer(ModelSerializer):
    """One touchpoint. ``staff`` defaults to the signed-in user; ``occurred_at`` to now.
    A text or email sent or received through the app carries its ``message``."""

    channel = ChoiceField(choices=Channel.choices)
    direction = ChoiceField(choices=Direction.choices)
    department = ChoiceField(choices=Department.choices)
    topic = ChoiceField(choices=Topic.choices, required=False)
    outcome = ChoiceField(choices=Outcome.choices, required=False, allow_blank=True)
    sensitivity = ChoiceField(choices=Sensitivity.choices, required=False)
    staff = UserSummarySerializer(read_only=True, allow_null=True)
    staff_id = write_id(get_user_model().objects.filter(is_active=True), "staff", required=False)
    patient_id = write_id(Patient.objects.all(), "patient")
    parent_id = write_id(Interaction.objects.all(), "parent", required=False, allow_null=True)
    referral_id = write_id(Referral.objects.all(), "referral", required=False, allow_null=True)
    follow_up_id = write_id(FollowUp.objects.all(), "follow_up", required=False, allow_null=True)
    complaint_id = write_id(Complaint.objects.all(), "complaint", required=False, allow_null=True)
    message = serializers.SerializerMethodField()

    class Meta:
        model = Interaction
        fields = [
            "id",
            "patient",
            "patient_id",
            "channel",
            "direction",
            "department",
            "topic",
            "occurred_at",
            "duration_seconds",
            "staff",
            "staff_id",
            "summary",
            "outcome",
            "language",
            "interpreter_used",
            "interpreter_language",
            "sensitivity",
            "parent",
            "parent_id",
            "referral",
            "referral_id",
            "follow_up",
            "follow_up_id",
            "complaint",
            "complaint_id",
            "message",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["patient", "parent", "referral", "follow_up", "complaint"]
        extra_kwargs = {
            "occurred_at": {"required": False},
            "duration_seconds": {"max_value": 24 * 60 * 60},
        }

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            fields["patient_id"].read_only = True
        return fields

    _message = one_for_all_rows(InteractionMessageSerializer)

    @extend_schema_field(InteractionMessageSerializer(allow_null=True))
    def get_message(self, interaction) -> dict | None:
        # The selectors join it; a row just logged by hand has none, and asks nothing.
        if not Interaction.message.related.is_cached(interaction):
            return None
        try:
            message = interaction.message
        except ObjectDoesNotExist:
            return None
        return self._message.to_representation(message)

    def validate_occurred_at(self, value):
        if value > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError("An interaction cannot be in the future.")
        return value
