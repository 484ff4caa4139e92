"""Search by the given name's sound too (``Patient.given_key``, set here for every
patient), and rank by edit distance on PostgreSQL: fuzzystrmatch's levenshtein over
names with their accents taken off by unaccent. Both extensions are trusted, so the
database's owner may create them; SQLite skips them. SQLite rebuilds the patient table
to add the column and drops its triggers: the change feed's are put back."""

from importlib import import_module

from django.contrib.postgres.operations import CreateExtension, UnaccentExtension
from django.db import migrations, models

from patients.matching import phonetic_key

feed = import_module("integrations.migrations.0005_triggers_after_table_rebuilds")

BATCH = 1000


def set_given_keys(apps, schema_editor):
    """One UPDATE per thousand distinct given names (a join with their sounds), not one
    per patient: a million patients carry some thousands of given names. A derived key
    is not a change of the record: the change feed's trigger is off meanwhile (on
    SQLite it is put back after this). Turning it off locks the table against writes
    until the migration commits, so no one else's change goes unrecorded."""
    Patient = apps.get_model("patients", "Patient")
    table = schema_editor.quote_name(Patient._meta.db_table)
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:
        schema_editor.execute(f"ALTER TABLE {table} DISABLE TRIGGER integrations_change")
    names = list(
        Patient.objects.order_by("given_name").values_list("given_name", flat=True).distinct()
    )
    for start in range(0, len(names), BATCH):
        batch = [(name, phonetic_key(name)) for name in names[start : start + BATCH]]
        schema_editor.execute(
            f"WITH sounds (name, key) AS (VALUES {', '.join(['(%s, %s)'] * len(batch))})"
            f" UPDATE {table} SET given_key = sounds.key FROM sounds"
            f" WHERE {table}.given_name = sounds.name",
            [value for pair in batch for value in pair],
        )
    if postgresql:
        schema_editor.execute(f"ALTER TABLE {table} ENABLE TRIGGER integrations_change")


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0012_search_keys"),
        ("integrations", "0005_triggers_after_table_rebuilds"),
    ]

    operations = [
        CreateExtension("fuzzystrmatch"),
        UnaccentExtension(),
        migrations.AddField(
            model_name="patient",
            name="given_key",
            field=models.CharField(default="", editable=False, max_length=16),
        ),
        migrations.RunPython(set_given_keys, migrations.RunPython.noop),
        migrations.RunPython(feed.reinstall, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["family_key", "given_key"], name="patient_sounds_idx"),
        ),
    ]
