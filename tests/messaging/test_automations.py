"""The messages a referral's life sends by itself: the booking confirmation at once,
the reminder two days before the visit, in the patient's language and hours; a to-do
for the coordinator only when no message can go."""

import datetime as dt

import pytest
import time_machine

from messaging.models import Message
from messaging.services import LINK_MASK, dispatch_due
from patients.models import CommunicationConsent
from referrals import services
from referrals.models import FollowUp
from tests.factories import PatientFactory
from tests.messaging.conftest import reachable_patient
from tests.referrals.deck import at
from tests.referrals.helpers import walk

pytestmark = pytest.mark.django_db

NOW = at(11, 16, 15)  # a Monday, 10:00 in New York
VISIT = at(11, 25, 15)


def scheduled(actor, appointment=VISIT, **fields):
    with time_machine.travel(NOW, tick=False):
        return walk(
            actor,
            [
                ("create", at(11, 1), {}),
                ("send", at(11, 2), {}),
                ("accept", at(11, 3), {}),
                ("schedule", NOW, {"appointment_at": appointment}),
            ],
            **fields,
        )


def messages(referral, **filters):
    return list(Message.objects.filter(referral=referral, **filters).order_by("id"))


def sms_opt_out(patient, **dates):
    return CommunicationConsent.objects.create(
        patient=patient,
        channel="sms",
        purpose="appointment_reminders",
        status="opt_out",
        source="portal",
        **dates,
    )


def test_scheduling_confirms_now_and_reminds_two_days_before_in_the_patients_language(
    coordinator, sms_provider
):
    patient = reachable_patient("vi", preferred_channel="sms")
    referral = scheduled(coordinator, patient=patient, coordinator=coordinator)
    confirmation, reminder = messages(referral)
    assert (confirmation.rule, confirmation.status) == ("referral_scheduled", "queued")
    assert confirmation.send_after == NOW
    assert (reminder.rule, reminder.channel, reminder.language_used) == (
        "appointment_reminder",
        "sms",
        "vi",
    )
    assert reminder.send_after == VISIT - dt.timedelta(days=2)
    appointment = referral.appointments.get()
    assert reminder.appointment == confirmation.appointment == appointment
    assert reminder.sender == "rule" and reminder.occasion.startswith(
        f"appointment:{appointment.pk}:"
    )
    assert "lúc" in reminder.body  # "at", with the time in the patient's zone
    assert not FollowUp.objects.filter(referral=referral, rule="appointment_reminder").exists()

    # The reminder goes out by itself when it is due.
    with time_machine.travel(VISIT - dt.timedelta(days=2, seconds=-1), tick=False):
        assert dispatch_due() == {"hand_off": 2}
    first, second = sms_provider.sent
    assert first.body == confirmation.body
    # The stored copy masks the link the patient answers at; the patient gets it.
    masked, link = reminder.body.split(LINK_MASK)[0], "http://testserver/visit/"
    assert second.body.startswith(masked + link)


def test_an_sms_opt_out_falls_back_to_email(coordinator):
    patient = reachable_patient(preferred_channel="sms")
    sms_opt_out(patient)
    referral = scheduled(coordinator, patient=patient)
    assert {m.channel for m in messages(referral)} == {"email"}


@pytest.mark.parametrize(
    "dates",
    [
        {"effective_to": dt.date(2026, 10, 17)},  # ended 30 days before NOW
        {"effective_from": dt.date(2026, 12, 1)},  # starts after NOW
    ],
    ids=["expired", "future"],
)
def test_an_opt_out_not_in_effect_does_not_change_the_channel(coordinator, dates):
    patient = reachable_patient(preferred_channel="sms")
    sms_opt_out(patient, **dates)
    referral = scheduled(coordinator, patient=patient)
    assert {m.channel for m in messages(referral)} == {"sms"}


def test_when_no_message_can_go_the_coordinator_gets_one_reminder_to_do_saying_why(coordinator):
    patient = PatientFactory(preferred_channel="sms", interpreter_needed="yes")  # no address
    referral = scheduled(coordinator, patient=patient, coordinator=coordinator)
    assert {m.status for m in messages(referral)} == {"refused"}
    assert {m.refusal_code for m in messages(referral)} == {"no_address"}
    [reminder] = FollowUp.objects.filter(referral=referral, rule="appointment_reminder")
    assert reminder.assigned_to == coordinator and reminder.status == "open"
    assert "No usable" in reminder.note and "Interpreter needed" in reminder.note


def test_rescheduling_cancels_what_was_queued_for_the_old_time(coordinator):
    patient = reachable_patient()
    referral = scheduled(coordinator, patient=patient)
    old = messages(referral)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        services.referral_schedule(
            referral=referral, actor=coordinator, appointment_at=at(11, 28, 15)
        )
    for message in old:
        message.refresh_from_db()
        assert message.status == "cancelled" and "rescheduled" not in message.status_reason
    new = messages(referral, status="queued")
    assert len(new) == 2
    assert max(m.send_after for m in new) == at(11, 26, 15)


def test_a_cancelled_referral_sends_no_reminder(coordinator):
    referral = scheduled(coordinator, patient=reachable_patient())
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        services.referral_cancel(
            referral=referral, actor=coordinator, reason="Patient moved away."
        )
    assert {m.status for m in messages(referral)} == {"cancelled"}


def test_a_visit_within_two_days_gets_the_confirmation_only(coordinator):
    referral = scheduled(
        coordinator, appointment=NOW + dt.timedelta(days=1), patient=reachable_patient()
    )
    assert [m.rule for m in messages(referral)] == ["referral_scheduled"]
