"""SQLite rebuilds a table to alter it (patients 0010 added the family name's sound,
appointments 0003 widened the source) and drops its triggers with it: the change
triggers of every followed table are put back. PostgreSQL alters tables in place and
keeps them; there this does nothing. A later migration that alters a followed table
on SQLite does the same (``reinstall`` below)."""

from importlib import import_module

from django.db import migrations

initial = import_module("integrations.migrations.0001_initial")
events = import_module("integrations.migrations.0004_department_events")


def reinstall(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    followed = initial.FOLLOWED + events.FOLLOWED
    initial.remove_triggers(apps, schema_editor, followed)
    initial.install_triggers(apps, schema_editor, followed)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0004_department_events"),
        ("patients", "0011_patient_merge"),
        ("appointments", "0003_appointment_source_uri"),
    ]

    operations = [migrations.RunPython(reinstall, migrations.RunPython.noop)]
