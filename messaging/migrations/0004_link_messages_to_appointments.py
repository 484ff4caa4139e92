"""The messages already written about a referral's appointment belong to it now."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def forward(apps, schema_editor):
    Message = apps.get_model("messaging", "Message")
    Appointment = apps.get_model("appointments", "Appointment")
    latest = (
        Appointment.objects.filter(referral_id=OuterRef("referral_id"))
        .order_by("-start", "-id")
        .values("pk")[:1]
    )
    Message.objects.filter(
        referral__isnull=False, rule__in=["appointment_reminder", "referral_scheduled"]
    ).update(appointment_id=Subquery(latest))


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0003_message_appointment_alter_message_keyword"),
        ("appointments", "0002_service_types_and_referral_appointments"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
