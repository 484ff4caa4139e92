"""The patient index: the family name's sound on each record (filled in here for
the records there are), possible duplicates and the population scan's progress."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def fill_family_keys(apps, schema_editor):
    from patients.matching import phonetic_key

    Patient = apps.get_model("patients", "Patient")
    batch = []
    for patient in Patient.objects.only("id", "family_name").iterator(chunk_size=2000):
        patient.family_key = phonetic_key(patient.family_name)
        batch.append(patient)
        if len(batch) == 2000:
            Patient.objects.bulk_update(batch, ["family_key"])
            batch = []
    Patient.objects.bulk_update(batch, ["family_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0009_self_service_pages"),
        ("referrals", "0006_follow_up_kind_answer_message"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DuplicateCandidate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("score", models.FloatField()),
                (
                    "evidence",
                    models.JSONField(default=list, help_text="[{field, outcome, weight}, ...]"),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "To review"),
                            ("merged", "Merged"),
                            ("distinct", "Two people"),
                        ],
                        default="open",
                        max_length=16,
                    ),
                ),
                ("found_by", models.CharField(help_text="scan or registration", max_length=16)),
                ("found_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-score", "id"],
            },
        ),
        migrations.CreateModel(
            name="DuplicateScan",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("years_done_through", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("contacts_done", models.BooleanField(default=False)),
                ("compared", models.PositiveBigIntegerField(default=0)),
                (
                    "found",
                    models.PositiveIntegerField(
                        default=0, help_text="Open pairs on the worklist when it finished."
                    ),
                ),
            ],
            options={
                "ordering": ["-started_at", "-id"],
            },
        ),
        migrations.AddField(
            model_name="patient",
            name="family_key",
            field=models.CharField(default="", editable=False, max_length=16),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["family_key", "birth_date"], name="patient_family_key_idx"),
        ),
        migrations.AddField(
            model_name="duplicatecandidate",
            name="decided_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="duplicatecandidate",
            name="other",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="patients.patient",
            ),
        ),
        migrations.AddField(
            model_name="duplicatecandidate",
            name="patient",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="patients.patient",
            ),
        ),
        migrations.AddIndex(
            model_name="duplicatecandidate",
            index=models.Index(fields=["status", "-score", "id"], name="duplicate_worklist_idx"),
        ),
        migrations.AddConstraint(
            model_name="duplicatecandidate",
            constraint=models.UniqueConstraint(
                fields=("patient", "other"), name="patients_duplicatecandidate_one_per_pair"
            ),
        ),
        migrations.AddConstraint(
            model_name="duplicatecandidate",
            constraint=models.CheckConstraint(
                condition=models.Q(("patient__lt", models.F("other"))),
                name="patients_duplicatecandidate_ordered_pair",
            ),
        ),
        migrations.RunPython(fill_family_keys, migrations.RunPython.noop),
    ]
