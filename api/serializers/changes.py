from rest_framework import serializers

from api.fields import Serializer
from integrations.feed import FOLLOWED, MAX_LIMIT, BadCursor, parse_cursor
from integrations.models import Change


def record_types_field(help_text: str) -> serializers.ListField:
    """A list of the record types the feed carries (``integrations.feed.FOLLOWED``)."""
    return serializers.ListField(
        child=serializers.ChoiceField(choices=list(FOLLOWED)),
        required=False,
        max_length=len(FOLLOWED),
        help_text=help_text,
    )


class ChangeQuerySerializer(Serializer):
    after = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="The cursor the last page gave (`next`); none for the beginning.",
    )
    types = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text=f"Record types, separated by commas: {', '.join(FOLLOWED)}. All by default.",
    )
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=MAX_LIMIT)

    def validate_after(self, value: str) -> tuple[int, int]:
        try:
            return parse_cursor(value)
        except BadCursor:
            raise serializers.ValidationError("Give the cursor a page returned as next.") from None

    def validate_types(self, value: str) -> list[str]:
        types = [name.strip() for name in value.split(",") if name.strip()]
        unknown = [name for name in types if name not in FOLLOWED]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown types: {', '.join(unknown)}. Known: {', '.join(FOLLOWED)}."
            )
        return types


class FeedEntrySerializer(Serializer):
    """A change as ``integrations.feed.entry`` gives it (the webhooks send the same)."""

    cursor = serializers.CharField()
    type = serializers.CharField()
    id = serializers.IntegerField()
    action = serializers.ChoiceField(choices=Change.Action.choices)
    patient = serializers.IntegerField(allow_null=True)
    at = serializers.DateTimeField()


class ChangePageSerializer(Serializer):
    results = FeedEntrySerializer(many=True)
    next = serializers.CharField(help_text="Ask again with after=next; keep it between polls.")
    more = serializers.BooleanField(help_text="A full page: ask again at once.")
