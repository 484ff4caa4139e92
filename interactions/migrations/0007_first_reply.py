"""Each inbound contact's first reply, kept by triggers (``interactions.replies``) and set
here from the existing replies, before the index that holds it is built. The change
feed stops reporting updates that change only such derived columns: on PostgreSQL its
function is replaced, on SQLite its triggers are put back."""

from importlib import import_module

from django.db import migrations, models

from interactions import replies

initial = import_module("integrations.migrations.0001_initial")
feed = import_module("integrations.migrations.0005_triggers_after_table_rebuilds")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(initial.POSTGRES_FUNCTION)
    feed.reinstall(apps, schema_editor)
    replies.install(schema_editor)
    replies.rebuild(using=schema_editor.connection)


def backwards(apps, schema_editor):
    replies.uninstall(schema_editor)
    if schema_editor.connection.vendor == "sqlite":
        # Its change triggers name the column: off until they are put back without it.
        interaction = [entry for entry in initial.FOLLOWED if entry[1] == "Interaction"]
        initial.remove_triggers(apps, schema_editor, interaction)


class Migration(migrations.Migration):
    dependencies = [
        ("interactions", "0006_survey_languages"),
        ("integrations", "0005_triggers_after_table_rebuilds"),
        # Every followed table as it is now, for the change triggers put back on SQLite.
        ("patients", "0012_search_keys"),
        ("referrals", "0009_state_times"),
        ("appointments", "0003_appointment_source_uri"),
        ("messaging", "0007_department_event_templates"),
    ]

    operations = [
        # Backwards, last: the change triggers as they were (SQLite).
        migrations.RunPython(migrations.RunPython.noop, feed.reinstall),
        migrations.AddField(
            model_name="interaction",
            name="first_reply_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AddIndex(
            model_name="interaction",
            index=models.Index(
                condition=models.Q(("direction", "inbound")),
                fields=[
                    "occurred_at",
                    "channel",
                    "department",
                    "sensitivity",
                    "first_reply_at",
                    "patient",
                ],
                name="interaction_inbound_idx",
            ),
        ),
    ]
