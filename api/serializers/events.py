from rest_framework import serializers

from api.fields import ChoiceField, ModelSerializer, write_id
from crm.choices import Department
from integrations.choices import EventKind
from integrations.models import DepartmentEvent
from messaging.choices import MessageChannel, MessageStatus
from messaging.models import Message
from patients.models import Patient


class EventMessageSerializer(ModelSerializer):
    """The message that told the patient: where it stands."""

    channel = ChoiceField(choices=MessageChannel.choices)
    status = ChoiceField(choices=MessageStatus.choices)

    class Meta:
        model = Message
        fields = ["id", "channel", "status", "status_reason"]


class DepartmentEventSerializer(ModelSerializer):
    """A pharmacy, lab or billing event on the patient's record. Pushed by the
    department's system by ``source`` and ``external_id``: the first push is a 201, a
    repeat a 200 that applies what changed. ``notify_patient`` tells the patient once,
    in their language, where the contact policy allows."""

    patient = serializers.PrimaryKeyRelatedField(read_only=True)
    patient_id = write_id(Patient.objects.all(), "patient")
    kind = ChoiceField(choices=EventKind.choices)
    department = ChoiceField(choices=Department.choices, read_only=True)
    notify_patient = serializers.BooleanField(
        write_only=True, default=False, help_text="Tell the patient (once per event)."
    )
    message = EventMessageSerializer(read_only=True, allow_null=True)

    class Meta:
        model = DepartmentEvent
        fields = [
            "id",
            "patient",
            "patient_id",
            "kind",
            "department",
            "occurred_at",
            "title",
            "location",
            "reference",
            "source",
            "external_id",
            "notify_patient",
            "message",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["version", "created_at", "updated_at"]
        validators: list = []  # a known source and id is an update, not a duplicate

    def validate(self, attrs):
        if attrs.get("external_id") and not attrs.get("source"):
            raise serializers.ValidationError(
                {"source": ["Name the system whose id external_id is."]}
            )
        return attrs
