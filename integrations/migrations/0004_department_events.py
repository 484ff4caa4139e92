"""Department events (pharmacy, lab, billing), followed by the change feed like the
record types of migration 0001."""

from importlib import import_module

import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models


initial = import_module("integrations.migrations.0001_initial")
FOLLOWED = [("integrations.DepartmentEvent", "DepartmentEvent", "id", "patient_id")]


def _install(apps, schema_editor):
    initial.install_triggers(apps, schema_editor, FOLLOWED)


def _remove(apps, schema_editor):
    initial.remove_triggers(apps, schema_editor, FOLLOWED)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0003_exports"),
        ("messaging", "0006_self_service_pages"),
        ("patients", "0009_self_service_pages"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="HistoricalDepartmentEvent",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                ("version", models.PositiveIntegerField(default=1, editable=False)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("prescription_ready", "Prescription ready for pickup"),
                            ("refill_due", "Refill due"),
                            ("result_available", "Test result available"),
                            ("statement_issued", "Statement issued"),
                            ("payment_plan_agreed", "Payment plan agreed"),
                            ("claim_denied", "Insurance claim denied"),
                        ],
                        max_length=24,
                    ),
                ),
                (
                    "department",
                    models.CharField(
                        choices=[
                            ("care_coordination", "Care coordination"),
                            ("billing", "Billing"),
                            ("pharmacy", "Pharmacy"),
                            ("front_desk", "Front desk"),
                            ("contact_center", "Contact center"),
                            ("clinical", "Clinical"),
                        ],
                        editable=False,
                        max_length=32,
                    ),
                ),
                ("occurred_at", models.DateTimeField()),
                (
                    "title",
                    models.CharField(
                        blank=True,
                        help_text="What it is about: a medicine, a test, a bill.",
                        max_length=200,
                    ),
                ),
                (
                    "location",
                    models.CharField(
                        blank=True,
                        help_text="Where the patient goes (a pickup counter).",
                        max_length=200,
                    ),
                ),
                (
                    "reference",
                    models.CharField(
                        blank=True, help_text="The department's number for it.", max_length=100
                    ),
                ),
                (
                    "source",
                    models.SlugField(
                        blank=True, help_text="The system that sent it.", max_length=40
                    ),
                ),
                (
                    "external_id",
                    models.CharField(blank=True, help_text="Its id there.", max_length=100),
                ),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")],
                        max_length=1,
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "message",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="messaging.message",
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="patients.patient",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical department event",
                "verbose_name_plural": "historical department events",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="DepartmentEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.PositiveIntegerField(default=1, editable=False)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("prescription_ready", "Prescription ready for pickup"),
                            ("refill_due", "Refill due"),
                            ("result_available", "Test result available"),
                            ("statement_issued", "Statement issued"),
                            ("payment_plan_agreed", "Payment plan agreed"),
                            ("claim_denied", "Insurance claim denied"),
                        ],
                        max_length=24,
                    ),
                ),
                (
                    "department",
                    models.CharField(
                        choices=[
                            ("care_coordination", "Care coordination"),
                            ("billing", "Billing"),
                            ("pharmacy", "Pharmacy"),
                            ("front_desk", "Front desk"),
                            ("contact_center", "Contact center"),
                            ("clinical", "Clinical"),
                        ],
                        editable=False,
                        max_length=32,
                    ),
                ),
                ("occurred_at", models.DateTimeField()),
                (
                    "title",
                    models.CharField(
                        blank=True,
                        help_text="What it is about: a medicine, a test, a bill.",
                        max_length=200,
                    ),
                ),
                (
                    "location",
                    models.CharField(
                        blank=True,
                        help_text="Where the patient goes (a pickup counter).",
                        max_length=200,
                    ),
                ),
                (
                    "reference",
                    models.CharField(
                        blank=True, help_text="The department's number for it.", max_length=100
                    ),
                ),
                (
                    "source",
                    models.SlugField(
                        blank=True, help_text="The system that sent it.", max_length=40
                    ),
                ),
                (
                    "external_id",
                    models.CharField(blank=True, help_text="Its id there.", max_length=100),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "message",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="messaging.message",
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="department_events",
                        to="patients.patient",
                    ),
                ),
            ],
            options={
                "ordering": ["-occurred_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["patient", "-occurred_at", "-id"],
                        name="department_event_patient_idx",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("external_id", ""), _negated=True),
                        fields=("source", "external_id"),
                        name="integrations_departmentevent_source_id",
                    )
                ],
            },
        ),
        migrations.RunPython(_install, _remove),
    ]
