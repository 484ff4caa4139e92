"""Inputs and outputs of the care-continuity endpoints: worklists, metrics, handoffs."""

from django.contrib.auth import get_user_model
from rest_framework import serializers
from rest_framework.fields import empty

from api.fields import Serializer, UserSummarySerializer
from api.serializers.referrals import FollowUpSerializer, ReferralSerializer
from crm.choices import Channel, Department
from interactions.choices import ComplaintCategory

User = get_user_model()


class ReferralBucketSerializer(Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    overdue = serializers.IntegerField()
    items = ReferralSerializer(many=True, help_text="Most urgent first, up to `limit`.")


class ReferralWorklistSerializer(Serializer):
    coordinators = serializers.ListField(
        child=serializers.IntegerField(), allow_null=True, help_text="null for the whole team."
    )
    buckets = ReferralBucketSerializer(many=True)


class FollowUpBucketSerializer(Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    items = FollowUpSerializer(many=True, help_text="Earliest due first, up to `limit`.")


class FollowUpOwnerSerializer(Serializer):
    assigned_to = UserSummarySerializer(allow_null=True)
    queue = serializers.CharField(allow_null=True)
    overdue = serializers.IntegerField()
    due_today = serializers.IntegerField()
    upcoming = serializers.IntegerField()


class FollowUpWorklistSerializer(Serializer):
    buckets = FollowUpBucketSerializer(many=True)
    owners = FollowUpOwnerSerializer(many=True)

    def to_representation(self, instance):
        # Owners are already plain dicts with the user summarised.
        data = super().to_representation({**instance, "owners": []})
        data["owners"] = instance["owners"]
        return data


class QueryChoiceField(serializers.ChoiceField):
    """A choice in the query string where an empty value is refused like any other
    value not offered (for query strings DRF reads ``order=`` as absent)."""

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)


class WorklistQuerySerializer(Serializer):
    team = serializers.BooleanField(default=False, help_text="Everyone's, not only mine.")
    limit = serializers.IntegerField(default=25, min_value=1, max_value=200)
    offset = serializers.IntegerField(
        default=0,
        min_value=0,
        max_value=100_000,
        help_text="Skip this many items of each bucket: the next page of a bucket.",
    )
    horizon_days = serializers.IntegerField(
        default=7, min_value=1, max_value=90, help_text="Follow-ups: how far ahead is upcoming."
    )
    order = QueryChoiceField(
        choices=["due", "priority"],
        default="due",
        help_text="Follow-ups: earliest due first, or highest priority first.",
    )


class MetricsQuerySerializer(Serializer):
    start = serializers.DateField()
    end = serializers.DateField()

    def validate(self, data):
        if data["end"] < data["start"]:
            raise serializers.ValidationError({"end": ["Must be on or after start."]})
        if (data["end"] - data["start"]).days > 366 * 5:
            raise serializers.ValidationError({"end": ["The period is at most five years."]})
        return data


class RatioSerializer(Serializer):
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="null when the denominator is 0.")


class DaysSerializer(Serializer):
    median = serializers.FloatField(allow_null=True)
    p90 = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField(help_text="Referrals that reached the later state.")


class IntervalsSerializer(Serializer):
    sent_to_accepted = DaysSerializer()
    accepted_to_scheduled = DaysSerializer()
    seen_to_closed = DaysSerializer()
    sent_to_closed = DaysSerializer()


class BucketCountSerializer(Serializer):
    count = serializers.IntegerField()
    overdue = serializers.IntegerField()


class PeriodSerializer(Serializer):
    start = serializers.DateField()
    end = serializers.DateField()


class ReferralMetricsSerializer(Serializer):
    period = PeriodSerializer()
    sent = serializers.IntegerField()
    loop_closure = RatioSerializer()
    days = IntervalsSerializer()
    overdue_now = serializers.DictField(child=BucketCountSerializer())
    no_show = RatioSerializer()
    out_of_network = RatioSerializer()
    follow_ups_on_time = RatioSerializer()


class ReassignCoordinatorSerializer(Serializer):
    coordinator_id = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), source="coordinator"
    )
    reason = serializers.CharField(max_length=500)


class HandoffSerializer(Serializer):
    from_user_id = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), source="from_user"
    )
    to_user_id = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        source="to_user",
        required=False,
        allow_null=True,
    )
    follow_ups_queue = serializers.ChoiceField(
        choices=Department.choices,
        required=False,
        allow_blank=True,
        help_text="Send the follow-ups to this queue instead of to the user.",
    )
    reason = serializers.CharField(max_length=500)


class MovedSerializer(Serializer):
    patients = serializers.IntegerField()
    referrals = serializers.IntegerField()
    follow_ups = serializers.IntegerField()


class ExperienceFilterSerializer(Serializer):
    department = serializers.ListField(
        child=serializers.ChoiceField(choices=Department.choices), required=False
    )
    channel = serializers.ListField(
        child=serializers.ChoiceField(choices=Channel.choices), required=False
    )
    category = serializers.ListField(
        child=serializers.ChoiceField(choices=ComplaintCategory.choices), required=False
    )
