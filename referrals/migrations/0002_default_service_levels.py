from datetime import timedelta

from django.db import migrations

DEFAULTS = {
    "stat": (timedelta(hours=4), timedelta(days=1), timedelta(days=14)),
    "urgent": (timedelta(days=1), timedelta(days=3), timedelta(days=14)),
    "routine": (timedelta(days=3), timedelta(days=14), timedelta(days=14)),
}


def create_defaults(apps, schema_editor):
    ServiceLevelTarget = apps.get_model("referrals", "ServiceLevelTarget")
    for priority, (accept, schedule, report) in DEFAULTS.items():
        ServiceLevelTarget.objects.get_or_create(
            priority=priority,
            defaults={
                "accept_within": accept,
                "schedule_within": schedule,
                "report_within": report,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
