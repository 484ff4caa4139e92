from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type, build_object_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers

from api.fields import AllowedActionsField, ChoiceField, ModelSerializer, Serializer, write_id
from api.serializers.care import PeriodSerializer, RatioSerializer
from api.serializers.common import TransitionEventSerializer
from api.serializers.referrals import (
    OrganizationSummarySerializer,
    PatientSummarySerializer,
    PractitionerSummarySerializer,
)
from appointments.choices import UPCOMING, AppointmentAction, AppointmentStatus
from appointments.models import Appointment, AppointmentEvent, Reminder, ServiceType
from appointments.selectors import DAY_LIMIT
from appointments.workflow import APPOINTMENT_WORKFLOW
from patients.contact import preferred_language
from patients.models import PHONE_SYSTEMS, Patient
from referrals.models import Organization, Practitioner, Referral


class ReminderSerializer(ModelSerializer):
    before_hours = serializers.SerializerMethodField()

    class Meta:
        model = Reminder
        fields = ["before", "before_hours"]

    def get_before_hours(self, reminder) -> float:
        return reminder.before.total_seconds() / 3600


class ServiceTypeSerializer(ModelSerializer):
    """A kind of visit and what happens around it (edited in the admin)."""

    reminders = ReminderSerializer(many=True, read_only=True)

    class Meta:
        model = ServiceType
        fields = [
            "code",
            "name",
            "minutes",
            "check_in_call",
            "survey_after_visit",
            "active",
            "reminders",
        ]


class ServiceTypeField(serializers.Field):
    """Written as the service type's code, read as its code and name."""

    def to_internal_value(self, data) -> ServiceType:
        code = data if isinstance(data, str) else ""
        found = ServiceType.objects.filter(code=code[:40], active=True).first()
        if found is None:
            raise serializers.ValidationError(
                "Name an active service type by its code (GET /api/service-types/)."
            )
        return found

    def to_representation(self, value: ServiceType) -> dict:
        return {"code": value.code, "name": value.name}


class ServiceTypeFieldExtension(OpenApiSerializerFieldExtension):
    target_class = ServiceTypeField

    def map_serializer_field(self, auto_schema, direction):
        code = build_basic_type(OpenApiTypes.STR)
        if direction == "request":
            return code
        return build_object_type(
            properties={"code": code, "name": build_basic_type(OpenApiTypes.STR)},
            required=["code", "name"],
        )


class AppointmentSerializer(ModelSerializer):
    """An appointment. Its time moves by the ``reschedule`` action and its status by the
    other actions; an update changes the rest."""

    patient = PatientSummarySerializer(read_only=True)
    patient_id = write_id(Patient.objects.all(), "patient")
    service_type = ServiceTypeField()
    practitioner = PractitionerSummarySerializer(read_only=True, allow_null=True)
    practitioner_id = write_id(
        Practitioner.objects.all(), "practitioner", required=False, allow_null=True
    )
    organization = OrganizationSummarySerializer(read_only=True, allow_null=True)
    organization_id = write_id(
        Organization.objects.all(), "organization", required=False, allow_null=True
    )
    referral_id = write_id(Referral.objects.all(), "referral", required=False, allow_null=True)
    status = ChoiceField(
        choices=AppointmentStatus.choices,
        required=False,
        help_text="On booking: proposed, booked (the default) or confirmed.",
    )
    end = serializers.DateTimeField(
        required=False, help_text="Defaults to the start plus the service type's minutes."
    )
    allowed_actions = AllowedActionsField(APPOINTMENT_WORKFLOW)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "patient",
            "patient_id",
            "service_type",
            "practitioner",
            "practitioner_id",
            "organization",
            "organization_id",
            "department",
            "location",
            "start",
            "end",
            "time_zone",
            "status",
            "status_changed_at",
            "booked_at",
            "confirmed_at",
            "source",
            "external_id",
            "referral",
            "referral_id",
            "allowed_actions",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "status_changed_at",
            "booked_at",
            "confirmed_at",
            "source",
            "external_id",
            "referral",
            "version",
            "created_at",
            "updated_at",
        ]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            for name in ("patient_id", "start", "end", "status", "referral_id"):
                fields[name].read_only = True
        return fields

    def validate_status(self, value: str) -> str:
        if value not in UPCOMING:
            raise serializers.ValidationError(
                "A new appointment is proposed, booked or confirmed; record what happened "
                "next with its action."
            )
        return value


class AppointmentPushSerializer(AppointmentSerializer):
    """What a scheduling system pushes: its appointment by ``source`` and
    ``external_id``, in any status (the steps to it are taken in order)."""

    source = serializers.RegexField(
        r"^[^\s|]+$",
        max_length=255,
        help_text="The scheduling system: a short name, or its identifiers' system URI.",
        error_messages={"invalid": "A name or URI, without spaces or bars."},
    )
    external_id = serializers.CharField(max_length=100)

    class Meta(AppointmentSerializer.Meta):
        validators: list = []  # a known source and id is an update, not a duplicate
        read_only_fields = [
            f
            for f in AppointmentSerializer.Meta.read_only_fields
            if f not in ("source", "external_id")
        ]

    def get_fields(self):
        return serializers.ModelSerializer.get_fields(self)

    def validate_status(self, value: str) -> str:
        return value


class AppointmentEventSerializer(TransitionEventSerializer):
    action = ChoiceField(choices=[("create", "Create"), *AppointmentAction.choices])
    from_status = ChoiceField(choices=AppointmentStatus.choices, allow_blank=True)
    to_status = ChoiceField(choices=AppointmentStatus.choices)

    class Meta(TransitionEventSerializer.Meta):
        model = AppointmentEvent


class AppointmentSummarySerializer(AppointmentSerializer):
    """An appointment on the 360: when, what, with whom, whether the patient
    confirmed, and how many reminders reached the provider."""

    reminders_sent = serializers.IntegerField(read_only=True)

    class Meta(AppointmentSerializer.Meta):
        fields = [
            "id",
            "service_type",
            "practitioner",
            "organization",
            "department",
            "location",
            "start",
            "end",
            "status",
            "confirmed_at",
            "referral",
            "reminders_sent",
            "allowed_actions",
            "version",
        ]


class DayPatientSerializer(PatientSummarySerializer):
    """Who the front desk calls: how to reach them and in which language."""

    phone = serializers.SerializerMethodField()
    language = serializers.SerializerMethodField()
    interpreter_needed = serializers.CharField()

    class Meta(PatientSummarySerializer.Meta):
        fields = [*PatientSummarySerializer.Meta.fields, "phone", "language", "interpreter_needed"]

    def get_phone(self, patient) -> str | None:
        phones = [c for c in patient.contact_points.all() if c.system in PHONE_SYSTEMS]
        return phones[0].value if phones else None

    def get_language(self, patient) -> str | None:
        language = preferred_language(patient)
        return language.language if language else None


class DayAppointmentSerializer(AppointmentSummarySerializer):
    patient = DayPatientSerializer(read_only=True)

    class Meta(AppointmentSummarySerializer.Meta):
        fields = ["patient", *AppointmentSummarySerializer.Meta.fields]


class DayQuerySerializer(Serializer):
    day = serializers.DateField(required=False, help_text="Defaults to tomorrow.")
    unconfirmed = serializers.BooleanField(
        required=False, default=False, help_text="Only those not confirmed yet: the call list."
    )
    department = serializers.CharField(required=False, max_length=100)


class DaySerializer(Serializer):
    """The front desk's day: its appointments in time order and how many are confirmed."""

    day = serializers.DateField()
    appointments = DayAppointmentSerializer(many=True)
    counts = serializers.DictField(child=serializers.IntegerField())
    truncated = serializers.BooleanField(help_text=f"More than {DAY_LIMIT} on the day.")


class NoShowRowSerializer(RatioSerializer):
    service_type = serializers.CharField(required=False)
    department = serializers.CharField(required=False)
    reminder_reached = serializers.BooleanField(required=False)


class LeadTimeSerializer(Serializer):
    median = serializers.FloatField(allow_null=True)
    p90 = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField(help_text="Appointments with a booking time.")


class AppointmentMetricsSerializer(Serializer):
    """Appointments that start in the period (docs/domain.md, appointment metrics)."""

    period = PeriodSerializer()
    confirmation_rate = RatioSerializer(help_text="Confirmed by the patient / held.")
    reminder_reach = RatioSerializer(help_text="Held with a reminder that went out / held.")
    no_show_rate = RatioSerializer(help_text="No-shows / visits fulfilled or missed.")
    no_show_by_service_type = NoShowRowSerializer(many=True)
    no_show_by_department = NoShowRowSerializer(many=True)
    no_show_by_reminder = NoShowRowSerializer(many=True)
    lead_time_days = LeadTimeSerializer(help_text="From booking to the visit.")
    survey_response_rate = RatioSerializer(help_text="After fulfilled visits.")
