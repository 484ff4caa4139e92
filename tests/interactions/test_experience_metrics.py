"""A hand-computed experience deck: each expected figure is worked out by hand."""

import pytest
import time_machine

from interactions import services
from interactions.models import SurveyResponse
from tests.factories import ContactPointFactory, InteractionFactory, PatientFactory
from tests.referrals.deck import at

pytestmark = pytest.mark.django_db

NOW = at(11, 15, 12)
PERIOD = {"start": "2026-10-01", "end": "2026-10-31"}


@pytest.fixture
def deck(coordinator):
    c = coordinator
    patient = PatientFactory()
    ContactPointFactory(patient=patient, system="sms")
    ContactPointFactory(patient=patient, system="email", value="patient@example.org")
    with time_machine.travel(NOW, tick=False):
        # Three answered by link, one link never answered, all sent in October.
        for sent, nps, csat in [(at(10, 2), 10, 5), (at(10, 3), 10, 4), (at(10, 4), 9, 4)]:
            _, token = services.survey_invite(
                actor=c, patient=patient, channel="sms", department="clinical", at=sent
            )
            services.survey_answer(
                token=token, nps_score=nps, csat_score=csat, now=sent.replace(hour=9)
            )
        services.survey_invite(
            actor=c, patient=patient, channel="email", department="clinical", at=at(10, 5)
        )
        # Recorded by staff.
        for day, nps, csat in [(6, 9, 3), (7, 8, 1), (8, 7, None), (9, 6, None), (10, 2, None)]:
            services.survey_response_record(
                actor=c,
                patient=patient,
                channel="phone",
                department="clinical",
                nps_score=nps,
                csat_score=csat,
                received_at=at(10, day),
            )
        # Outside the period.
        for when in (at(9, 30, 23), at(11, 1)):
            services.survey_response_record(
                actor=c,
                patient=patient,
                channel="phone",
                department="clinical",
                nps_score=0,
                received_at=when,
            )

        def complaint(category, received, steps):
            made = services.complaint_create(
                actor=c,
                patient=patient,
                channel="phone",
                category=category,
                department="front_desk",
                description="x",
                at=received,
            )
            for name, when in steps:
                extra = (
                    {"resolution_note": "Fixed", "patient_informed": True}
                    if (name == "resolve")
                    else {}
                )
                made = services.COMPLAINT_TRANSITION_SERVICES[name](
                    complaint=made, actor=c, at=when, **extra
                )
            return made

        complaint("billing", at(10, 1), [("acknowledge", at(10, 1, 6)), ("resolve", at(10, 5))])
        complaint(
            "wait_time", at(10, 2), [("acknowledge", at(10, 3, 12)), ("resolve", at(10, 12))]
        )
        complaint(
            "staff_attitude",
            at(10, 3),
            [("investigate", at(10, 3, 2)), ("resolve", at(10, 4)), ("close", at(10, 5))],
        )
        complaint("communication", at(10, 20), [("acknowledge", at(10, 20, 12))])
        complaint("facility", at(10, 25), [])
        complaint("other", at(9, 30), [])  # before the period

        def inbound(channel, when, *replies):
            contact = InteractionFactory(
                patient=patient, channel=channel, direction="inbound", occurred_at=when
            )
            for reply in replies:
                InteractionFactory(
                    patient=patient,
                    channel=channel,
                    direction="outbound",
                    parent=contact,
                    occurred_at=reply,
                )

        inbound("phone", at(10, 1, 9), at(10, 1, 10))
        inbound("phone", at(10, 2, 9), at(10, 2, 13))
        inbound("phone", at(10, 3, 9))
        inbound("email", at(10, 5, 8), at(10, 6, 8), at(10, 7, 8))
        inbound("email", at(9, 30, 8), at(10, 1, 8))  # before the period


def get(api, **params):
    with time_machine.travel(NOW, tick=False):
        response = api.get("/api/metrics/experience/", {**PERIOD, **params})
    assert response.status_code == 200, response.content
    return response.json()


def test_scores_match_the_hand_computed_deck(api, deck):
    m = get(api)
    # NPS 10 10 9 9 | 8 7 | 6 2 -> (4 - 2) / 8
    assert m["nps"] == {"score": 25.0, "promoters": 4, "passives": 2, "detractors": 2, "n": 8}
    # CSAT 5 4 4 | 3 1 -> 3 of 5 satisfied
    assert m["csat"] == {"score": 60.0, "satisfied": 3, "n": 5}
    assert m["survey_response_rate"] == {"numerator": 3, "denominator": 4, "rate": 0.75}


def test_complaint_figures_match_the_hand_computed_deck(api, deck):
    c = get(api)["complaints"]
    assert c["received"] == 5
    assert {k: v for k, v in c["by_category"].items() if v} == {
        "billing": 1,
        "wait_time": 1,
        "staff_attitude": 1,
        "communication": 1,
        "facility": 1,
    }
    assert c["by_status"] == {
        "new": 1,
        "acknowledged": 1,
        "investigating": 0,
        "resolved": 2,
        "closed": 1,
    }
    # first response 6, 36, 2, 12 h -> median (6+12)/2, p90 12 + 0.7 * 24
    assert c["hours_to_first_response"] == {"median": 9.0, "p90": 28.8, "n": 4}
    # resolution 96, 240, 24 h -> median 96, p90 96 + 0.8 * 144
    assert c["hours_to_resolution"] == {"median": 96.0, "p90": 211.2, "n": 3}
    # billing (medium, 14 d) and staff attitude (high, 7 d) in time; wait time took 10 d
    assert c["resolved_within_target"] == {"numerator": 2, "denominator": 3, "percent": 66.7}


def test_first_response_time_per_channel_matches_the_deck(api, deck):
    rows = {row["channel"]: row for row in get(api)["first_response_hours_by_channel"]}
    # phone: 1 h and 4 h answered, one never -> median 2.5, p90 1 + 0.9 * 3
    assert rows["phone"] == {
        "channel": "phone",
        "inbound": 3,
        "answered": 2,
        "median": 2.5,
        "p90": 3.7,
    }
    # email: the first reply counts, after 24 h
    assert rows["email"] == {
        "channel": "email",
        "inbound": 1,
        "answered": 1,
        "median": 24.0,
        "p90": 24.0,
    }


def test_filters_by_channel_department_and_category(api, deck):
    phone = get(api, channel="phone")
    assert phone["nps"]["n"] == 5 and phone["survey_response_rate"]["denominator"] == 0
    assert get(api, department="billing")["nps"]["n"] == 0
    assert get(api, category="billing")["complaints"]["received"] == 1
    assert SurveyResponse.objects.count() == 10


def test_an_unknown_filter_value_is_a_field_error(api):
    response = api.get("/api/metrics/experience/", {**PERIOD, "channel": "pigeon"})
    assert response.status_code == 400 and "channel" in response.json()["errors"]
