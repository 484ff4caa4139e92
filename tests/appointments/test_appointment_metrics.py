"""The appointment metrics against a deck of appointments whose figures are computed by
hand (below), on whichever database the suite runs on.

    visit  type         department   booked  start   status     confirmed  reminder  survey
    A1     new-patient  Cardiology   Oct 20  Nov 3   fulfilled  yes        delivered answered
    A2     follow-up    Cardiology   Nov 1   Nov 5   no-show    no         sent      -
    A3     follow-up    Dermatology  Oct 6   Nov 10  fulfilled  yes        refused   not answered
    A4     new-patient  Dermatology  Nov 8   Nov 12  no-show    no         none      -
    A5     follow-up    Cardiology   Nov 1   Nov 20  cancelled  -          (left out everywhere)
    A6     follow-up    Cardiology   Nov 20  Dec 2   booked     -          (after the period)
    A7     follow-up    Cardiology   Nov 20  Nov 28  confirmed  yes        sent      -
    A8     follow-up    Cardiology   Nov 2   Nov 16  fulfilled  no         delivered none sent
    A9     new-patient  Cardiology   -       Nov 18  proposed   (proposals left out)

Held (not cancelled, not proposed): A1 A2 A3 A4 A7 A8 = 6.
Confirmation rate 3/6 (A1 A3 A7). Reminder reach 4/6 (A1 A2 A7 A8).
No-show rate: outcomes A1 A2 A3 A4 A8, missed A2 A4: 2/5.
  new-patient 1/2 (A1 f, A4 n); follow-up 1/3 (A2 n, A3 f, A8 f).
  Cardiology 1/3 (A1, A2, A8); Dermatology 1/2 (A3, A4).
  reminder reached 1/3 (A1, A2, A8); not reached 1/2 (A3, A4).
Lead days 14, 4, 35, 4, 8, 14 -> sorted 4 4 8 14 14 35: median 11, p90 24.5 (continuous).
Survey response: sent after A1 and A3, answered after A1: 1/2.
"""

import datetime as dt

import pytest

from appointments.models import Appointment, ServiceType
from interactions.models import SurveyInvitation
from messaging.models import Message
from tests.conftest import client_for
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def day(month, date, hour=15):
    return dt.datetime(2026, month, date, hour, tzinfo=dt.UTC)


def survey(patient, appointment, answered):
    invitation = SurveyInvitation.objects.create(
        patient=patient,
        token_hash=f"deck-{appointment.pk}",
        channel="sms",
        department="clinical",
        sent_at=appointment.start,
        expires_at=appointment.start + dt.timedelta(days=14),
        used_at=appointment.start + dt.timedelta(days=1) if answered else None,
    )
    message(patient, appointment, "survey_invitation", "delivered", {"survey": invitation.pk})


def message(patient, appointment, rule, status, context=None):
    Message.objects.create(
        patient=patient,
        appointment=appointment,
        channel="sms",
        direction="outbound",
        purpose="appointment_reminders",
        department="front_desk",
        template=rule,
        rule=rule,
        occasion=f"deck:{appointment.pk}:{rule}",
        context=context or {},
        body="Reminder",
        sender="rule",
        status=status,
    )


@pytest.fixture
def deck(service_types):
    kinds = {t.code: t for t in ServiceType.objects.all()}
    rows = [
        (
            "new-patient",
            "Cardiology",
            day(10, 20),
            day(11, 3),
            "fulfilled",
            True,
            "delivered",
            True,
        ),
        ("follow-up", "Cardiology", day(11, 1), day(11, 5), "noshow", False, "sent", None),
        ("follow-up", "Dermatology", day(10, 6), day(11, 10), "fulfilled", True, "refused", False),
        ("new-patient", "Dermatology", day(11, 8), day(11, 12), "noshow", False, None, None),
        (
            "follow-up",
            "Cardiology",
            day(11, 1),
            day(11, 20),
            "cancelled",
            False,
            "cancelled",
            None,
        ),
        ("follow-up", "Cardiology", day(11, 20), day(12, 2), "booked", False, None, None),
        ("follow-up", "Cardiology", day(11, 20), day(11, 28), "confirmed", True, "sent", None),
        (
            "follow-up",
            "Cardiology",
            day(11, 2),
            day(11, 16),
            "fulfilled",
            False,
            "delivered",
            None,
        ),
        ("new-patient", "Cardiology", None, day(11, 18), "proposed", False, None, None),
    ]
    for code, department, booked, start, status, confirmed, reminder, answered in rows:
        patient = PatientFactory()
        appointment = Appointment.objects.create(
            patient=patient,
            service_type=kinds[code],
            department=department,
            start=start,
            end=start + dt.timedelta(minutes=30),
            status=status,
            booked_at=booked,
            confirmed_at=booked + dt.timedelta(days=1) if confirmed else None,
        )
        if reminder:
            message(patient, appointment, "appointment_reminder", reminder)
        if answered is not None:
            survey(patient, appointment, answered)


def ratio(numerator, denominator):
    return {
        "numerator": numerator,
        "denominator": denominator,
        "rate": round(numerator / denominator, 4),
    }


def test_the_figures_match_the_hand_computed_deck(api, deck):
    response = api.get("/api/metrics/appointments/", {"start": "2026-11-01", "end": "2026-11-30"})
    assert response.status_code == 200, response.json()
    figures = response.json()
    assert figures["confirmation_rate"] == ratio(3, 6)
    assert figures["reminder_reach"] == ratio(4, 6)
    assert figures["no_show_rate"] == ratio(2, 5)
    assert figures["no_show_by_service_type"] == [
        {"service_type": "follow-up", **ratio(1, 3)},
        {"service_type": "new-patient", **ratio(1, 2)},
    ]
    assert figures["no_show_by_department"] == [
        {"department": "Cardiology", **ratio(1, 3)},
        {"department": "Dermatology", **ratio(1, 2)},
    ]
    assert figures["no_show_by_reminder"] == [
        {"reminder_reached": False, **ratio(1, 2)},
        {"reminder_reached": True, **ratio(1, 3)},
    ]
    assert figures["lead_time_days"] == {"median": 11.0, "p90": 24.5, "n": 6}
    assert figures["survey_response_rate"] == ratio(1, 2)


def test_an_empty_period_has_no_rates_and_pharmacy_may_not_ask(api, pharmacist, deck):
    figures = api.get(
        "/api/metrics/appointments/", {"start": "2025-01-01", "end": "2025-01-31"}
    ).json()
    assert figures["no_show_rate"] == {"numerator": 0, "denominator": 0, "rate": None}
    assert figures["lead_time_days"] == {"median": None, "p90": None, "n": 0}
    denied = client_for(pharmacist).get(
        "/api/metrics/appointments/", {"start": "2026-11-01", "end": "2026-11-30"}
    )
    assert denied.status_code == 403
