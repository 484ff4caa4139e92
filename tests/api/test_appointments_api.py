"""The appointments API: booking, a scheduling system's push, the steps with If-Match,
the event log, filters, and clear 4xx answers for bad input."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.conftest import client_for
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def soon(days=3):
    return (timezone.now() + dt.timedelta(days=days)).replace(microsecond=0)


START = soon()  # one time for every push that does not move the appointment


def pushed(patient, **fields):
    return {
        "source": "ehr",
        "external_id": "E-1",
        "patient_id": patient.pk,
        "service_type": "follow-up",
        "start": START.isoformat(),
        **fields,
    }


def test_front_desk_books_an_appointment_and_reads_it_back(front_desk):
    client = client_for(front_desk)
    patient = PatientFactory()
    response = client.post(
        "/api/appointments/",
        {"patient_id": patient.pk, "service_type": "follow-up", "start": soon().isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == {"value": "booked", "label": "Booked"}
    assert body["source"] == "crm" and body["patient"]["id"] == patient.pk
    assert body["allowed_actions"] == [
        "reschedule",
        "confirm",
        "arrive",
        "fulfil",
        "cancel",
        "no_show",
    ]
    assert dt.datetime.fromisoformat(body["end"]) - dt.datetime.fromisoformat(
        body["start"]
    ) == dt.timedelta(minutes=20)
    assert client.get(f"/api/appointments/{body['id']}/")["ETag"] == '"1"'


def test_a_push_is_created_then_known_and_a_retry_changes_nothing(api):
    patient = PatientFactory()
    first = api.post("/api/appointments/push/", pushed(patient), format="json")
    assert first.status_code == 201, first.json()
    again = api.post("/api/appointments/push/", pushed(patient), format="json")
    assert again.status_code == 200
    assert again.json()["version"] == first.json()["version"]
    events = api.get(f"/api/appointments/{first.json()['id']}/events/").json()
    assert [e["action"]["value"] for e in events] == ["create"]
    confirmed = api.post(
        "/api/appointments/push/", pushed(patient, status="confirmed"), format="json"
    )
    assert confirmed.json()["status"]["value"] == "confirmed"


def test_a_push_for_another_patient_or_an_impossible_status_is_a_409(api):
    patient = PatientFactory()
    api.post("/api/appointments/push/", pushed(patient, status="cancelled"), format="json")
    response = api.post("/api/appointments/push/", pushed(PatientFactory()), format="json")
    assert response.status_code == 409 and response.json()["code"] == "patient_mismatch"
    response = api.post("/api/appointments/push/", pushed(patient, status="booked"), format="json")
    assert response.status_code == 409
    assert response.json()["current_status"] == "cancelled"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service_type": "no-such-type"}, "service_type"),
        ({"start": "2026-13-40T10:00"}, "start"),
        ({"end": "2020-01-01T00:00:00Z"}, "end"),
        ({"status": "fulfilled"}, "status"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"location": "x" * 201}, "location"),
        ({"department": "Cardio\x00logy"}, "department"),
    ],
)
def test_bad_bookings_are_400_with_the_field_named(api, change, field):
    patient = PatientFactory()
    body = {
        "patient_id": patient.pk,
        "service_type": "follow-up",
        "start": soon().isoformat(),
        **change,
    }
    response = api.post("/api/appointments/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_the_steps_take_if_match_and_refuse_what_the_state_does_not_allow(api):
    patient = PatientFactory()
    created = api.post(
        "/api/appointments/",
        {"patient_id": patient.pk, "service_type": "follow-up", "start": soon().isoformat()},
        format="json",
    ).json()
    url = f"/api/appointments/{created['id']}"
    stale = api.post(f"{url}/confirm/", {}, format="json", HTTP_IF_MATCH='"7"')
    assert stale.status_code == 412
    confirmed = api.post(f"{url}/confirm/", {}, format="json")
    assert confirmed.json()["status"]["value"] == "confirmed"
    again = api.post(f"{url}/confirm/", {}, format="json")
    assert again.status_code == 409 and "confirm" not in again.json()["allowed_actions"]
    moved = api.post(f"{url}/reschedule/", {"start": soon(5).isoformat()}, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["status"]["value"] == "booked"
    early = api.post(f"{url}/no-show/", {}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "step_refused"
    no_reason = api.post(f"{url}/cancel/", {}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]


def test_the_list_filters_by_day_status_and_confirmation(api):
    two_days = soon(2).isoformat()
    patient = PatientFactory()
    for start, external in (
        (soon(1).isoformat(), "a"),
        (two_days, "b"),
        (soon(9).isoformat(), "c"),
    ):
        api.post(
            "/api/appointments/push/",
            pushed(patient, external_id=external, start=start),
            format="json",
        )
    api.post(
        "/api/appointments/push/",
        pushed(patient, external_id="b", start=two_days, status="confirmed"),
        format="json",
    )
    window = {"start_after": soon(0).isoformat(), "start_before": soon(3).isoformat()}
    listed = api.get("/api/appointments/", window).json()["results"]
    assert [a["external_id"] for a in listed] == ["a", "b"]
    unconfirmed = api.get("/api/appointments/", {**window, "confirmed": "false"}).json()["results"]
    assert [a["external_id"] for a in unconfirmed] == ["a"]
    assert api.get("/api/appointments/", {"status": "nonsense"}).status_code == 400


def test_the_service_types_list_their_reminders(api):
    types = {t["code"]: t for t in api.get("/api/service-types/").json()}
    assert [r["before_hours"] for r in types["new-patient"]["reminders"]] == [168, 48, 2]


def test_the_front_desk_day_lists_tomorrow_with_who_to_call(
    front_desk, django_assert_max_num_queries
):
    from tests.messaging.conftest import reachable_patient

    client = client_for(front_desk)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    at_nine = timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(9)))
    for n, language in enumerate(["es", "vi", "ar"]):
        patient = reachable_patient(
            language, interpreter_needed="yes" if language == "ar" else "no"
        )
        client.post(
            "/api/appointments/push/",
            pushed(
                patient,
                external_id=f"D{n}",
                start=(at_nine + dt.timedelta(minutes=30 * n)).isoformat(),
                status="confirmed" if n == 1 else "booked",
            ),
            format="json",
        )
    client.post(
        "/api/appointments/push/",
        pushed(
            PatientFactory(),
            external_id="later",
            start=(at_nine + dt.timedelta(days=1)).isoformat(),
        ),
        format="json",
    )
    with django_assert_max_num_queries(9):
        day = client.get("/api/appointments/day/").json()
    assert day["day"] == tomorrow.isoformat()
    assert day["counts"] == {"appointments": 3, "confirmed": 1, "unconfirmed": 2}
    assert [a["patient"]["language"] for a in day["appointments"]] == ["es", "vi", "ar"]
    calls = client.get("/api/appointments/day/", {"unconfirmed": "true"}).json()["appointments"]
    assert [a["patient"]["language"] for a in calls] == ["es", "ar"]
    assert calls[1]["patient"]["interpreter_needed"] == "yes"
    assert calls[0]["patient"]["phone"].startswith("+1")
    assert client.get("/api/appointments/day/", {"day": "2026-02-30"}).status_code == 400
