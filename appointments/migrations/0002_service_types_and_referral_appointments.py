"""The first service types with their reminders (edited in the admin afterwards), and
an appointment for every referral that has an appointment time, in the state the
referral says it is in."""

import datetime

from django.db import migrations

DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)
# code, name, minutes, check-in call, survey after the visit, reminders.
SERVICE_TYPES = [
    ("specialist-visit", "Specialist visit", 30, False, False, [2 * DAY]),
    ("new-patient", "New patient visit", 45, False, True, [7 * DAY, 2 * DAY, 2 * HOUR]),
    ("follow-up", "Follow-up visit", 20, False, True, [2 * DAY, 2 * HOUR]),
    ("procedure", "Procedure", 60, True, True, [7 * DAY, 2 * DAY]),
]
# A referral's status, as its appointment's.
FROM_REFERRAL = {
    "scheduled": "booked",
    "no_show": "noshow",
    "seen": "fulfilled",
    "closed": "fulfilled",
    "cancelled": "cancelled",
}


def forward(apps, schema_editor):
    ServiceType = apps.get_model("appointments", "ServiceType")
    Reminder = apps.get_model("appointments", "Reminder")
    Appointment = apps.get_model("appointments", "Appointment")
    AppointmentEvent = apps.get_model("appointments", "AppointmentEvent")
    Referral = apps.get_model("referrals", "Referral")
    types = {}
    for code, name, minutes, check_in, survey, reminders in SERVICE_TYPES:
        types[code], _ = ServiceType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "minutes": minutes,
                "check_in_call": check_in,
                "survey_after_visit": survey,
            },
        )
        for before in reminders:
            Reminder.objects.get_or_create(service_type=types[code], before=before)
    specialist = types["specialist-visit"]
    referrals = Referral.objects.filter(
        appointment_at__isnull=False, status__in=list(FROM_REFERRAL)
    ).order_by("pk")
    for start in range(0, referrals.count(), 2000):
        batch = list(referrals[start : start + 2000])
        made = Appointment.objects.bulk_create(
            Appointment(
                patient_id=r.patient_id,
                service_type=specialist,
                practitioner_id=r.receiving_practitioner_id,
                organization_id=r.receiving_organization_id,
                department=r.specialty,
                start=r.appointment_at,
                end=r.appointment_at + datetime.timedelta(minutes=specialist.minutes),
                status=FROM_REFERRAL[r.status],
                status_changed_at=r.status_changed_at,
                booked_at=r.status_changed_at if r.status == "scheduled" else None,
                source="referral",
                referral_id=r.pk,
                created_at=r.status_changed_at,
            )
            for r in batch
        )
        AppointmentEvent.objects.bulk_create(
            AppointmentEvent(
                appointment=appointment,
                action="create",
                to_status=appointment.status,
                occurred_at=appointment.created_at,
                details={"by": "referral", "from": "the referral's appointment time"},
            )
            for appointment in made
        )


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0001_initial"),
        ("referrals", "0006_follow_up_kind_answer_message"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
