"""The migration that makes every referral's appointment time an appointment, run on
data written by the code before it."""

import datetime as dt

import pytest

from tests.migrations import migrate

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migrated_back")]

BEFORE = [
    ("patients", "0006_consent_source_patient_reply"),
    ("appointments", "0001_initial"),
    ("messaging", "0003_message_appointment_alter_message_keyword"),
]
AFTER = [
    ("patients", "0008_patient_links"),
    ("appointments", "0002_service_types_and_referral_appointments"),
    ("messaging", "0004_link_messages_to_appointments"),
]
VISIT = dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC)


def test_referrals_with_an_appointment_time_get_their_appointment_in_the_same_state():
    old = migrate(BEFORE)
    Patient = old.get_model("patients", "Patient")
    Referral = old.get_model("referrals", "Referral")
    Message = old.get_model("messaging", "Message")
    patient = Patient.objects.create(
        mrn="M1", given_name="Ana", family_name="Lee", birth_date="1980-01-01"
    )
    changed = dt.datetime(2026, 11, 20, 15, tzinfo=dt.UTC)
    made = {
        status: Referral.objects.create(
            patient=patient,
            specialty="Cardiology",
            status=status,
            appointment_at=VISIT if status != "accepted" else None,
            status_changed_at=changed,
            sent_at=changed - dt.timedelta(days=5),
            report_received_on=dt.date(2026, 12, 2) if status == "closed" else None,
        )
        for status in ("scheduled", "no_show", "closed", "cancelled", "accepted")
    }
    Message.objects.create(
        patient=patient,
        referral=made["scheduled"],
        channel="sms",
        direction="outbound",
        purpose="appointment_reminders",
        department="care_coordination",
        template="appointment_reminder",
        rule="appointment_reminder",
        occasion="old",
        body="Reminder",
        sender="rule",
    )

    new = migrate(AFTER)
    Appointment = new.get_model("appointments", "Appointment")
    states = dict(Appointment.objects.values_list("referral_id", "status"))
    assert states == {
        made["scheduled"].pk: "booked",
        made["no_show"].pk: "noshow",
        made["closed"].pk: "fulfilled",
        made["cancelled"].pk: "cancelled",
    }
    booked = Appointment.objects.get(referral_id=made["scheduled"].pk)
    assert (booked.start, booked.service_type.code, booked.source) == (
        VISIT,
        "specialist-visit",
        "referral",
    )
    assert booked.end - booked.start == dt.timedelta(minutes=30)
    assert list(booked.events.values_list("action", "to_status")) == [("create", "booked")]
    Message = new.get_model("messaging", "Message")
    assert Message.objects.get(occasion="old").appointment_id == booked.pk
    ServiceType = new.get_model("appointments", "ServiceType")
    reminders = ServiceType.objects.get(code="new-patient").reminders.values_list(
        "before", flat=True
    )
    assert sorted(reminders, reverse=True) == [
        dt.timedelta(days=7),
        dt.timedelta(days=2),
        dt.timedelta(hours=2),
    ]
