"""The experience metrics' messaging figures, against messages whose outcome is known."""

import datetime as dt

import pytest
import time_machine

from messaging.models import Message
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

DAY = dt.datetime(2026, 11, 10, 15, tzinfo=dt.UTC)


def message(patient, *, direction="outbound", channel="sms", **fields):
    fields.setdefault("purpose", "" if direction == "inbound" else "care_coordination")
    fields.setdefault("status", "received" if direction == "inbound" else "delivered")
    return Message.objects.create(
        patient=patient,
        direction=direction,
        channel=channel,
        department="care_coordination",
        body="Hello",
        address="+16175550100",
        sender="patient" if direction == "inbound" else "staff",
        created_at=fields.pop("created_at", DAY),
        **fields,
    )


def test_sent_delivered_failed_opt_outs_replies_and_time_to_answer(api):
    ana, ben = PatientFactory(), PatientFactory()
    first = message(ana)
    message(ana, status="sent")
    message(ben, status="undeliverable")
    message(ben, status="refused")
    message(ben, channel="email", purpose="surveys")
    message(ana, direction="inbound", reply_to=first, answered_at=DAY + dt.timedelta(hours=2))
    message(ana, direction="inbound", reply_to=first)  # not answered yet
    message(ana, direction="inbound", keyword="stop", answered_at=DAY)
    message(ben, direction="inbound", keyword="stop", answered_at=DAY)  # never texted
    message(ana, created_at=DAY - dt.timedelta(days=60))  # outside the period

    with time_machine.travel(DAY + dt.timedelta(days=1)):
        response = api.get("/api/metrics/experience/?start=2026-11-01&end=2026-11-30")
    assert response.status_code == 200, response.json()
    figures = response.json()["messages"]
    rows = {(r["channel"], r["purpose"]): r for r in figures["by_channel_and_purpose"]}
    assert rows[("sms", "care_coordination")] == {
        "channel": "sms",
        "purpose": "care_coordination",
        "went_out": 2,
        "delivered": 1,
        "failed": 1,
        "refused": 1,
        "waiting": 0,
    }
    assert rows[("email", "surveys")]["delivered"] == 1
    # Ana was texted (twice, one reply, then STOP); Ben's texts never went out.
    assert figures["reply_rate"] == {"numerator": 1, "denominator": 2, "rate": 0.5}
    assert figures["opt_out_rate"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
    assert figures["hours_to_answer"] == {"median": 2.0, "p90": 2.0, "n": 1, "unanswered": 1}
