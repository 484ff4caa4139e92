import operator
from datetime import timedelta
from functools import reduce

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from crm.access import Section
from crm.choices import Channel, Department
from crm.history import HistoricalRecords
from crm.models import TransitionEvent, VersionedRecord
from referrals.choices import (
    PRIORITY_RANK,
    FollowUpKind,
    FollowUpPriority,
    FollowUpStatus,
    ReferralPriority,
    ReferralStatus,
)
from referrals.validators import validate_npi

ZERO = timedelta(0)


class Organization(models.Model):
    """A provider organization in the directory (a clinic, hospital department, lab)."""

    name = models.CharField(max_length=200)
    npi = models.CharField(
        "NPI", max_length=10, unique=True, null=True, blank=True, validators=[validate_npi]
    )
    specialty = models.CharField(max_length=100, blank=True, db_index=True)
    in_network = models.BooleanField(default=True)
    accepting_new_patients = models.BooleanField(default=True)
    phone = models.CharField(max_length=32, blank=True)
    fax = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    address = models.CharField(max_length=300, blank=True)
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Practitioner(models.Model):
    """A clinician in the directory, who may receive referrals or be a patient's PCP."""

    npi = models.CharField("NPI", max_length=10, unique=True, validators=[validate_npi])
    family_name = models.CharField(max_length=100)
    given_name = models.CharField(max_length=100)
    specialty = models.CharField(max_length=100, db_index=True)
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="practitioners",
    )
    in_network = models.BooleanField(default=True)
    accepting_new_patients = models.BooleanField(default=True)
    languages = models.JSONField(default=list, blank=True, help_text="BCP-47 tags spoken.")
    phone = models.CharField(max_length=32, blank=True)
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["family_name", "given_name", "id"]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name} ({self.specialty})"


class ServiceLevelTarget(models.Model):
    """How long each step of a referral may take, per priority. Edited in the admin.

    A referral is overdue when its current step has taken longer than the target; that
    is computed from ``Referral.status_changed_at`` and these rows, never stored.
    """

    priority = models.CharField(max_length=8, choices=ReferralPriority, unique=True)
    accept_within = models.DurationField(help_text="From sent to accepted.")
    schedule_within = models.DurationField(help_text="From accepted (or no-show) to scheduled.")
    report_within = models.DurationField(help_text="From seen to report received.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["priority"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    accept_within__gt=ZERO, schedule_within__gt=ZERO, report_within__gt=ZERO
                ),
                name="%(app_label)s_%(class)s_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.priority} service levels"


class Referral(VersionedRecord):
    """A referral to another provider, tracked until the report is back (closed loop).

    ``status`` moves only through ``referrals.services``, which writes a
    :class:`ReferralEvent` for every transition.
    """

    # Fields readable only with the clinical section of the access policy, in every
    # representation: the record, its events' details, its history.
    section_fields: dict[str, list[str]] = {
        Section.REFERRAL_CLINICAL: [
            "reason",
            "report_from",
            "report_summary",
            "report_recommendations",
        ]
    }

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="referrals"
    )
    referring_practitioner = models.ForeignKey(
        Practitioner, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Indexed with the send time (Meta): the metrics count the out-of-network ones.
    receiving_organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals_received",
        db_index=False,
    )
    receiving_practitioner = models.ForeignKey(
        Practitioner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals_received",
        db_index=False,
    )
    specialty = models.CharField(max_length=100, db_index=True)
    priority = models.CharField(
        max_length=8, choices=ReferralPriority, default=ReferralPriority.ROUTINE
    )
    # ``priority`` as its place in the worklists' order (stat first), kept by save() and
    # held to it by a constraint: indexes can then read a bucket most urgent first.
    priority_rank = models.PositiveSmallIntegerField(
        editable=False, default=PRIORITY_RANK[ReferralPriority.ROUTINE]
    )
    status = models.CharField(max_length=16, choices=ReferralStatus, default=ReferralStatus.DRAFT)
    reason = models.TextField("clinical reason", max_length=4000)
    coordinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coordinated_referrals",
    )
    replaces = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
        help_text="The declined referral this one redirects to another provider.",
    )

    appointment_at = models.DateTimeField(null=True, blank=True)
    report_received_on = models.DateField(null=True, blank=True)
    report_from = models.CharField(max_length=200, blank=True)
    report_summary = models.TextField(max_length=10000, blank=True)
    report_recommendations = models.TextField(max_length=10000, blank=True)

    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    # Kept by the workflow from its events, for the metrics: the first time into each
    # state (the first booking for scheduled), and the visits and no-shows recorded.
    accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    scheduled_at = models.DateTimeField(null=True, blank=True, editable=False)
    seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    visits = models.PositiveSmallIntegerField(default=0, editable=False)
    no_shows = models.PositiveSmallIntegerField(default=0, editable=False)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # A worklist bucket in its order (priority, then how long in the state),
            # everyone's or one coordinator's; and overdue filters.
            models.Index(
                fields=["status", "priority_rank", "status_changed_at", "id"],
                name="referral_sla_idx",
            ),
            # With the visit time last: a coordinator's bucket counts read the index only.
            models.Index(
                fields=[
                    "coordinator",
                    "status",
                    "priority_rank",
                    "status_changed_at",
                    "id",
                    "appointment_at",
                ],
                name="referral_coordinator_idx",
            ),
            # The few that redirect a declined one (the team's declined bucket).
            models.Index(
                fields=["replaces"],
                condition=Q(replaces__isnull=False),
                name="referral_redirects_idx",
            ),
            # Scheduled ones by appointment time: the visits that passed.
            models.Index(
                fields=["status", "priority_rank", "appointment_at", "id"],
                condition=Q(status=ReferralStatus.SCHEDULED),
                name="referral_appointment_idx",
            ),
            models.Index(
                fields=["coordinator", "priority_rank", "appointment_at", "id"],
                condition=Q(status=ReferralStatus.SCHEDULED),
                name="referral_coordinator_visit_idx",
            ),
            models.Index(fields=["patient", "status"], name="referral_patient_idx"),
            models.Index(fields=["-created_at", "-id"], name="referral_created_idx"),
            # Referrals sent to a provider in a period: the metrics' out-of-network ones.
            models.Index(
                fields=["receiving_organization", "sent_at"], name="referral_organization_idx"
            ),
            models.Index(
                fields=["receiving_practitioner", "sent_at", "receiving_organization"],
                name="referral_practitioner_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=reduce(
                    operator.or_,
                    (Q(priority=p, priority_rank=rank) for p, rank in PRIORITY_RANK.items()),
                ),
                name="%(app_label)s_%(class)s_priority_rank",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReferralStatus.SCHEDULED) | Q(appointment_at__isnull=False),
                name="%(app_label)s_%(class)s_scheduled_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReferralStatus.CLOSED) | Q(report_received_on__isnull=False),
                name="%(app_label)s_%(class)s_closed_has_report",
            ),
            models.CheckConstraint(
                condition=Q(status=ReferralStatus.DRAFT)
                | Q(sent_at__isnull=False)
                | Q(status=ReferralStatus.CANCELLED),
                name="%(app_label)s_%(class)s_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Referral {self.pk} ({self.specialty}, {self.status})"

    def save(self, *args, **kwargs):
        self.priority_rank = PRIORITY_RANK[self.priority]
        fields = kwargs.get("update_fields")
        if fields is not None and "priority" in fields:
            kwargs["update_fields"] = {*fields, "priority_rank"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if (
            self.receiving_practitioner_id
            and self.receiving_organization_id
            and self.receiving_practitioner.organization_id
            not in (None, self.receiving_organization_id)
        ):
            raise ValidationError(
                {"receiving_practitioner": "Not a member of the receiving organization."}
            )


class ReferralEvent(TransitionEvent):
    """One transition of a referral (``referrals.workflow``). Append-only."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")

    class Meta(TransitionEvent.Meta):
        indexes = [
            models.Index(fields=["referral", "occurred_at"], name="referralevent_timeline_idx"),
            models.Index(fields=["to_status", "occurred_at"], name="referralevent_metrics_idx"),
        ]


class FollowUp(VersionedRecord):
    """A task to do for a patient by a person or a department queue, by a due time."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="follow_ups"
    )
    kind = models.CharField(max_length=32, choices=FollowUpKind, default=FollowUpKind.OTHER)
    title = models.CharField(max_length=200)
    note = models.TextField(max_length=4000, blank=True)
    due_at = models.DateTimeField()
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
    )
    queue = models.CharField(max_length=32, choices=Department, blank=True)
    priority = models.CharField(
        max_length=8, choices=FollowUpPriority, default=FollowUpPriority.MEDIUM
    )
    status = models.CharField(max_length=16, choices=FollowUpStatus, default=FollowUpStatus.OPEN)
    outcome = models.TextField(max_length=4000, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    interaction = models.ForeignKey(
        "interactions.Interaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
    )
    rule = models.CharField(
        max_length=32, blank=True, help_text="The care-continuity rule that created it, if any."
    )
    rule_key = models.CharField(
        max_length=100, blank=True, help_text="What the rule fired for; unique per rule."
    )
    contact_language = models.CharField(
        max_length=35, blank=True, help_text="Language to contact the patient in (BCP-47)."
    )
    contact_channel = models.CharField(max_length=16, choices=Channel, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "follow-up"
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["assigned_to", "status", "due_at"], name="followup_assignee_idx"),
            models.Index(fields=["queue", "status", "due_at"], name="followup_queue_idx"),
            models.Index(fields=["patient", "status", "due_at"], name="followup_patient_idx"),
            # With the owner last: a worklist's counts of the days read live (see
            # tallies) read the index only, not every follow-up due those days.
            models.Index(
                fields=["status", "due_at", "id", "assigned_to", "queue"],
                name="followup_due_idx",
            ),
            # Those that arose from a contact, by due time: the metrics take the
            # restricted ones a reader may not see off the tallies.
            models.Index(
                fields=["due_at"],
                condition=Q(interaction__isnull=False),
                name="followup_from_contact_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(assigned_to__isnull=False) | ~Q(queue=""),
                name="%(app_label)s_%(class)s_has_owner",
            ),
            models.CheckConstraint(
                condition=Q(status=FollowUpStatus.OPEN, completed_at__isnull=True)
                | (~Q(status=FollowUpStatus.OPEN) & Q(completed_at__isnull=False)),
                name="%(app_label)s_%(class)s_completed_iff_not_open",
            ),
            # A rule fires once per occasion, however often it runs.
            models.UniqueConstraint(
                fields=["rule", "rule_key"],
                condition=~Q(rule=""),
                name="%(app_label)s_%(class)s_rule_once",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def finish(self, status: str, *, by, outcome: str, at) -> None:
        """Mark done or cancelled (unsaved): who finished it, when, and how it went."""
        self.status = status
        self.outcome = outcome
        self.completed_at = at
        self.completed_by = by

    def clean(self) -> None:
        if not self.assigned_to_id and not self.queue:
            raise ValidationError({"assigned_to": "Assign the follow-up to a person or a queue."})
        for link in ("referral", "interaction"):
            linked = getattr(self, link)
            if linked is not None and linked.patient_id != self.patient_id:
                raise ValidationError({link: f"The {link} belongs to another patient."})


class ReferralTally(models.Model):
    """How many open referrals entered their status on a day (UTC; a scheduled one: its
    visit day), by priority. Kept by database triggers (``referrals.tallies``)."""

    status = models.CharField(max_length=16, choices=ReferralStatus)
    priority_rank = models.PositiveSmallIntegerField()
    day = models.DateField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["status", "priority_rank", "day"], name="referraltally_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.status}/{self.priority_rank} {self.day}: {self.n}"


class FollowUpTally(models.Model):
    """How many open follow-ups are due on a day (UTC), by assignee (a user id, 0 for
    none) and queue. Kept by database triggers (``referrals.tallies``)."""

    assignee = models.IntegerField()
    queue = models.CharField(max_length=32, choices=Department, blank=True)
    day = models.DateField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignee", "queue", "day"], name="followuptally_key")
        ]

    def __str__(self) -> str:
        return f"{self.assignee or self.queue} {self.day}: {self.n}"


class SentReferralTally(models.Model):
    """How many referrals were sent on a day (UTC) and, of them, how many have their
    report back, their visits and their no-shows: the referral metrics' cohort. Kept by
    database triggers (``referrals.tallies``)."""

    day = models.DateField(unique=True)
    n = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    visits = models.IntegerField(default=0)
    no_shows = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.n} sent"


class ReferralTimeTally(models.Model):
    """The times between states (``span``, a name of ``referrals.tallies.SPANS``) of the
    referrals sent in a week (UTC, from its Monday), counted in duration bins
    (``crm.db``) with their seconds: a week's bins are fewer rows than its days' would
    be. Kept by database triggers (``referrals.tallies``)."""

    span = models.CharField(max_length=32)
    week = models.DateField()
    bin = models.IntegerField()
    n = models.IntegerField(default=0)
    seconds = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["span", "week", "bin"], name="referraltimetally_key")
        ]
        # The metrics read a period's weeks and sum each span's bins: index-only.
        indexes = [
            models.Index(
                fields=["week", "span", "bin", "n", "seconds"], name="referraltimetally_week_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.span} {self.week} bin {self.bin}: {self.n}"


class DueFollowUpTally(models.Model):
    """How many follow-ups, not cancelled, fall due on a day (UTC), and how many of them
    were done by their due time. Kept by database triggers (``referrals.tallies``)."""

    day = models.DateField(unique=True)
    n = models.IntegerField(default=0)
    on_time = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.n} due"
