"""The contact policy, and every caller of it, against the same cases: an opt-out in
effect, one that ended, one that has not started, an opt-in, do-not-contact."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from interactions.models import Interaction, SurveyInvitation
from messaging.models import Message
from patients.contact import contact_policy, window_state
from patients.models import CommunicationConsent, Patient
from referrals.models import FollowUp
from tests.factories import ContactPointFactory, PatientFactory
from tests.referrals.helpers import referral_in

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 16)
NOW = dt.datetime(2026, 11, 16, 15, tzinfo=dt.UTC)

# case -> (consent fields or None, patient fields, whether SMS contact is allowed)
CASES = {
    "opt-out in effect": ({"status": "opt_out"}, {}, False),
    "opt-out ended 30 days ago": (
        {"status": "opt_out", "effective_to": TODAY - dt.timedelta(days=30)},
        {},
        True,
    ),
    "opt-out starting next month": (
        {"status": "opt_out", "effective_from": TODAY + dt.timedelta(days=20)},
        {},
        True,
    ),
    "opt-in": ({"status": "opt_in"}, {}, True),
    "do-not-contact": (None, {"do_not_contact": True}, False),
}


def fallback_channel(case: str) -> str:
    """Where a caller that lets the policy choose ends up: SMS when allowed; else a call
    to the same number, unless the patient may not be contacted at all."""
    if CASES[case][2]:
        return "sms"
    return "" if CASES[case][1].get("do_not_contact") else "phone"


def patient_for(case: str, purpose: str) -> Patient:
    consent, fields, _ = CASES[case]
    patient = PatientFactory(preferred_channel="sms", **fields)
    ContactPointFactory(patient=patient, system="sms")
    if consent is not None:
        CommunicationConsent.objects.create(
            patient=patient, channel="sms", purpose=purpose, source="phone", **consent
        )
    return patient


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize("case", CASES)
def test_the_policy(case):
    patient = patient_for(case, "appointment_reminders")
    decision = contact_policy(
        patient, purpose="appointment_reminders", channel="sms", at=timezone.now()
    )
    assert decision.allowed is CASES[case][2]
    assert bool(decision.reason) is not CASES[case][2]


@pytest.mark.parametrize("case", CASES)
def test_logging_an_outbound_sms(api, case):
    patient = patient_for(case, "care_coordination")
    response = api.post(
        "/api/interactions/",
        {
            "patient_id": patient.pk,
            "channel": "sms",
            "direction": "outbound",
            "department": "care_coordination",
            "summary": "Texted the appointment details.",
        },
        "json",
    )
    allowed = CASES[case][2]
    assert response.status_code == (201 if allowed else 409), response.json()
    assert Interaction.objects.filter(patient=patient).exists() is allowed


@pytest.mark.parametrize("case", CASES)
def test_the_booking_message(coordinator, case):
    """Sent when allowed; otherwise refused with the reason, left to a person."""
    patient = patient_for(case, "appointment_reminders")
    referral = referral_in("scheduled", coordinator, patient=patient)
    message = Message.objects.get(referral=referral, rule="referral_scheduled")
    allowed = CASES[case][2]
    assert message.status == ("queued" if allowed else "refused")
    to_do = FollowUp.objects.filter(referral=referral, rule="appointment_reminder").first()
    assert (to_do is None) is allowed
    if to_do is not None:
        assert message.status_reason in to_do.note


@pytest.mark.parametrize("case", CASES)
def test_a_survey_invitation(api, case):
    patient = patient_for(case, "surveys")
    response = api.post(
        "/api/surveys/invitations/",
        {"patient_id": patient.pk, "channel": "sms", "department": "clinical"},
        "json",
    )
    allowed = CASES[case][2]
    assert response.status_code == (201 if allowed else 409), response.json()
    assert SurveyInvitation.objects.filter(patient=patient).exists() is allowed


@pytest.mark.parametrize("case", CASES)
def test_the_360_badges(api, case):
    patient = patient_for(case, "billing")
    status = api.get(f"/api/patients/{patient.pk}/360/").json()["patient"]["contact_status"]
    allowed = CASES[case][2]
    opted_out = [(o["channel"]["value"], o["purpose"]["value"]) for o in status["opted_out"]]
    assert opted_out == ([] if allowed or CASES[case][0] is None else [("sms", "billing")])
    [billing] = [p for p in status["purposes"] if p["purpose"]["value"] == "billing"]
    assert billing["allowed"] is (fallback_channel(case) != "")
    assert (billing["channel"] or {}).get("value", "") == fallback_channel(case)


def test_an_opted_out_channel_falls_back_to_the_next_one_with_an_address():
    patient = patient_for("opt-out in effect", "billing")
    ContactPointFactory(patient=patient, system="email", value="pat@example.org")
    decision = contact_policy(patient, purpose="billing", at=timezone.now())
    assert (decision.allowed, decision.channel, decision.address) == (
        True,
        "email",
        "pat@example.org",
    )


def test_no_channel_left_is_refused_with_the_first_reason():
    patient = patient_for("opt-out in effect", "billing")
    CommunicationConsent.objects.create(
        patient=patient, channel="phone", purpose="billing", source="phone", status="opt_out"
    )
    decision = contact_policy(patient, purpose="billing", at=timezone.now())
    assert not decision.allowed and decision.code == "opted_out"
    assert "No other channel is allowed either" in decision.reason


@pytest.mark.parametrize(
    ("start", "end", "local_now", "inside", "opens"),
    [
        (dt.time(9), dt.time(17), dt.time(10), True, None),
        (dt.time(9), dt.time(17), dt.time(7), False, dt.datetime(2026, 11, 16, 9)),
        (dt.time(9), dt.time(17), dt.time(18), False, dt.datetime(2026, 11, 17, 9)),
        (dt.time(20), dt.time(2), dt.time(1), True, None),  # spans midnight
        (dt.time(20), dt.time(2), dt.time(3), False, dt.datetime(2026, 11, 16, 20)),
    ],
)
def test_the_contact_window_is_read_in_the_patients_time_zone(
    start, end, local_now, inside, opens
):
    patient = PatientFactory(
        time_zone="America/Chicago", contact_window_start=start, contact_window_end=end
    )
    zone = dt.timezone(dt.timedelta(hours=-6))  # Chicago in November
    at = dt.datetime.combine(dt.date(2026, 11, 16), local_now, tzinfo=zone)
    within, opens_at = window_state(patient, at)
    assert within is inside
    if opens is None:
        assert opens_at is None
    else:
        assert opens_at.replace(tzinfo=None) == opens
        assert opens_at.utcoffset() == dt.timedelta(hours=-6)
