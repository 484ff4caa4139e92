from datetime import timedelta

from django.db import migrations

# priority: (first response within, resolve within)
DEFAULTS = {
    "urgent": (timedelta(hours=4), timedelta(days=2)),
    "high": (timedelta(days=1), timedelta(days=7)),
    "medium": (timedelta(days=2), timedelta(days=14)),
}


def create_defaults(apps, schema_editor):
    ComplaintServiceLevel = apps.get_model("interactions", "ComplaintServiceLevel")
    for priority, (first_response, resolve) in DEFAULTS.items():
        ComplaintServiceLevel.objects.get_or_create(
            priority=priority,
            defaults={"first_response_within": first_response, "resolve_within": resolve},
        )


class Migration(migrations.Migration):
    dependencies = [("interactions", "0003_experience")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
