"""The referral metrics' tallies (``referrals.tallies``): referrals sent and follow-ups
due per day, and the times between states per week in duration bins, counted from the
rows already there. The receiving organization and practitioner are indexed with the
send time instead of alone; SQLite rebuilds the referral table for that and drops its
triggers: they are put back (the change feed's and the worklist tallies')."""

from importlib import import_module

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from referrals import tallies

feed = import_module("integrations.migrations.0005_triggers_after_table_rebuilds")

METRIC_TALLIES = (
    "referrals_referral_sent",
    "referrals_followup_due",
    "referrals_referral_sent_to_accepted",
    "referrals_referral_accepted_to_scheduled",
    "referrals_referral_seen_to_closed",
    "referrals_referral_sent_to_closed",
)


def reinstall_after_rebuild(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        feed.reinstall(apps, schema_editor)
        tallies.install(schema_editor, tallies.WORKLIST_TALLIES)


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0005_triggers_after_table_rebuilds'),
        ('interactions', '0007_first_reply'),
        ('patients', '0012_search_keys'),
        ('referrals', '0010_worklist_counts'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='DueFollowUpTally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField(unique=True)),
                ('n', models.IntegerField(default=0)),
                ('on_time', models.IntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='ReferralTimeTally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('span', models.CharField(max_length=32)),
                ('week', models.DateField()),
                ('bin', models.IntegerField()),
                ('n', models.IntegerField(default=0)),
                ('seconds', models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='SentReferralTally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField(unique=True)),
                ('n', models.IntegerField(default=0)),
                ('closed', models.IntegerField(default=0)),
                ('visits', models.IntegerField(default=0)),
                ('no_shows', models.IntegerField(default=0)),
            ],
        ),
        migrations.AlterField(
            model_name='referral',
            name='receiving_organization',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='referrals_received', to='referrals.organization'),
        ),
        migrations.AlterField(
            model_name='referral',
            name='receiving_practitioner',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='referrals_received', to='referrals.practitioner'),
        ),
        migrations.AddIndex(
            model_name='followup',
            index=models.Index(condition=models.Q(('interaction__isnull', False)), fields=['due_at'], name='followup_from_contact_idx'),
        ),
        migrations.AddIndex(
            model_name='referral',
            index=models.Index(fields=['receiving_organization', 'sent_at'], name='referral_organization_idx'),
        ),
        migrations.AddIndex(
            model_name='referral',
            index=models.Index(fields=['receiving_practitioner', 'sent_at', 'receiving_organization'], name='referral_practitioner_idx'),
        ),
        migrations.AddIndex(
            model_name='referraltimetally',
            index=models.Index(fields=['week', 'span', 'bin', 'n', 'seconds'], name='referraltimetally_week_idx'),
        ),
        migrations.AddConstraint(
            model_name='referraltimetally',
            constraint=models.UniqueConstraint(fields=('span', 'week', 'bin'), name='referraltimetally_key'),
        ),
        migrations.RunPython(reinstall_after_rebuild, migrations.RunPython.noop),
        tallies.migration(METRIC_TALLIES),
    ]
