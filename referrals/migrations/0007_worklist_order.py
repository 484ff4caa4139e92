"""A referral's priority as its place in the worklists' order (``priority_rank``, set
for existing rows here), and indexes that read each worklist bucket in that order.
SQLite rebuilds the table to add the column and drops its change triggers: they are put
back (integrations 0005)."""

from importlib import import_module

from django.conf import settings
from django.db import migrations, models

from crm.db import triggers_off

triggers = import_module("integrations.migrations.0005_triggers_after_table_rebuilds")

SET_RANKS = """
UPDATE referrals_referral SET priority_rank = CASE priority
    WHEN 'stat' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END
WHERE priority_rank <> CASE priority WHEN 'stat' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END
"""


def set_ranks(apps, schema_editor):
    """The ranks of existing referrals, without change-feed rows: nothing a reader sees
    changes."""
    with schema_editor.connection.cursor() as cursor:
        with triggers_off(cursor, "referrals_referral"):
            cursor.execute(SET_RANKS)


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0012_search_keys"),
        ("referrals", "0006_follow_up_kind_answer_message"),
        ("integrations", "0005_triggers_after_table_rebuilds"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="referral",
            name="referral_sla_idx",
        ),
        migrations.RemoveIndex(
            model_name="referral",
            name="referral_coordinator_idx",
        ),
        migrations.AddField(
            model_name="referral",
            name="priority_rank",
            field=models.PositiveSmallIntegerField(default=2, editable=False),
        ),
        migrations.RunPython(set_ranks, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                fields=["status", "priority_rank", "status_changed_at", "id"],
                name="referral_sla_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                fields=["coordinator", "status", "priority_rank", "status_changed_at", "id"],
                name="referral_coordinator_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(("replaces__isnull", False)),
                fields=["replaces"],
                name="referral_redirects_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(("status", "scheduled")),
                fields=["status", "priority_rank", "appointment_at", "id"],
                name="referral_appointment_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="referral",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("priority", "stat"), ("priority_rank", 0)),
                    models.Q(("priority", "urgent"), ("priority_rank", 1)),
                    models.Q(("priority", "routine"), ("priority_rank", 2)),
                    _connector="OR",
                ),
                name="referrals_referral_priority_rank",
            ),
        ),
        migrations.RunPython(triggers.reinstall, migrations.RunPython.noop),
    ]
