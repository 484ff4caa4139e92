"""Appointments: a scheduling system's push is idempotent; the steps are a state
machine with guards; reminders follow the service type's schedule in the patient's
language; replies confirm, cancel or ask to reschedule; a missed or fulfilled visit
asks for what comes next."""

import datetime as dt

import pytest
import time_machine

from appointments import services
from appointments.models import Appointment
from crm.errors import InvalidTransition
from messaging.models import Message
from messaging.services import dispatch_due, inbound_receive
from referrals.models import FollowUp
from tests.messaging.conftest import reachable_patient
from tests.referrals.deck import at

pytestmark = pytest.mark.django_db

NOW = at(11, 16, 15)  # a Monday, 10:00 in New York
VISIT = at(11, 30, 15)  # two weeks later, 10:00 in New York


def push(actor, patient, service_type, **fields):
    fields.setdefault("start", VISIT)
    return services.appointment_upsert(
        actor=actor,
        source="ehr",
        external_id="A-100",
        patient=patient,
        service_type=service_type,
        **fields,
    )


def reminders(appointment, **filters):
    return list(
        Message.objects.filter(
            appointment=appointment, rule="appointment_reminder", **filters
        ).order_by("send_after")
    )


def test_a_push_creates_once_and_the_same_push_again_changes_nothing(
    coordinator, new_patient_visit
):
    patient = reachable_patient("es")
    with time_machine.travel(NOW, tick=False):
        appointment, created = push(coordinator, patient, new_patient_visit)
        again, created_again = push(coordinator, patient, new_patient_visit)
    assert (created, created_again) == (True, False)
    assert again.pk == appointment.pk and again.version == appointment.version
    assert appointment.end == VISIT + dt.timedelta(minutes=45)  # the service type's length
    assert [e.action for e in appointment.events.all()] == ["create"]
    assert appointment.events.get().details == {"by": "integration"}
    # 7 days, 2 days and 2 hours before, in Spanish, inside the patient's hours.
    assert [m.send_after for m in reminders(appointment)] == [
        VISIT - dt.timedelta(days=7),
        VISIT - dt.timedelta(days=2),
        VISIT - dt.timedelta(hours=2),
    ]
    assert {m.language_used for m in reminders(appointment)} == {"es"}
    # Each says how to answer it, in the patient's language.
    assert all("Responda C para confirmar" in m.body for m in reminders(appointment))


def test_a_pushed_new_time_is_a_reschedule_and_the_reminders_follow_it(
    coordinator, new_patient_visit
):
    patient = reachable_patient()
    with time_machine.travel(NOW, tick=False):
        appointment, _ = push(coordinator, patient, new_patient_visit, status="confirmed")
        old = reminders(appointment)
        moved, created = push(
            coordinator, patient, new_patient_visit, start=VISIT + dt.timedelta(days=1)
        )
    assert not created
    assert moved.status == "booked"  # the new time needs its own confirmation
    assert moved.confirmed_at is None
    assert moved.end - moved.start == dt.timedelta(minutes=45)
    assert [e.action for e in moved.events.all()] == ["create", "reschedule"]
    assert {m.status for m in Message.objects.filter(pk__in=[m.pk for m in old])} == {"cancelled"}
    first, *_ = reminders(moved, status="queued")
    assert first.send_after == VISIT - dt.timedelta(days=6)


def test_a_pushed_status_takes_its_step_and_an_impossible_one_is_refused(
    coordinator, new_patient_visit
):
    patient = reachable_patient()
    with time_machine.travel(NOW, tick=False):
        appointment, _ = push(coordinator, patient, new_patient_visit)
        cancelled, _ = push(coordinator, patient, new_patient_visit, status="cancelled")
        assert cancelled.status == "cancelled"
        assert cancelled.events.last().reason == "Cancelled in the scheduling system."
        assert {m.status for m in reminders(appointment)} == {"cancelled"}
        with pytest.raises(InvalidTransition):
            push(coordinator, patient, new_patient_visit, status="booked")
        with pytest.raises(InvalidTransition):
            push(coordinator, patient, new_patient_visit, status="proposed")


def test_the_clock_guards_the_steps(coordinator, new_patient_visit):
    patient = reachable_patient()
    with time_machine.travel(NOW, tick=False):
        appointment, _ = push(coordinator, patient, new_patient_visit)
    with time_machine.travel(VISIT - dt.timedelta(minutes=1), tick=False):
        with pytest.raises(InvalidTransition, match="only after the start time"):
            services.appointment_no_show(appointment=appointment, actor=coordinator)
        arrived = services.appointment_arrive(appointment=appointment, actor=coordinator)
    assert arrived.status == "arrived"
    with time_machine.travel(VISIT - dt.timedelta(days=1), tick=False):
        other = services.appointment_create(
            actor=coordinator, patient=patient, service_type=new_patient_visit, start=VISIT
        )
        with pytest.raises(InvalidTransition, match="from the day of the appointment"):
            services.appointment_fulfil(appointment=other, actor=coordinator)


def text_back(patient, body, when):
    with time_machine.travel(when, tick=False):
        return inbound_receive(
            from_number=patient.contact_points.get(system="sms").value,
            body=body,
            provider_id=f"SM{when.timestamp()}{body}",
        )


def reminded(coordinator, patient, service_type):
    """An appointment whose first reminder went out by text."""
    with time_machine.travel(NOW, tick=False):
        appointment, _ = push(coordinator, patient, service_type)
    with time_machine.travel(VISIT - dt.timedelta(days=7), tick=False):
        assert dispatch_due() == {"hand_off": 1}
    return appointment


@pytest.mark.parametrize("reply", ["C", "yes!", "Sí", "确认", "네", "с"])  # noqa: RUF001
def test_a_confirming_reply_confirms_the_appointment(
    coordinator, new_patient_visit, sms_provider, reply
):
    patient = reachable_patient()
    appointment = reminded(coordinator, patient, new_patient_visit)
    when = VISIT - dt.timedelta(days=6)
    inbound = text_back(patient, reply, when)
    appointment.refresh_from_db()
    assert appointment.status == "confirmed" and appointment.confirmed_at == when
    event = appointment.events.last()
    assert (event.action, event.actor, event.details["by"]) == ("confirm", None, "patient")
    assert inbound.keyword == "confirm" and inbound.answered_at == when
    assert not FollowUp.objects.filter(patient=patient, status="open").exists()
    # The remaining reminders still go out: a confirmed visit is still a visit.
    assert len(reminders(appointment, status="queued")) == 2


def test_a_reply_to_reschedule_asks_the_front_desk_and_a_cancel_cancels(
    coordinator, new_patient_visit, sms_provider
):
    patient = reachable_patient()
    appointment = reminded(coordinator, patient, new_patient_visit)
    text_back(patient, "R", VISIT - dt.timedelta(days=6))
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    [ask] = FollowUp.objects.filter(patient=patient, status="open")
    assert ask.queue == "front_desk" and "asks to reschedule" in ask.title

    text_back(patient, "3", VISIT - dt.timedelta(days=5))
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert 'replied "3"' in appointment.events.last().reason
    assert {m.status for m in reminders(appointment)} == {"sent", "cancelled"}
    titles = set(
        FollowUp.objects.filter(patient=patient, status="open").values_list("title", flat=True)
    )
    assert any(t.startswith("Offer the patient another time") for t in titles)


def test_a_confirmation_for_an_appointment_that_no_longer_happens_goes_to_a_person(
    coordinator, new_patient_visit, sms_provider
):
    patient = reachable_patient()
    appointment = reminded(coordinator, patient, new_patient_visit)
    services.appointment_cancel(
        appointment=appointment, actor=coordinator, reason="Clinic closed."
    )
    inbound = text_back(patient, "C", VISIT - dt.timedelta(days=6))
    assert inbound.answered_at is None
    assert inbound.follow_up.kind == "answer_message"


def test_a_no_show_asks_the_front_desk_to_rebook_and_booking_again_resolves_it(
    coordinator, new_patient_visit
):
    patient = reachable_patient("es")
    with time_machine.travel(NOW, tick=False):
        appointment, _ = push(coordinator, patient, new_patient_visit)
    with time_machine.travel(VISIT + dt.timedelta(minutes=20), tick=False):
        services.appointment_no_show(appointment=appointment, actor=coordinator)
    [rebook] = FollowUp.objects.filter(patient=patient, kind="rebook", status="open")
    assert rebook.queue == "front_desk" and rebook.priority == "high"
    # The patient is offered another time too, in their language and hours.
    [offer] = Message.objects.filter(appointment=appointment, rule="appointment_missed")
    assert offer.status == "queued" and offer.send_after >= VISIT
    assert offer.language_used == "es" and "le esperábamos en su cita" in offer.body
    with time_machine.travel(VISIT + dt.timedelta(days=1), tick=False):
        services.appointment_create(
            actor=coordinator,
            patient=patient,
            service_type=new_patient_visit,
            start=VISIT + dt.timedelta(days=8),
        )
    rebook.refresh_from_db()
    assert rebook.status == "done" and "booked" in rebook.outcome


def test_a_fulfilled_visit_sends_the_survey_and_a_procedure_asks_for_a_check_in_call(
    coordinator, procedure
):
    patient = reachable_patient(care_coordinator=coordinator)
    with time_machine.travel(NOW, tick=False):
        appointment, _ = push(coordinator, patient, procedure)
    with time_machine.travel(VISIT + dt.timedelta(hours=1), tick=False):
        services.appointment_fulfil(appointment=appointment, actor=coordinator)
    [survey] = Message.objects.filter(patient=patient, rule="survey_invitation")
    assert survey.occasion == f"appointment:{appointment.pk}" and survey.status == "queued"
    [call] = FollowUp.objects.filter(patient=patient, kind="post_visit_check_in")
    assert call.assigned_to == coordinator and "Procedure" in call.title


def test_two_pushes_of_one_new_appointment_make_one(coordinator, new_patient_visit):
    patient = reachable_patient()
    with time_machine.travel(NOW, tick=False):
        push(coordinator, patient, new_patient_visit)
        push(coordinator, patient, new_patient_visit)
    assert Appointment.objects.filter(external_id="A-100").count() == 1


def test_a_high_risk_patient_gets_a_check_in_call_after_any_visit(coordinator, new_patient_visit):
    patient = reachable_patient(care_coordinator=coordinator, high_risk=True)
    ordinary = reachable_patient(care_coordinator=coordinator)
    for n, who in enumerate((patient, ordinary)):
        with time_machine.travel(NOW, tick=False):
            appointment, _ = services.appointment_upsert(
                actor=coordinator,
                source="ehr",
                external_id=f"H{n}",
                patient=who,
                service_type=new_patient_visit,
                start=VISIT,
            )
        with time_machine.travel(VISIT + dt.timedelta(hours=1), tick=False):
            services.appointment_fulfil(appointment=appointment, actor=coordinator)
    assert FollowUp.objects.filter(patient=patient, kind="post_visit_check_in").count() == 1
    assert not FollowUp.objects.filter(patient=ordinary, kind="post_visit_check_in").exists()
