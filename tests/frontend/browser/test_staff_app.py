"""The staff web app in a real browser: each screen works, is accessible, and fits at
1280 and 390 px. Screenshots land in artifacts/screens/."""

import datetime
import re
import zoneinfo

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from playwright.sync_api import expect

from interactions.models import Interaction
from interactions.selectors import OPEN_SHOWN
from patients.models import Patient
from referrals import services
from referrals.choices import OPEN_STATUSES, FollowUpStatus, ReferralStatus
from referrals.models import Referral
from tests.factories import (
    ContactPointFactory,
    FollowUpFactory,
    InteractionFactory,
    LanguageFactory,
    PatientFactory,
    PractitionerFactory,
    ReferralFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_coordinator_signs_in_with_the_form_and_out_again(screen_for, coordinator):
    UserFactory(username="casey", password="long-and-unique-9", roles=["coordinator"])
    screen = screen_for(None)
    page = screen.open("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    screen.capture_both_sizes("sign-in")

    page.get_by_label("Username").fill("casey")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")

    page.get_by_label("Password").fill("long-and-unique-9")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My work", level=1)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/"))
    assert not Session.objects.exists()


def test_an_ended_session_sends_the_browser_to_sign_in(screen_for, coordinator, clinic):
    screen = screen_for(coordinator)
    page = screen.open("/search/")
    expect(page.get_by_role("heading", name="Find a patient")).to_be_visible()
    Session.objects.all().delete()  # what the idle timeout does on the server

    page.get_by_role("combobox").fill("Gómez")
    expect(page).to_have_url(re.compile(r"/login/\?reason=idle&next=%2Fsearch%2F"))
    expect(page.get_by_role("status")).to_contain_text("signed out because the session was idle")


def test_an_idle_screen_signs_itself_out(screen_for, coordinator, clinic):
    screen = screen_for(coordinator)
    screen.page.clock.install()
    page = screen.open(f"/patients/{clinic['patient'].pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lucía Gómez")
    page.clock.fast_forward("14:00")
    expect(page).to_have_url(re.compile(rf"/patients/{clinic['patient'].pk}/$"))
    page.clock.fast_forward("01:30")
    expect(page).to_have_url(re.compile(r"/login/\?reason=idle&next=%2Fpatients%2F"))
    expect(page.locator("body")).not_to_contain_text("Lucía")
    assert not Session.objects.exists()


def test_my_work_lists_the_coordinators_referrals_and_follow_ups(screen_for, coordinator, clinic):
    screen = screen_for(coordinator)
    page = screen.open("/")
    follow_ups = page.get_by_role("region", name="Follow-ups")
    expect(follow_ups.get_by_role("region", name=re.compile("Due today"))).to_contain_text(
        "Confirm the interpreter for Friday"
    )
    referrals = page.get_by_role("region", name="My referrals")
    expect(
        referrals.get_by_role("region", name=re.compile("Accepted, not scheduled"))
    ).to_contain_text("Neurology")
    screen.capture_both_sizes("my-work")

    follow_ups.get_by_role("link", name=re.compile("Lucía Gómez")).click()
    expect(page).to_have_url(re.compile(rf"/patients/{clinic['patient'].pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lucía Gómez")


def test_my_work_pages_through_a_long_bucket(screen_for, coordinator, clinic):
    now = timezone.now()
    for hours in range(1, 14):
        FollowUpFactory(
            patient=clinic["patient"],
            title=f"Overdue call {hours:02d}",
            assigned_to=coordinator,
            due_at=now - datetime.timedelta(hours=hours),
            priority="high" if hours == 7 else "medium",
        )
    screen = screen_for(coordinator)
    page = screen.open("/")
    overdue = page.get_by_role("region", name=re.compile("Overdue"))
    expect(overdue.get_by_role("listitem")).to_have_count(10)
    expect(overdue).to_contain_text("Showing 10 of 13.")
    overdue.get_by_role("button", name="Show more overdue").click()
    expect(overdue.get_by_role("listitem")).to_have_count(13)
    expect(overdue.get_by_role("button")).to_have_count(0)
    # Earliest due first, none twice: the oldest call heads the list, the newest ends it.
    titles = overdue.locator(".item-title").all_inner_texts()
    assert len(set(titles)) == 13
    assert "Overdue call 13" in titles[0] and "Overdue call 01" in titles[-1]

    # Most urgent first, then only the high-priority ones.
    page.get_by_label("Order").select_option("priority")
    expect(overdue.locator(".item-title").first).to_contain_text("Overdue call 07")
    expect(overdue.locator(".item-title").nth(1)).to_contain_text("Overdue call 13")
    page.get_by_label("Priority").select_option("high")
    expect(overdue.get_by_role("listitem")).to_have_count(1)
    expect(overdue).to_contain_text("Overdue (1)")
    # The filters are in the address: a reload keeps them.
    expect(page).to_have_url(re.compile(r"/\?order=priority&priority=high$"))
    page.reload()
    expect(page.get_by_label("Priority")).to_have_value("high")
    expect(page.get_by_label("Order")).to_have_value("priority")
    expect(
        page.get_by_role("region", name=re.compile("Overdue")).get_by_role("listitem")
    ).to_have_count(1)


def test_search_says_when_more_match_and_shows_them(screen_for, coordinator):
    for n in range(25):
        PatientFactory(family_name="Okonkwo", given_name=f"Ada{n:02d}")
    screen = screen_for(coordinator)
    page = screen.open("/search/")
    page.get_by_role("combobox").press_sequentially("Okonkwo", delay=20)
    expect(page.get_by_role("option")).to_have_count(20)
    expect(page.locator("#search-status")).to_contain_text("Showing the best 20 patients of 25")
    page.get_by_role("button", name="Show more patients").click()
    expect(page.get_by_role("option")).to_have_count(25)
    expect(page.locator("#search-status")).to_have_text("25 patients found.")
    expect(page.get_by_role("button", name="Show more patients")).to_be_hidden()


def test_search_finds_a_chinese_name_as_it_is_written(screen_for, coordinator):
    PatientFactory(family_name="杨", given_name="涛")
    PatientFactory(family_name="王", given_name="伟")
    screen = screen_for(coordinator)
    page = screen.open("/search/")
    search = page.get_by_role("combobox")
    search.press_sequentially("杨", delay=20)  # one character: a family name
    expect(page.get_by_role("option")).to_have_count(1)
    expect(page.get_by_role("option")).to_contain_text("涛")
    search.fill("")
    search.press_sequentially("杨涛", delay=20)
    expect(page.get_by_role("option")).to_have_count(1)
    screen.capture("search-chinese-name")


def test_search_as_you_type_with_the_keyboard_opens_the_360(screen_for, coordinator, clinic):
    screen = screen_for(coordinator)
    page = screen.open("/")
    page.get_by_role("link", name="Find a patient").click()
    search = page.get_by_role("combobox", name="Name, MRN, birth date or phone")
    search.press_sequentially("T-900100", delay=20)
    option = page.get_by_role("option")
    expect(option).to_have_count(1)
    expect(option).to_contain_text("Lucía Gómez")
    expect(option).to_contain_text("Born Mar 9, 1961 · MRN T-900100 · Spanish")
    screen.capture_both_sizes("search")

    search.fill("617 555 0142")  # phone numbers in any format
    expect(page.get_by_role("option")).to_have_count(1)
    search.press("ArrowDown")
    search.press("Enter")

    header = page.get_by_role("region", name=re.compile("Lucía Gómez"))
    expect(header).to_contain_text("“Lucy”")
    expect(header).to_contain_text("Age")
    expect(header).to_contain_text("Spanish")
    expect(header).to_contain_text("Interpreter needed")
    expect(header).to_contain_text("Large print")
    expect(header).to_contain_text("Phone · 09:00\u201312:00")
    expect(header).to_contain_text("(America/New York)")
    expect(header).to_contain_text("SMS: Care coordination")  # opted out, marked
    expect(header).to_contain_text(f"Coordinator: {coordinator.get_full_name()}")


def test_the_360_header_and_lists_come_from_one_request(screen_for, coordinator, clinic):
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{clinic['patient'].pk}/")
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(page.locator("[data-interaction]")).to_have_count(2)
    assert screen.api_requests == [f"GET patients/{clinic['patient'].pk}/360/"]
    screen.capture_both_sizes("patient-360")


def test_the_header_says_how_to_reach_the_patient_now(screen_for, coordinator, clinic):
    patient = clinic["patient"]
    LanguageFactory(patient=patient, language="ase", preferred=False, rank=2)
    ContactPointFactory(patient=patient, system="email", value="lucia@example.org", rank=2)
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{patient.pk}/")
    header = page.get_by_role("region", name=re.compile("Lucía Gómez"))
    expect(header.get_by_role("link", name="(617) 555-0142")).to_have_attribute(
        "href", "tel:+16175550142"
    )
    expect(header.get_by_role("link", name="lucia@example.org")).to_have_attribute(
        "href", "mailto:lucia@example.org"
    )
    # The patient's own clock (New York), and whether it is inside their 9-12 window.
    local = timezone.now().astimezone(zoneinfo.ZoneInfo("America/New_York"))
    inside = datetime.time(9) <= local.time() < datetime.time(12)
    expect(header).to_contain_text(f"{local:%-I:%M %p} (America/New York)")
    expect(header).to_contain_text(
        "Inside the contact window" if inside else "Outside the contact window"
    )


def test_the_log_dialog_starts_inbound_for_a_patient_who_may_not_be_contacted(
    screen_for, coordinator, clinic
):
    patient = clinic["patient"]
    Patient.objects.filter(pk=patient.pk).update(do_not_contact=True)
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{patient.pk}/")
    expect(page.get_by_text("Do not contact")).to_be_visible()
    page.get_by_role("button", name="Log an interaction").click()
    dialog = page.get_by_role("dialog")
    direction = dialog.get_by_label("Direction")
    expect(direction).to_have_value("inbound")
    expect(direction).to_have_accessible_description(re.compile("Outbound contact is refused"))
    dialog.get_by_label("Summary").fill("Patient called to ask about parking.")
    dialog.get_by_role("button", name="Save interaction").click()
    expect(dialog).to_be_hidden()
    saved = Interaction.objects.get(summary="Patient called to ask about parking.")
    assert saved.direction == "inbound"


def test_logging_an_interaction_shows_api_errors_then_prepends_it(screen_for, coordinator, clinic):
    patient = clinic["patient"]
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{patient.pk}/")
    page.get_by_role("button", name="Log an interaction").click()
    dialog = page.get_by_role("dialog", name="Log an interaction")
    # The patient opted out of SMS: the API refuses and says which field.
    dialog.get_by_label("Channel").select_option("sms")
    dialog.get_by_label("Summary").fill("Called to confirm the interpreter.")
    dialog.get_by_role("button", name="Save interaction").click()
    channel = dialog.get_by_label("Channel")
    expect(channel).to_have_attribute("aria-invalid", "true")
    expect(dialog).to_contain_text("The patient opted out of sms for care coordination.")
    screen.capture("log-interaction-error")
    assert not Interaction.objects.filter(summary__startswith="Called to confirm").exists()

    channel.select_option("phone")
    dialog.get_by_label("Interpreter used").check()
    dialog.get_by_role("button", name="Save interaction").click()
    expect(dialog).to_be_hidden()
    first = page.locator("[data-interaction]").first
    expect(first).to_contain_text("Called to confirm the interpreter.")
    expect(first).to_contain_text("interpreter used")
    created = Interaction.objects.get(summary="Called to confirm the interpreter.")
    assert (created.channel, created.staff, created.interpreter_used) == (
        "phone",
        coordinator,
        True,
    )
    # No reload: the 360, one refused save, one accepted save.
    assert screen.api_requests == [f"GET patients/{patient.pk}/360/"] + ["POST interactions/"] * 2


def test_a_referral_moves_from_sent_to_closed_through_the_dialogs(screen_for, coordinator, clinic):
    referral = clinic["referral"]
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{clinic['patient'].pk}/")
    card = page.locator(f"[data-referral='{referral.pk}']")
    expect(card).to_contain_text("Sent")
    expect(card).to_contain_text("Next step: receiver accepts")

    card.get_by_role("button", name="Accept").click()
    page.get_by_role("dialog").get_by_role("button", name="Accept").click()
    expect(card).to_contain_text("Accepted")

    card.get_by_role("button", name="Schedule").click()
    dialog = page.get_by_role("dialog")
    # An hour ago, after it was sent: a visit can be recorded only once its day has come.
    visit = (timezone.now() - datetime.timedelta(hours=1)).replace(second=0, microsecond=0)
    dialog.get_by_label("Appointment date and time").fill(f"{visit:%Y-%m-%dT%H:%M}")
    screen.capture("referral-schedule-dialog")
    dialog.get_by_role("button", name="Schedule").click()
    expect(card).to_contain_text("Scheduled")
    expect(card).to_contain_text(
        f"Appointment: {visit:%b} {visit.day}, {visit.year}, {visit:%-I:%M %p}"
    )

    card.get_by_role("button", name="Record visit").click()
    page.get_by_role("dialog").get_by_role("button", name="Record visit").click()
    expect(card).to_contain_text("Seen")

    card.get_by_role("button", name="Close with report").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Report from").fill("Dr. Hayes, Cardiology")
    dialog.get_by_label("Report summary").fill("Benign ectopy; no treatment needed.")
    dialog.get_by_role("button", name="Close with report").click()
    expect(card).to_contain_text("Closed")
    expect(card.get_by_role("button")).to_have_text(["Reopen"])
    # Closed, it moves down among the past referrals at once.
    past_cards = page.locator(".referrals .cards").nth(1)
    expect(past_cards.locator(f"[data-referral='{referral.pk}']")).to_be_visible()

    referral.refresh_from_db()
    assert referral.status == ReferralStatus.CLOSED
    assert referral.report_from == "Dr. Hayes, Cardiology"
    actions = list(referral.events.order_by("occurred_at", "id").values_list("action", flat=True))
    assert actions[-4:] == ["accept", "schedule", "seen", "close"]

    # After a reload the closed referral is still there, under past referrals, with its
    # report; its own page tells every step.
    page.reload()
    past = page.locator(f"[data-referral='{referral.pk}']")
    expect(past).to_contain_text("Closed")
    expect(past).to_contain_text("Report: received")
    expect(past).to_contain_text("Benign ectopy; no treatment needed.")
    expect(page.get_by_role("heading", name="Declined and past referrals")).to_be_visible()
    past.get_by_role("link", name="Details and every step").click()
    expect(page.get_by_role("heading", name="Cardiology referral", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Specialist's report")).to_be_visible()
    expect(page.get_by_text("Dr. Hayes, Cardiology")).to_be_visible()
    steps = page.get_by_role("region", name="Every step").get_by_role("listitem")
    expect(steps).to_have_count(len(actions))
    expect(steps.last).to_contain_text("Close with report")
    expect(steps.last).to_contain_text("Seen, report pending → Closed (report received)")
    expect(steps.last).to_contain_text(coordinator.get_full_name())
    screen.capture_both_sizes("referral-page")


def test_a_stale_referral_gets_a_plain_message_not_a_blank_page(screen_for, coordinator, clinic):
    referral = clinic["referral"]
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{clinic['patient'].pk}/")
    card = page.locator(f"[data-referral='{referral.pk}']")
    expect(card).to_be_visible()
    services.referral_accept(referral=referral, actor=coordinator)  # someone else, meanwhile

    card.get_by_role("button", name="Decline").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Decline").click()  # the reason is required
    expect(dialog.get_by_label("Reason")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("Reason").fill("No capacity this month.")
    dialog.get_by_role("button", name="Decline").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Someone else changed this record")
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.ACCEPTED


def test_a_lost_answer_is_explained_and_the_retry_saves_once(screen_for, coordinator, clinic):
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{clinic['patient'].pk}/")
    page.get_by_role("button", name="Log an interaction").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Summary").fill("Left a voicemail.")

    def lose_the_answer(route):
        route.fetch()  # the server saves...
        route.abort()  # ...but its answer never reaches the browser

    page.route("**/api/interactions/", lose_the_answer)
    dialog.get_by_role("button", name="Save interaction").click()
    expect(dialog.get_by_role("alert")).to_contain_text("server could not be reached")
    expect(dialog.get_by_label("Summary")).to_have_value("Left a voicemail.")

    page.unroute("**/api/interactions/")
    dialog.get_by_role("button", name="Save interaction").click()  # the same Idempotency-Key
    expect(dialog).to_be_hidden()
    expect(page.locator("[data-interaction]").first).to_contain_text("Left a voicemail.")
    assert Interaction.objects.filter(summary="Left a voicemail.").count() == 1


def test_a_follow_up_is_completed_from_the_360(screen_for, coordinator, clinic):
    follow_up = clinic["follow_up"]
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{clinic['patient'].pk}/")
    item = page.locator(f"[data-follow-up='{follow_up.pk}']")
    item.get_by_role("button", name="Complete").click()
    dialog = page.get_by_role("dialog", name=re.compile("Complete"))
    dialog.get_by_label("Outcome").fill("Interpreter booked for Friday 10:00.")
    dialog.get_by_role("button", name="Mark complete").click()
    expect(item).to_have_count(0)
    expect(page.get_by_role("status")).to_have_text("Follow-up completed.")
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUpStatus.DONE
    assert follow_up.outcome == "Interpreter booked for Friday 10:00."


def test_the_timeline_loads_more_filters_and_the_other_tabs(screen_for, coordinator, clinic):
    for n in range(23):
        InteractionFactory(
            patient=clinic["patient"],
            channel="email",
            summary=f"Reminder email {n}.",
            occurred_at=timezone.now() - datetime.timedelta(days=10 + n),
        )
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{clinic['patient'].pk}/")
    timeline = page.locator("[data-interaction]")
    expect(timeline).to_have_count(20)
    page.get_by_role("button", name="Load more").click()
    expect(timeline).to_have_count(25)
    expect(timeline.last).to_contain_text("Reminder email 22.")
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)

    page.get_by_label("Department").select_option("billing")
    expect(page.locator("[data-interaction]")).to_have_count(1)
    expect(page.locator("[data-interaction]")).to_contain_text("explained the copay")

    page.get_by_role("tab", name="History").click()
    history = page.get_by_role("tabpanel", name="History")
    # Readable: record kinds and fields as people say them, labels, names, local times.
    consent = history.get_by_role("listitem").filter(has_text="Communication consent")
    expect(consent.first).to_contain_text("status: Opted out")
    expect(consent.first).to_contain_text(f"captured by: {coordinator.get_full_name()}")
    referral = history.get_by_role("listitem").filter(has_text="Referral #")
    expect(referral.first).to_contain_text("status: Sent → Accepted")
    follow_up = history.get_by_role("listitem").filter(has_text="Follow-up #")
    expect(follow_up.first).to_contain_text(f"assigned to: {coordinator.get_full_name()}")
    expect(history).not_to_contain_text("opt_out")
    screen.capture_both_sizes("patient-history")

    page.get_by_role("tab", name="History").press("ArrowLeft")
    feedback = page.get_by_role("tabpanel", name="Feedback and complaints")
    expect(feedback).to_contain_text("No complaints.")
    screen.capture("patient-feedback")


def test_billing_sees_no_restricted_items_clinical_reasons_or_forbidden_buttons(
    screen_for, billing, clinic
):
    screen = screen_for(billing)
    page = screen.open(f"/patients/{clinic['patient'].pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lucía Gómez")
    expect(page.get_by_role("region", name=re.compile("Lucía"))).to_contain_text(
        "Interpreter needed"
    )
    expect(page.locator("[data-interaction]")).to_have_count(1)
    body = page.locator("main")
    expect(body).not_to_contain_text("sensitive diagnosis")
    expect(body).not_to_contain_text("Palpitations")
    expect(body).not_to_contain_text("Open referrals")
    expect(page.get_by_role("button", name="Accept")).to_have_count(0)
    expect(page.get_by_role("tab", name="History")).to_have_count(0)
    for forbidden in ("New referral", "Break the glass", "Change coordinator"):
        expect(page.get_by_role("button", name=forbidden)).to_have_count(0)
    expect(page.get_by_role("link", name="Edit the record")).to_have_count(0)
    page.get_by_role("tab", name="Feedback and complaints").click()
    expect(page.get_by_role("heading", name="Complaints")).to_be_visible()
    for forbidden in ("Take a complaint", "Send a survey"):
        expect(page.get_by_role("button", name=forbidden)).to_have_count(0)
    page.get_by_role("tab", name="Care and contacts").click()
    # Billing may log its own department's calls, and only those.
    page.get_by_role("button", name="Log an interaction").click()
    departments = page.get_by_role("dialog").get_by_label("Department").locator("option")
    expect(departments).to_have_text(["Billing"])
    page.keyboard.press("Escape")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(
        ["My work", "Find a patient", "Appointments by day", "Inbox"]
    )
    screen.capture_both_sizes("patient-360-billing")


def test_the_referral_board_filters_by_priority_and_specialty(screen_for, coordinator, clinic):
    routine = ReferralFactory(
        patient=clinic["patient"], coordinator=coordinator, specialty="Dermatology"
    )
    services.referral_send(referral=routine, actor=coordinator)
    services.referral_accept(referral=routine, actor=coordinator)
    screen = screen_for(coordinator)
    page = screen.open("/board/")
    board = page.get_by_role("region", name="Referral board columns")
    columns = board.get_by_role("region")
    expect(columns).to_have_count(6)
    expect(columns.first).to_have_accessible_name(re.compile("Awaiting response"))
    screen.capture_both_sizes("referral-board")

    items = page.locator(".column li")
    expect(items).to_have_count(2)
    page.get_by_label("Priority").select_option("urgent")
    expect(items).to_have_count(1)
    expect(items).to_contain_text("Neurology")
    page.get_by_label("Priority").select_option("")
    expect(items).to_have_count(2)
    page.get_by_label("Specialty").select_option("Dermatology")
    expect(items).to_have_count(1)
    expect(items).to_contain_text("Dermatology")
    page.reload()
    expect(page.get_by_label("Specialty")).to_have_value("Dermatology")
    expect(items).to_have_count(1)


def test_the_dashboard_draws_charts_with_tables(screen_for, coordinator, clinic):
    screen = screen_for(coordinator)
    page = screen.open("/dashboard/")
    figures = page.locator("figure[data-chart]")
    expect(figures).to_have_count(7)
    charts = ("loop-closure", "time-to-schedule", "overdue", "appointments", "lead-time")
    for chart in (*charts, "nps-csat", "complaints"):
        canvas = page.locator(f"#chart-{chart}")
        assert canvas.evaluate("c => c.width > 0 && c.getContext('2d') !== null")
    # The tables carry the same numbers: the clinic has one accepted referral waiting for
    # an appointment, and none of this month's two referrals has its report back yet.
    page.locator("figure[data-chart='overdue'] summary").click()
    overdue = page.locator("figure[data-chart='overdue'] tr", has_text="accepted not")
    expect(overdue).to_have_text(
        re.compile(r"accepted not scheduled\s*1\s*0"), use_inner_text=True
    )
    page.locator("figure[data-chart='loop-closure'] summary").click()
    rows = page.locator("figure[data-chart='loop-closure'] table tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.last).to_have_text(re.compile(r"0%$"))
    screen.capture_both_sizes("dashboard")

    # Another period and one department's feedback.
    page.get_by_label("Period", exact=True).select_option("3")
    expect(page.locator("figure[data-chart='loop-closure'] table tbody tr")).to_have_count(3)
    screen.api_requests.clear()
    page.get_by_label("Feedback for").select_option("billing")
    expect(page.locator("figure[data-chart='nps-csat']")).to_be_visible()
    experience = [r for r in screen.api_requests if r.startswith("GET metrics/experience/")]
    assert len(experience) == 3 and all("department=billing" in r for r in experience)

    # The overdue chart leads to the board, the whole team's, at that column.
    page.locator("figure[data-chart='overdue'] summary").click()
    page.get_by_role("link", name="accepted not scheduled").click()
    expect(page).to_have_url(re.compile(r"/board/\?scope=team#column-accepted_not_scheduled$"))
    expect(page.get_by_label("Show")).to_have_value("team")
    expect(page.get_by_role("heading", name=re.compile("Accepted, not scheduled"))).to_be_focused()
    column = page.get_by_role("region", name=re.compile("Accepted, not scheduled"))
    expect(column).to_contain_text("Neurology")


def test_a_declined_referral_is_redirected_with_the_provider_picker(
    screen_for, coordinator, clinic
):
    patient = clinic["patient"]
    declined = ReferralFactory(patient=patient, coordinator=coordinator, specialty="Cardiology")
    services.referral_send(referral=declined, actor=coordinator)
    services.referral_decline(referral=declined, actor=coordinator, reason="Not taking patients.")
    speaks_spanish = PractitionerFactory(
        given_name="Marisol", family_name="Vega", languages=["en", "es"], in_network=True
    )
    PractitionerFactory(given_name="Oscar", family_name="Reed", languages=["en"], in_network=True)
    PractitionerFactory(given_name="Ana", family_name="Ruiz", languages=["es"], in_network=False)
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{patient.pk}/")
    card = page.locator(f"[data-referral='{declined.pk}']")
    card.get_by_role("button", name="Redirect to another provider").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Specialty")).to_have_value("Cardiology")
    expect(dialog.get_by_label("Reason for referral")).to_have_value(declined.reason)
    providers = dialog.get_by_label("Receiving provider")
    expect(providers).to_contain_text("Oscar Reed")
    expect(providers).not_to_contain_text("Ana Ruiz")  # out of network

    dialog.get_by_label("Speaks Spanish").check()
    expect(providers).not_to_contain_text("Oscar Reed")
    expect(providers).to_contain_text("Marisol Vega")
    providers.select_option(str(speaks_spanish.pk))
    screen.capture("referral-redirect-dialog")
    dialog.get_by_role("button", name="Create the new referral").click()
    expect(dialog).to_be_hidden()

    created = Referral.objects.get(replaces=declined)
    assert created.receiving_practitioner == speaks_spanish
    assert created.receiving_organization == speaks_spanish.organization
    assert (created.status, created.specialty, created.patient) == ("draft", "Cardiology", patient)
    new_card = page.locator(f"[data-referral='{created.pk}']")
    expect(new_card).to_contain_text("Marisol Vega")
    expect(new_card).to_be_focused()
    # Redirected once: the declined card now points to its replacement, also after a
    # reload, and offers no second redirect.
    for _ in range(2):
        card = page.locator(f"[data-referral='{declined.pk}']")
        expect(
            card.get_by_role("link", name=f"Replaced by referral #{created.pk}")
        ).to_be_visible()
        expect(card.get_by_role("button", name="Redirect to another provider")).to_have_count(0)
        page.reload()


def test_open_referrals_and_follow_ups_beyond_the_first_twenty_are_shown_on_request(
    screen_for, coordinator, clinic
):
    patient = clinic["patient"]
    now = timezone.now()
    for n in range(OPEN_SHOWN + 2):
        ReferralFactory(patient=patient, coordinator=coordinator)
        FollowUpFactory(
            patient=patient, assigned_to=coordinator, due_at=now + datetime.timedelta(days=n + 1)
        )
    open_referrals = Referral.objects.filter(patient=patient, status__in=OPEN_STATUSES).count()
    open_follow_ups = patient.follow_ups.filter(status=FollowUpStatus.OPEN).count()
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{patient.pk}/")

    cards = page.locator(".referrals .cards").first.locator("[data-referral]")
    expect(cards).to_have_count(OPEN_SHOWN)
    page.get_by_role("button", name=f"Show all {open_referrals} open referrals").click()
    expect(cards).to_have_count(open_referrals)
    expect(page.get_by_role("button", name=re.compile("open referrals"))).to_have_count(0)

    items = page.locator("[data-follow-up]")
    expect(items).to_have_count(OPEN_SHOWN)
    page.get_by_role("button", name=f"Show all {open_follow_ups} open follow-ups").click()
    expect(items).to_have_count(open_follow_ups)
    # Due first, as the list pages them.
    due_first = patient.follow_ups.filter(status=FollowUpStatus.OPEN).order_by("due_at", "id")
    shown = [int(item.get_attribute("data-follow-up")) for item in items.all()]
    assert shown == list(due_first.values_list("pk", flat=True))
    screen.capture("360-all-open-follow-ups")


def test_a_new_referral_is_created_from_the_360(screen_for, coordinator, clinic):
    patient = clinic["patient"]
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{patient.pk}/")
    page.get_by_role("button", name="New referral").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Priority").select_option("urgent")
    dialog.get_by_role("button", name="Create referral").click()
    # Nothing is sent without a reason; the field says so.
    expect(dialog.get_by_text("This field is required.")).to_be_visible()
    dialog.get_by_label("Reason for referral").fill("Chest pain on exertion; rule out angina.")
    dialog.get_by_role("button", name="Create referral").click()
    expect(dialog).to_be_hidden()
    created = Referral.objects.get(reason="Chest pain on exertion; rule out angina.")
    assert (created.priority, created.receiving_practitioner) == ("urgent", None)
    expect(page.locator(f"[data-referral='{created.pk}']")).to_contain_text("Draft")


def test_past_referrals_beyond_the_latest_ten_are_shown_on_request(
    screen_for, coordinator, clinic
):
    patient = clinic["patient"]
    for _ in range(12):
        cancelled = ReferralFactory(patient=patient, coordinator=coordinator)
        services.referral_send(referral=cancelled, actor=coordinator)
        services.referral_cancel(referral=cancelled, actor=coordinator, reason="Moved away.")
    screen = screen_for(coordinator)
    page = screen.open(f"/patients/{patient.pk}/")
    past = page.locator(".referrals .cards").nth(1).locator("[data-referral]")
    expect(past).to_have_count(10)
    page.get_by_role("button", name="Show all 12").click()
    expect(past).to_have_count(12)
    expect(page.get_by_role("button", name="Show all 12")).to_have_count(0)
