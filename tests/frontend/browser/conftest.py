"""Browser tests: headless Chromium (Debian's package) driven by Playwright against a live
test server. Each screen is scanned with axe-core and saved as a screenshot under
artifacts/screens/ (git-ignored)."""

import datetime
import importlib
import json
import os
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.test import Client
from django.utils import timezone

from crm.choices import Channel, Department
from interactions.choices import Sensitivity
from patients.models import CommunicationConsent
from referrals import services
from tests.factories import (
    ContactPointFactory,
    FollowUpFactory,
    InteractionFactory,
    LanguageFactory,
    PatientFactory,
    PractitionerFactory,
    ReferralFactory,
)

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE = settings.BASE_DIR / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = settings.BASE_DIR / "artifacts" / "screens"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


# What data migrations put in the database; a live-server test empties every table after
# it runs, so each one puts this back first.
REFERENCE_DATA = [
    ("crm.migrations.0002_staff_role_groups", "create_groups"),
    ("referrals.migrations.0002_default_service_levels", "create_defaults"),
    ("interactions.migrations.0004_default_complaint_service_levels", "create_defaults"),
    ("appointments.migrations.0002_service_types_and_referral_appointments", "forward"),
]


@pytest.fixture(autouse=True)
def reference_data(transactional_db):
    for module, function in REFERENCE_DATA:
        getattr(importlib.import_module(module), function)(django_apps, None)


@pytest.fixture(scope="package")
def browser():
    if not CHROMIUM.exists() or not AXE.exists():
        missing = "Chromium (apt-get install chromium)" if not CHROMIUM.exists() else str(AXE)
        message = f"Browser tests need {missing}; `make test` installs the npm part."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's synchronous API keeps an event loop marked as running in this thread
    # while it is open; the ORM calls the tests make between browser steps are still plain
    # synchronous code. Allowed for these tests only, and only while the browser runs.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            yield chromium
            chromium.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


class Screen:
    """A browser tab signed in (or not) against the live server, that records API
    requests and fails the test on any script error or CSP violation."""

    def __init__(self, page, base_url):
        self.page = page
        self.base_url = base_url
        self.api_requests = []
        self.problems = []
        page.on("request", self._request)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("console", self._console)

    def _request(self, request):
        if "/api/" in request.url:
            self.api_requests.append(f"{request.method} {request.url.split('/api/', 1)[1]}")

    def _console(self, message):
        # A refused request the test provoked (403, 409, ...) is logged by the browser as
        # "Failed to load resource"; anything else at error level is a defect.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.problems.append(f"console: {message.text}")

    def open(self, path):
        self.page.goto(self.base_url + path)
        return self.page

    def check_accessibility(self, name):
        """Run axe-core on the page as it is now; serious or critical findings fail."""
        self.page.evaluate(AXE.read_text())
        result = self.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not serious, f"{name}: {json.dumps(serious, indent=1)}"

    def capture(self, name, *, check=True):
        """Screenshot at the current size, after an accessibility scan."""
        if check:
            self.check_accessibility(name)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        width = self.page.viewport_size["width"]
        self.page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)

    def capture_both_sizes(self, name):
        """The screen at desktop and phone width: scanned and saved at each."""
        self.capture(name)
        self.page.set_viewport_size(PHONE)
        self.settle()
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} scrolls sideways at 390 px ({width} px wide)"
        self.capture(name)
        self.page.set_viewport_size(DESKTOP)
        self.settle()

    def settle(self):
        """Let resize observers (the charts) redraw: wait for two animation frames."""
        self.page.evaluate(
            "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )


@pytest.fixture
def screen_for(browser, live_server):
    """screen_for(user) opens a tab signed in as ``user``; screen_for(None) signed out."""
    contexts = []
    screens = []

    def make(user):
        context = browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="UTC")
        contexts.append(context)
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            context.add_cookies(
                [{"name": cookie.key, "value": cookie.value, "url": live_server.url}]
            )
        context.set_default_timeout(10_000)
        screen = Screen(context.new_page(), live_server.url)
        screens.append(screen)
        return screen

    yield make
    for context in contexts:
        context.close()
    for screen in screens:
        assert not screen.problems, screen.problems


def later_today(now):
    """Halfway from now to midnight (the worklist's day): due today at any time of day."""
    midnight = timezone.make_aware(
        datetime.datetime.combine(timezone.localdate(now), datetime.time.min)
    ) + datetime.timedelta(days=1)
    return now + (midnight - now) / 2


@pytest.fixture
def clinic(coordinator, billing):
    """A small clinic: one patient assigned to the coordinator with a referral sent two
    hours ago,
    a follow-up due today, a restricted note and a billing call."""
    now = timezone.now()
    patient = PatientFactory(
        given_name="Lucía",
        family_name="Gómez",
        preferred_name="Lucy",
        birth_date=datetime.date(1961, 3, 9),
        mrn="T-900100",
        interpreter_needed="yes",
        accessibility_needs=["large_print"],
        preferred_channel=Channel.PHONE,
        contact_window_start=datetime.time(9),
        contact_window_end=datetime.time(12),
        time_zone="America/New_York",
        care_coordinator=coordinator,
    )
    LanguageFactory(patient=patient, language="es")
    ContactPointFactory(patient=patient, value="+16175550142")
    CommunicationConsent.objects.create(
        patient=patient,
        channel=Channel.SMS,
        purpose="care_coordination",
        status="opt_out",
        source="phone",
        captured_by=coordinator,
    )
    InteractionFactory(
        patient=patient,
        channel=Channel.PORTAL,
        department=Department.CLINICAL,
        summary="Restricted: discussed a sensitive diagnosis.",
        sensitivity=Sensitivity.RESTRICTED,
        occurred_at=now - datetime.timedelta(days=2),
    )
    InteractionFactory(
        patient=patient,
        channel=Channel.PHONE,
        department=Department.BILLING,
        topic="billing",
        summary="Asked about a statement; explained the copay.",
        occurred_at=now - datetime.timedelta(days=1),
    )
    receiver = PractitionerFactory(specialty="Cardiology")
    referral = ReferralFactory(
        patient=patient,
        coordinator=coordinator,
        receiving_organization=receiver.organization,
        receiving_practitioner=receiver,
        reason="Palpitations on exertion.",
    )
    services.referral_send(
        referral=referral, actor=coordinator, at=now - datetime.timedelta(hours=2)
    )
    accepted = ReferralFactory(
        patient=patient, coordinator=coordinator, specialty="Neurology", priority="urgent"
    )
    services.referral_send(referral=accepted, actor=coordinator)
    services.referral_accept(referral=accepted, actor=coordinator)
    follow_up = FollowUpFactory(
        patient=patient,
        title="Confirm the interpreter for Friday",
        assigned_to=coordinator,
        queue=Department.CARE_COORDINATION,
        due_at=later_today(now),
    )
    referral.refresh_from_db()
    return {"patient": patient, "referral": referral, "follow_up": follow_up}
