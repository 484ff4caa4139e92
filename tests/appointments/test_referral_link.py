"""A referral's appointment is an appointment, kept in step with the referral both
ways, and each change stops after one round."""

import datetime as dt

import pytest
import time_machine

from appointments import services
from referrals import services as referral_services
from referrals.models import FollowUp
from tests.messaging.conftest import reachable_patient
from tests.referrals.deck import at
from tests.referrals.helpers import walk

pytestmark = pytest.mark.django_db

NOW = at(11, 16, 15)
VISIT = at(11, 25, 15)


def scheduled(actor, **fields):
    with time_machine.travel(NOW, tick=False):
        return walk(
            actor,
            [
                ("create", at(11, 1), {}),
                ("send", at(11, 2), {}),
                ("accept", at(11, 3), {}),
                ("schedule", NOW, {"appointment_at": VISIT}),
            ],
            patient=reachable_patient(),
            **fields,
        )


def test_scheduling_a_referral_books_its_appointment(coordinator):
    referral = scheduled(coordinator)
    [appointment] = referral.appointments.all()
    assert (appointment.source, appointment.status, appointment.start) == (
        "referral",
        "booked",
        VISIT,
    )
    assert appointment.service_type.code == "specialist-visit"
    assert appointment.organization == referral.receiving_organization
    assert appointment.department == referral.specialty
    assert appointment.events.get().details == {"by": "referral"}


def test_rescheduling_the_referral_moves_the_same_appointment(coordinator):
    referral = scheduled(coordinator)
    later = VISIT + dt.timedelta(days=2)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        referral_services.referral_schedule(
            referral=referral, actor=coordinator, appointment_at=later
        )
    [appointment] = referral.appointments.all()
    assert appointment.start == later
    assert [e.action for e in appointment.events.all()] == ["create", "reschedule"]


def test_the_scheduling_system_moving_the_appointment_moves_the_referral(coordinator):
    referral = scheduled(coordinator)
    appointment = referral.appointments.get()
    later = VISIT + dt.timedelta(days=3)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        services.appointment_reschedule(appointment=appointment, actor=coordinator, start=later)
    referral.refresh_from_db()
    assert referral.appointment_at == later and referral.status == "scheduled"
    assert referral.events.last().reason == "Moved in the scheduling system."
    # One round: the referral's step did not move the appointment again.
    assert [e.action for e in appointment.events.all()] == ["create", "reschedule"]


def test_a_visit_recorded_on_the_appointment_is_recorded_on_the_referral(coordinator):
    referral = scheduled(coordinator)
    with time_machine.travel(VISIT + dt.timedelta(hours=1), tick=False):
        services.appointment_fulfil(appointment=referral.appointments.get(), actor=coordinator)
    referral.refresh_from_db()
    assert referral.status == "seen"
    assert referral.appointments.get().status == "fulfilled"


def test_a_no_show_on_the_referral_misses_the_appointment_and_asks_once_to_rebook(coordinator):
    referral = scheduled(coordinator)
    with time_machine.travel(VISIT + dt.timedelta(hours=1), tick=False):
        referral_services.referral_no_show(referral=referral, actor=coordinator)
    assert referral.appointments.get().status == "noshow"
    assert FollowUp.objects.filter(patient=referral.patient, kind="rebook").count() == 1
    # Rebooking books a new appointment; the missed one stays missed.
    with time_machine.travel(VISIT + dt.timedelta(days=1), tick=False):
        referral_services.referral_schedule(
            referral=referral, actor=coordinator, appointment_at=VISIT + dt.timedelta(days=7)
        )
    assert [a.status for a in referral.appointments.order_by("start")] == ["noshow", "booked"]


def test_cancelling_the_referral_cancels_its_appointment(coordinator):
    referral = scheduled(coordinator)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        referral_services.referral_cancel(
            referral=referral, actor=coordinator, reason="Moved away."
        )
    appointment = referral.appointments.get()
    assert appointment.status == "cancelled"
    assert appointment.events.last().reason == "The referral was cancelled."
