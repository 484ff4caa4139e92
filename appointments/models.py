import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from appointments.choices import AppointmentStatus
from crm.history import HistoricalRecords
from crm.models import TransitionEvent, VersionedRecord
from patients.validators import validate_time_zone

ZERO = datetime.timedelta(0)
# Reminders further ahead than this are not reminders.
LONGEST_REMINDER = datetime.timedelta(days=60)


class ServiceType(models.Model):
    """A kind of visit (a new-patient visit, a follow-up, a procedure) and what happens
    around it: the reminders before it, a check-in call and a survey after it. Edited
    in the admin."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    minutes = models.PositiveSmallIntegerField(
        default=30, help_text="How long a visit takes when the booking gives no end."
    )
    check_in_call = models.BooleanField(
        default=False, help_text="After each fulfilled visit, a coordinator calls the patient."
    )
    survey_after_visit = models.BooleanField(
        default=True, help_text="After a fulfilled visit, the patient is invited to a survey."
    )
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Reminder(models.Model):
    """One reminder a service type's appointments get, this long before the start."""

    service_type = models.ForeignKey(
        ServiceType, on_delete=models.CASCADE, related_name="reminders"
    )
    before = models.DurationField(help_text="How long before the start: 7 days, 2 days, 2:00:00.")

    class Meta:
        ordering = ["-before"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_type", "before"], name="%(app_label)s_%(class)s_once"
            ),
            models.CheckConstraint(
                condition=Q(before__gt=ZERO, before__lte=LONGEST_REMINDER),
                name="%(app_label)s_%(class)s_before_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.before} before"


class Appointment(VersionedRecord):
    """A visit, booked in this product or pushed in by the clinic's scheduling system
    (``source`` and ``external_id``, unique together). A referral's appointment is
    one of these, linked to it; the referral's ``appointment_at`` follows it.

    ``status`` moves only through ``appointments.services`` (``appointments.workflow``),
    which writes an :class:`AppointmentEvent` for every step: who, when and why."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="appointments"
    )
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="+")
    practitioner = models.ForeignKey(
        "referrals.Practitioner", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    organization = models.ForeignKey(
        "referrals.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    department = models.CharField(
        max_length=100, blank=True, help_text="The clinic's department, e.g. Cardiology."
    )
    location = models.CharField(max_length=200, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="Where the visit is; messages give its time in the patient's zone.",
    )
    status = models.CharField(
        max_length=16, choices=AppointmentStatus, default=AppointmentStatus.BOOKED
    )
    status_changed_at = models.DateTimeField(default=timezone.now)
    booked_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(
        max_length=255,
        default="crm",
        help_text="The system the appointment comes from: crm, referral, or an integration "
        "(a short name, or the URI of its identifiers' system in FHIR).",
    )
    external_id = models.CharField(
        max_length=100, blank=True, help_text="Its id in the source system."
    )
    referral = models.ForeignKey(
        "referrals.Referral",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
    )

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["patient", "-start", "-id"], name="appointment_patient_idx"),
            models.Index(fields=["start", "id"], name="appointment_day_idx"),
            models.Index(fields=["status", "start"], name="appointment_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="%(app_label)s_%(class)s_source_id",
            ),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")),
                name="%(app_label)s_%(class)s_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_type_id} at {self.start:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def what(self) -> str:
        """How staff name it in a task: "New patient visit on 2026-11-30"."""
        return f"{self.service_type.name} on {self.start:%Y-%m-%d}"

    def clean(self) -> None:
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": "The appointment must end after it starts."})
        if self.referral_id and self.referral.patient_id != self.patient_id:
            raise ValidationError({"referral": "The referral belongs to another patient."})


class AppointmentEvent(TransitionEvent):
    """One step of an appointment (``appointments.workflow``). Append-only."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="events")

    class Meta(TransitionEvent.Meta):
        indexes = [
            models.Index(fields=["appointment", "occurred_at"], name="appointmentevent_idx"),
            models.Index(fields=["to_status", "occurred_at"], name="appointmentevent_metrics_idx"),
        ]
