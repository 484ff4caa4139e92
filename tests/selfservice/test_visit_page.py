"""The page a reminder links to: the patient confirms, cancels or asks for another time,
in their language, with nothing shown beyond the first name and the visit; unknown,
expired and over-used links open nothing."""

import datetime as dt

import pytest
import time_machine

from appointments.models import Appointment
from appointments.services import appointment_answer, appointment_cancel
from crm.errors import InvalidTransition
from messaging.models import Message
from messaging.services import LINK_MASK, dispatch_due
from referrals.models import FollowUp
from tests.selfservice.conftest import NOW, VISIT

pytestmark = pytest.mark.django_db

SOON = NOW + dt.timedelta(days=7, hours=1)


def test_the_reminder_carries_the_link_which_is_never_stored(booked, sms_provider):
    _, path = booked("es")
    with time_machine.travel(VISIT - dt.timedelta(days=7), tick=False):
        assert dispatch_due() == {"hand_off": 1}
    [sent] = sms_provider.sent
    assert f"http://testserver{path}" in sent.body
    assert "Responda en línea:" in sent.body
    stored = Message.objects.get(provider_id=sent.sid)
    assert path not in stored.body and LINK_MASK in stored.body


def test_the_page_shows_the_visit_in_the_patients_language_and_nothing_more(client, booked):
    appointment, path = booked("es")
    with time_machine.travel(SOON, tick=False):
        response = client.get(path)
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="es" dir="ltr">' in page
    assert "Hola, Lucía:" in page and "Quispe" not in page
    assert appointment.patient.mrn not in page
    assert "lun, 30 nov 2026" in page  # 10:00 in New York, in Spanish
    assert "Sí, asistiré" in page
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.parametrize(
    ("answer", "status", "said", "asks_front_desk"),
    [
        ("confirm", "confirmed", "Su cita está confirmada", False),
        ("cancel", "cancelled", "Su cita está cancelada", True),
        ("reschedule", "booked", "La clínica le llamará", True),
    ],
)
def test_an_answer_is_the_patients_step(client, booked, answer, status, said, asks_front_desk):
    appointment, path = booked("es")
    with time_machine.travel(SOON, tick=False):
        response = client.post(path, {"answer": answer})
    assert response.status_code == 200 and said in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == status
    if answer != "reschedule":
        event = appointment.events.last()
        assert (event.actor, event.details["by"]) == (None, "patient")
    asked = FollowUp.objects.filter(patient=appointment.patient, queue="front_desk", status="open")
    assert asked.exists() == asks_front_desk


def test_a_confirmed_visit_says_so_and_a_past_or_cancelled_one_is_closed(client, booked):
    _, path = booked("es")
    with time_machine.travel(SOON, tick=False):
        client.post(path, {"answer": "confirm"})
        again = client.get(path).content.decode()
        assert "Usted ya confirmó esta cita." in again and 'value="confirm"' not in again
        client.post(path, {"answer": "cancel"})
        closed = client.get(path)
    assert closed.status_code == 410
    assert "ya no se puede cambiar aquí" in closed.content.decode()


def test_a_bad_answer_is_a_400_and_changes_nothing(client, booked):
    appointment, path = booked("es")
    with time_machine.travel(SOON, tick=False):
        response = client.post(path, {"answer": "confirm\x00"})
    assert response.status_code == 400
    appointment.refresh_from_db()
    assert appointment.status == "booked"


@pytest.mark.parametrize("token", ["nope", "x" * 65, "a" * 64])
def test_an_unknown_link_opens_nothing(client, token):
    response = client.get(f"/visit/{token}/")
    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()


def test_a_link_expires_when_the_visit_ends(client, booked):
    appointment, path = booked("vi")
    with time_machine.travel(appointment.end + dt.timedelta(minutes=1), tick=False):
        response = client.get(path)
    assert response.status_code == 410
    assert "Đường dẫn này đã hết hạn" in response.content.decode()


def test_arabic_reads_right_to_left(client, booked):
    _, path = booked("ar")
    with time_machine.travel(SOON, tick=False):
        page = client.get(path).content.decode()
    assert '<html lang="ar" dir="rtl">' in page and "نعم، سأحضر" in page


def test_too_many_requests_from_one_address_are_refused(client, booked, settings):
    settings.SELF_SERVICE_REQUESTS = 3
    _, path = booked("es")
    with time_machine.travel(SOON, tick=False):
        statuses = [client.get(path).status_code for _ in range(4)]
        guessing = client.get("/visit/guess/")
    assert statuses == [200, 200, 200, 429]
    assert guessing.status_code == 429


def test_asking_twice_for_another_time_asks_the_front_desk_once(client, booked):
    appointment, path = booked("es")
    with time_machine.travel(SOON, tick=False):
        client.post(path, {"answer": "reschedule"})
        client.post(path, {"answer": "reschedule"})
    assert FollowUp.objects.filter(patient=appointment.patient, queue="front_desk").count() == 1


def test_an_answer_to_a_visit_cancelled_meanwhile_changes_nothing(client, booked, coordinator):
    appointment, _ = booked("es")
    stale = Appointment.objects.get(pk=appointment.pk)  # read before the clinic cancelled
    with time_machine.travel(SOON, tick=False):
        appointment_cancel(appointment=appointment, actor=coordinator, reason="Clinic closed.")
        with pytest.raises(InvalidTransition):
            appointment_answer(appointment=stale, answer="confirm", said="x", key="k", at=SOON)
    appointment.refresh_from_db()
    assert appointment.status == "cancelled" and appointment.confirmed_at is None
