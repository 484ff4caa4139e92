"""Appointments in Chromium: the front desk works tomorrow's call list (one click
logs the call and confirms the visit) and takes each step of a visit on the patient's
page, and a coordinator reschedules a visit from there."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, ServiceType
from appointments.services import appointment_upsert
from interactions.models import Interaction
from tests.factories import ContactPointFactory, LanguageFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def visit(patient, actor, start, external_id, **fields):
    appointment, _ = appointment_upsert(
        actor=actor,
        source="ehr",
        external_id=external_id,
        patient=patient,
        service_type=ServiceType.objects.get(code="follow-up"),
        start=start,
        location="Main clinic",
        **fields,
    )
    return appointment


@pytest.fixture
def tomorrow_at_nine():
    day = timezone.localdate() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(9)))


def test_the_front_desk_confirms_by_phone_from_the_call_list(
    screen_for, front_desk, tomorrow_at_nine
):
    rosa = PatientFactory(given_name="Rosa", family_name="Diaz", interpreter_needed="yes")
    LanguageFactory(patient=rosa, language="es")
    ContactPointFactory(patient=rosa, system="phone", value="+16175550123")
    ken = PatientFactory(given_name="Ken", family_name="Ito")
    confirmed = PatientFactory(given_name="Ada", family_name="Okafor")
    for patient, minutes, status in (
        (rosa, 0, "booked"),
        (ken, 30, "booked"),
        (confirmed, 60, "confirmed"),
    ):
        visit(
            patient,
            front_desk,
            tomorrow_at_nine + datetime.timedelta(minutes=minutes),
            f"T{patient.pk}",
            status=status,
        )

    screen = screen_for(front_desk)
    page = screen.open("/day/")
    expect(page.locator("#day-summary")).to_contain_text(
        "3 appointments, 1 confirmed, 2 not confirmed"
    )
    page.get_by_label("Show").select_option("true")
    rows = page.locator("li[data-appointment]")
    expect(rows).to_have_count(2)
    first = rows.first
    expect(first).to_contain_text("Rosa Diaz")
    expect(first).to_contain_text("Spanish")
    expect(first).to_contain_text("Interpreter needed")
    expect(first.get_by_role("link", name="(617) 555-0123")).to_have_attribute(
        "href", "tel:+16175550123"
    )
    screen.capture("day-call-list")
    first.get_by_role("button", name="Confirmed by phone").click()
    expect(page.locator("#day-summary")).to_contain_text("2 confirmed, 1 not confirmed")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("button", name="No answer").click()
    expect(page.locator("#announcer")).to_contain_text("no answer")
    screen.capture("day-after-calls")

    rosa_visit = Appointment.objects.get(patient=rosa)
    assert rosa_visit.status == "confirmed"
    assert rosa_visit.events.last().actor == front_desk
    calls = Interaction.objects.filter(channel="phone", direction="outbound").order_by("id")
    assert [(c.patient, c.outcome) for c in calls] == [(rosa, "resolved"), (ken, "no_answer")]
    assert Appointment.objects.get(patient=ken).status == "booked"
    # The choice is in the address: a reload shows the same list.
    page.reload()
    expect(page.get_by_label("Show")).to_have_value("true")


def test_a_coordinator_reschedules_a_visit_from_the_patients_page(
    screen_for, coordinator, tomorrow_at_nine
):
    patient = PatientFactory(given_name="Lena", family_name="Park", care_coordinator=coordinator)
    appointment = visit(patient, coordinator, tomorrow_at_nine, "R1", status="confirmed")
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{patient.pk}/")
    item = page.locator(f"li[data-appointment='{appointment.pk}']")
    expect(item).to_contain_text("Follow-up visit")
    expect(item).to_contain_text("Confirmed")
    expect(page.locator("section.appointments")).not_to_contain_text("null")
    screen.capture("appointments-on-the-360")
    item.get_by_role("button", name="Reschedule").click()
    dialog = page.get_by_role("dialog")
    later = (tomorrow_at_nine + datetime.timedelta(days=2)).astimezone(
        timezone.get_current_timezone()
    )
    dialog.get_by_label("New start").fill(later.strftime("%Y-%m-%dT%H:%M"))
    dialog.get_by_label("Reason (optional)").fill("The patient asked for Thursday.")
    screen.capture("appointment-reschedule")
    dialog.get_by_role("button", name="Reschedule").click()
    expect(dialog).to_be_hidden()
    item = page.locator(f"li[data-appointment='{appointment.pk}']")
    expect(item).to_contain_text("Not confirmed")
    appointment.refresh_from_db()
    assert appointment.status == "booked" and appointment.start == later
    assert appointment.events.last().reason == "The patient asked for Thursday."


def test_the_front_desk_checks_in_records_a_visit_a_no_show_and_a_cancellation(
    screen_for, front_desk, tomorrow_at_nine
):
    patient = PatientFactory(given_name="Omar", family_name="Haddad")
    now = timezone.now()
    arriving = visit(patient, front_desk, now - datetime.timedelta(minutes=20), "T1")
    missed = visit(patient, front_desk, now - datetime.timedelta(hours=3), "T2")
    cancelled = visit(patient, front_desk, tomorrow_at_nine, "T3")
    screen = screen_for(front_desk)
    page = screen.open(f"/patients/{patient.pk}/")

    def take(appointment, action, reason=""):
        item = page.locator(f"li[data-appointment='{appointment.pk}']")
        item.get_by_role("button", name=action, exact=True).click()
        dialog = page.get_by_role("dialog")
        if reason:
            dialog.get_by_label("Reason", exact=False).fill(reason)
        screen.capture(f"appointment-{action.lower().replace(' ', '-')}")
        dialog.get_by_role("button", name=action, exact=True).click()
        expect(dialog).to_be_hidden()

    take(arriving, "Check in")
    expect(page.locator(f"li[data-appointment='{arriving.pk}']")).to_contain_text("Arrived")
    take(arriving, "Record visit")
    # Recorded, the visit moves to the past ones.
    past = page.get_by_role("list", name="Past and cancelled appointments")
    expect(past.locator(f"li[data-appointment='{arriving.pk}']")).to_contain_text("Fulfilled")
    take(missed, "Record no-show")
    take(cancelled, "Cancel", reason="The patient moved away.")
    expect(page.locator(f"li[data-appointment='{cancelled.pk}']")).to_contain_text("Cancelled")

    statuses = Appointment.objects.filter(patient=patient).values_list("external_id", "status")
    assert dict(statuses) == {"T1": "fulfilled", "T2": "noshow", "T3": "cancelled"}
    cancelled.refresh_from_db()
    assert cancelled.events.last().reason == "The patient moved away."
