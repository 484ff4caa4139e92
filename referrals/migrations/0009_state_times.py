"""The first time into each state and the visits and no-shows, kept on the referral for
the metrics, set here from the events of existing referrals. SQLite rebuilds the table
to add the columns and drops its triggers: they are put back (the change feed's and the
tallies')."""

from importlib import import_module

from django.db import migrations, models

from referrals import tallies
from referrals.metrics import count_state_times

feed = import_module("integrations.migrations.0005_triggers_after_table_rebuilds")


def forwards(apps, schema_editor):
    feed.reinstall(apps, schema_editor)
    if schema_editor.connection.vendor == "sqlite":
        tallies.install(schema_editor, tallies.WORKLIST_TALLIES)
    count_state_times(using=schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0008_open_tallies"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalreferral",
            name="accepted_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="historicalreferral",
            name="closed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="historicalreferral",
            name="no_shows",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="historicalreferral",
            name="scheduled_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="historicalreferral",
            name="seen_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="historicalreferral",
            name="visits",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="referral",
            name="accepted_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="referral",
            name="closed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="referral",
            name="no_shows",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="referral",
            name="scheduled_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="referral",
            name="seen_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="referral",
            name="visits",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
