from rest_framework import serializers

from api.fields import ChoiceField, ModelSerializer, Serializer, UserSummarySerializer, write_id
from api.serializers.common import TransitionEventSerializer
from api.serializers.referrals import PatientSummarySerializer
from crm.choices import Department
from interactions.choices import Direction
from messaging.choices import (
    Keyword,
    MessageAction,
    MessageChannel,
    MessageStatus,
    Sender,
    Template,
)
from messaging.models import Message, MessageEvent
from messaging.selectors import answer_due
from messaging.texts import STAFF_TEMPLATES
from patients.choices import ConsentPurpose
from patients.models import Patient


class MessageSerializer(ModelSerializer):
    """A text or email to or from a patient, with where it is on its way."""

    patient = PatientSummarySerializer(read_only=True)
    channel = ChoiceField(choices=MessageChannel.choices)
    direction = ChoiceField(choices=Direction.choices)
    purpose = ChoiceField(choices=ConsentPurpose.choices, allow_blank=True)
    department = ChoiceField(choices=Department.choices)
    template = ChoiceField(choices=Template.choices, allow_blank=True)
    status = ChoiceField(choices=MessageStatus.choices)
    sender = ChoiceField(choices=Sender.choices)
    keyword = ChoiceField(choices=Keyword.choices, allow_blank=True)
    sent_by = UserSummarySerializer(read_only=True, allow_null=True)
    fallback = serializers.BooleanField(
        read_only=True, help_text="Written in another language than the patient's."
    )
    answer_due = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "patient",
            "channel",
            "direction",
            "purpose",
            "department",
            "template",
            "subject",
            "body",
            "language",
            "language_used",
            "fallback",
            "address",
            "sender",
            "sent_by",
            "rule",
            "occasion",
            "status",
            "status_reason",
            "refusal_code",
            "keyword",
            "send_after",
            "attempts",
            "segments",
            "encoding",
            "error_code",
            "created_at",
            "sent_at",
            "delivered_at",
            "failed_at",
            "answered_at",
            "answer_due",
            "reply_to",
            "interaction",
            "referral",
            "follow_up",
        ]
        read_only_fields = fields

    def get_answer_due(self, message) -> str | None:
        """Inbound and unanswered: when staff should have answered by."""
        if message.direction != Direction.INBOUND or message.answered_at or message.keyword:
            return None
        return serializers.DateTimeField().to_representation(answer_due(message))


class MessageEventSerializer(TransitionEventSerializer):
    action = ChoiceField(choices=[("create", "Written"), *MessageAction.choices])
    from_status = ChoiceField(choices=MessageStatus.choices, allow_blank=True)
    to_status = ChoiceField(choices=MessageStatus.choices)

    class Meta(TransitionEventSerializer.Meta):
        model = MessageEvent


class MessageDraftSerializer(Serializer):
    """A message to send (or preview): a template filled in the patient's language, or
    free text (``template`` general). With no channel the contact policy picks one."""

    patient_id = write_id(Patient.objects.all(), "patient")
    channel = ChoiceField(choices=MessageChannel.choices, required=False, allow_blank=True)
    purpose = ChoiceField(choices=ConsentPurpose.choices)
    template = ChoiceField(
        choices=[(t.value, t.label) for t in STAFF_TEMPLATES], default=Template.GENERAL
    )
    text = serializers.CharField(required=False, allow_blank=True, max_length=1600)
    department = ChoiceField(
        choices=Department.choices,
        required=False,
        help_text="The team that answers replies; defaults to the sender's own.",
    )


class MessagePreviewSerializer(Serializer):
    """What the message would be, and the contact policy's answer, before sending."""

    allowed = serializers.BooleanField()
    code = serializers.CharField(help_text="Why not, as a code; empty when allowed.")
    reason = serializers.CharField()
    notes = serializers.ListField(child=serializers.CharField())
    channel = serializers.CharField()
    address = serializers.CharField()
    language = serializers.CharField(help_text="The patient's language.")
    language_used = serializers.CharField(allow_null=True)
    fallback = serializers.BooleanField()
    subject = serializers.CharField()
    body = serializers.CharField()
    segments = serializers.IntegerField(allow_null=True)
    encoding = serializers.CharField()
    send_after = serializers.DateTimeField(
        allow_null=True,
        help_text="When it would go out, if not now: when the patient's hours begin.",
    )


class MessageReplySerializer(Serializer):
    text = serializers.CharField(max_length=1600)


class MessageCancelSerializer(Serializer):
    reason = serializers.CharField(max_length=4000)
