from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import serializers

from api.fields import ChoiceField, UserSummarySerializer
from crm.choices import Channel, Department
from interactions.choices import Direction, Outcome, Sensitivity, Topic
from interactions.models import Interaction


class InteractionSerializer(serializers.ModelSerializer):
    """One touchpoint. ``staff`` defaults to the signed-in user; ``occurred_at`` to now."""

    channel = ChoiceField(choices=Channel.choices)
    direction = ChoiceField(choices=Direction.choices)
    department = ChoiceField(choices=Department.choices)
    topic = ChoiceField(choices=Topic.choices, required=False)
    outcome = ChoiceField(choices=Outcome.choices, required=False, allow_blank=True)
    sensitivity = ChoiceField(choices=Sensitivity.choices, required=False)
    staff = UserSummarySerializer(read_only=True, allow_null=True)
    staff_id = serializers.PrimaryKeyRelatedField(
        source="staff",
        queryset=get_user_model().objects.filter(is_active=True),
        write_only=True,
        required=False,
    )

    class Meta:
        model = Interaction
        fields = [
            "id",
            "patient",
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
            "referral",
            "follow_up",
            "complaint",
            "version",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "occurred_at": {"required": False},
            "duration_seconds": {"max_value": 24 * 60 * 60},
        }

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            fields["patient"].read_only = True
        return fields

    def validate_occurred_at(self, value):
        if value > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError("An interaction cannot be in the future.")
        return value
