from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from api.fields import ModelSerializer, Serializer, UserSummarySerializer


class TransitionEventSerializer(ModelSerializer):
    """One step of a record's workflow: who, when, from, to, why, and the facts it
    recorded. Each record's subclass names its event model and reads its action and
    statuses with their labels."""

    actor = UserSummarySerializer(allow_null=True)

    class Meta:
        fields = [
            "id",
            "action",
            "from_status",
            "to_status",
            "actor",
            "occurred_at",
            "reason",
            "details",
        ]


class ErrorSerializer(Serializer):
    """The body of every 4xx answer."""

    message = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(
        help_text="Field name to a list of messages; list fields hold one object per item."
    )


class InvalidTransitionSerializer(ErrorSerializer):
    current_status = serializers.CharField()
    allowed_actions = serializers.ListField(child=serializers.CharField())


class StaleUpdateSerializer(ErrorSerializer):
    current_version = serializers.IntegerField()


class ChangeSerializer(Serializer):
    """One field's change: raw values as stored, and as a person reads them (a choice's
    label, a person's or record's name)."""

    field = serializers.CharField()
    label = serializers.CharField(help_text="The field as people name it.")
    to = serializers.JSONField()
    from_display = serializers.JSONField()
    to_display = serializers.JSONField()

    def get_fields(self):
        fields = super().get_fields()
        # "from" is a keyword; the output key is still "from".
        fields["from"] = serializers.JSONField()
        return fields


class HistoryEntrySerializer(Serializer):
    """One change to a record: when, by whom, which fields from what to what."""

    at = serializers.DateTimeField()
    user = serializers.SerializerMethodField()
    type = serializers.ChoiceField(choices=["created", "changed", "deleted"])
    record = serializers.CharField()
    record_label = serializers.CharField(help_text="The kind of record, as people say it.")
    record_id = serializers.IntegerField()
    reason = serializers.CharField()
    changes = ChangeSerializer(many=True)

    @extend_schema_field(UserSummarySerializer(allow_null=True))
    def get_user(self, entry) -> dict | None:
        user = entry["user"]
        if user is None:
            return None
        return {"id": user.pk, "name": user.get_full_name() or user.get_username()}


class HistoryPageSerializer(Serializer):
    """A page of change history, newest first (``page`` and ``page_size`` choose it)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = HistoryEntrySerializer(many=True)


HISTORY_PAGE_PARAMETERS = [
    OpenApiParameter("page", {"type": "integer", "minimum": 1}, description="From 1."),
    OpenApiParameter(
        "page_size", {"type": "integer", "minimum": 1, "maximum": 200}, description="1 to 200."
    ),
]
