from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import serializers

from api.fields import ChoiceField, UserSummarySerializer, write_id
from crm.choices import Channel, Department
from interactions.choices import Direction, Outcome, Sensitivity, Topic
from interactions.models import Complaint, Interaction
from patients.models import Patient
from referrals.models import FollowUp, Referral


class InteractionSerializer(serializers.ModelSerializer):
    """One touchpoint. ``staff`` defaults to the signed-in user; ``occurred_at`` to now."""

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

    def validate_occurred_at(self, value):
        if value > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError("An interaction cannot be in the future.")
        return value
