from rest_framework import serializers

from api.fields import ModelSerializer, Serializer
from api.serializers.changes import ChangeQuerySerializer, record_types_field
from integrations.feed import format_cursor
from integrations.models import WebhookDelivery, WebhookSubscription


class WebhookSerializer(ModelSerializer):
    types = record_types_field("Record types to receive; none: every type the owner may read.")
    delivered_up_to = serializers.SerializerMethodField()

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "url",
            "types",
            "active",
            "delivered_up_to",
            "failures",
            "next_attempt_at",
            "created_at",
        ]
        read_only_fields = ["active", "failures", "next_attempt_at", "created_at"]

    def get_delivered_up_to(self, subscription: WebhookSubscription) -> str:
        return format_cursor((subscription.after_txid, subscription.after_id))

    def validate_url(self, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise serializers.ValidationError("Give an http or https URL.")
        return value


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="Signs every delivery; shown only now."
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class WebhookDeliverySerializer(ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "attempted_at",
            "first_cursor",
            "last_cursor",
            "count",
            "status_code",
            "error",
            "duration_ms",
            "succeeded",
        ]


class ResendSerializer(Serializer):
    after = serializers.CharField(
        max_length=40, help_text="Deliver again every change after this cursor."
    )

    validate_after = ChangeQuerySerializer.validate_after
