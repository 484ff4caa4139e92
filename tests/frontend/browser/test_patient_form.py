"""Registering a patient and editing the record in the browser, with the API's field
errors beside the fields and likely duplicates shown before saving."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from patients.models import Patient
from tests.factories import ContactPointFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_front_desk_registers_a_patient_after_checking_a_likely_duplicate(
    screen_for, front_desk, coordinator
):
    namesake = PatientFactory(
        given_name="Maria", family_name="Okafor", birth_date=datetime.date(1990, 4, 2)
    )
    screen = screen_for(front_desk)
    page = screen.open("/search/")
    page.get_by_role("link", name="Register a new patient").click()
    form = page.locator("form")
    form.get_by_label("Given name").fill("Mariam")
    form.get_by_label("Family name").fill("Okafor")
    form.get_by_label("Goes by").fill("Mimi")
    form.get_by_label("Birth date").fill("1990-04-02")
    # Two identifier rows, the first removed: the one left is "Identifier 1" again.
    form.get_by_role("button", name="Add an identifier").click()
    form.get_by_role("button", name="Add an identifier").click()
    form.get_by_role("button", name="Remove identifier 1").click()
    expect(form.get_by_role("group", name=re.compile("^Identifier"))).to_have_count(1)
    identifier = form.get_by_role("group", name="Identifier 1")
    identifier.get_by_label("System").fill("urn:oid:2.16.840.1.113883.3.42")
    identifier.get_by_label("Value").fill("E-55501")
    contact = form.get_by_role("group", name="Contact point 1")
    contact.get_by_label("Number or address").fill("12")  # not a phone number
    form.get_by_role("button", name="Add a language").click()
    language = form.get_by_role("group", name="Language 1")
    language.get_by_label("Language").select_option("yo")
    language.get_by_label("Preferred").check()
    form.get_by_label("Interpreter needed").select_option("yes")
    form.get_by_label("Large print").check()
    form.get_by_label("Preferred channel").select_option("sms")
    form.get_by_label("Contact window from").fill("09:00")
    form.get_by_label("Contact window to").fill("17:00")
    form.get_by_label("Time zone").select_option("America/Chicago")
    form.get_by_role("button", name="Record a consent").click()
    consent = form.get_by_role("group", name="Consent 1")
    consent.get_by_label("Channel").select_option("sms")
    consent.get_by_label("Purpose").select_option("appointment_reminders")
    consent.get_by_label("Answer").select_option("opt_in")
    consent.get_by_label("Captured by").select_option("paper_form")
    screen.capture("patient-register")

    # The first save finds the namesake with the same birth date and says why.
    form.get_by_role("button", name="Register patient").click()
    duplicates = page.get_by_role("region", name="Possible duplicates")
    expect(duplicates.get_by_role("link", name=re.compile("Maria Okafor"))).to_have_attribute(
        "href", f"/patients/{namesake.pk}/"
    )
    expect(duplicates).to_contain_text("born Apr 2, 1990")
    expect(duplicates).to_contain_text("family name same, given name alike, birth date same")
    screen.capture("patient-register-duplicate")
    # Saved again without saying it is someone else: refused again.
    form.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("alert")).to_contain_text("already registered")
    assert Patient.objects.count() == 1
    # Someone else: the API refuses the phone, and says so beside the field.
    duplicates.get_by_label(re.compile("None of these is this patient")).check()
    form.get_by_role("button", name="Register patient").click()
    value = contact.get_by_label("Number or address")
    expect(value).to_have_attribute("aria-invalid", "true")
    expect(value).to_have_accessible_description(re.compile("phone", re.IGNORECASE))
    assert Patient.objects.count() == 1
    value.fill("(312) 555-0177")
    form.get_by_role("button", name="Register patient").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Mariam Okafor (“Mimi”)")
    patient = Patient.objects.get(given_name="Mariam")
    assert (patient.interpreter_needed, patient.time_zone) == ("yes", "America/Chicago")
    assert patient.accessibility_needs == ["large_print"]
    assert list(patient.contact_points.values_list("value", flat=True)) == ["+13125550177"]
    assert list(patient.languages.values_list("language", "preferred")) == [("yo", True)]
    assert list(patient.identifiers.values_list("value", flat=True)) == ["E-55501"]
    consent = patient.consents.get()
    assert (consent.channel, consent.status, consent.source, consent.captured_by) == (
        "sms",
        "opt_in",
        "paper_form",
        front_desk,
    )
    header = page.get_by_role("region", name=re.compile("Mariam Okafor"))
    expect(header).to_contain_text("Yoruba")
    expect(header.get_by_role("link", name="(312) 555-0177")).to_be_visible()


def test_a_coordinator_edits_the_record_and_keeps_what_was_not_touched(
    screen_for, coordinator, clinic
):
    patient = clinic["patient"]
    ContactPointFactory(patient=patient, system="email", value="lucia@example.org", rank=2)
    consent = patient.consents.get()
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Edit the record").click()
    form = page.locator("form")
    expect(form.get_by_label("Given name")).to_have_value("Lucía")
    form.get_by_label("Goes by").fill("Lu")
    second = form.get_by_role("group", name="Contact point 2")
    expect(second.get_by_label("Number or address")).to_have_value("lucia@example.org")
    second.get_by_role("button", name=re.compile("Remove")).click()
    form.get_by_label("High risk (a coordinator calls after every visit)").check()
    screen.capture_both_sizes("patient-edit")
    form.get_by_role("button", name="Save changes").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("(“Lu”)")
    patient.refresh_from_db()
    assert patient.preferred_name == "Lu" and patient.version == 2 and patient.high_risk
    assert list(patient.contact_points.values_list("value", flat=True)) == ["+16175550142"]
    # The consent sent back unchanged is the same capture, not a new one.
    kept = patient.consents.get()
    assert (kept.pk, kept.captured_at, kept.history.count()) == (
        consent.pk,
        consent.captured_at,
        consent.history.count(),
    )
