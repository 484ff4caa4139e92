import datetime

import pytest
from django.utils import timezone

from integrations.services import department_event_record
from interactions.choices import Sensitivity
from interactions.selectors import OPEN_SHOWN
from referrals import services
from tests.conftest import client_for
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
from tests.referrals.helpers import referral_in

pytestmark = pytest.mark.django_db


def build_patient(coordinator, size: int):
    patient = PatientFactory(care_coordinator=coordinator, interpreter_needed="yes")
    ContactPointFactory(patient=patient)
    LanguageFactory(patient=patient, language="es")
    now = timezone.now()
    # Every relation the 360 shows is filled, so a missing join would show as N+1.
    receiver = PractitionerFactory()
    directory = {
        "referring_practitioner": PractitionerFactory(),
        "receiving_organization": receiver.organization,
        "receiving_practitioner": receiver,
        "coordinator": coordinator,
    }
    for n in range(size):
        InteractionFactory(
            patient=patient, staff=coordinator, occurred_at=now - datetime.timedelta(hours=n)
        )
        referral = ReferralFactory(patient=patient, **directory)
        services.referral_send(referral=referral, actor=coordinator)
        FollowUpFactory(
            patient=patient,
            assigned_to=coordinator,
            due_at=now + datetime.timedelta(days=n, hours=-12),
        )
        department_event_record(
            actor=None,
            patient=patient,
            kind="prescription_ready",
            occurred_at=now - datetime.timedelta(hours=n),
        )
    return patient


def test_it_returns_the_whole_picture(api, coordinator):
    patient = build_patient(coordinator, 3)
    data = api.get(f"/api/patients/{patient.pk}/360/").json()

    assert data["patient"]["id"] == patient.pk
    assert data["patient"]["interpreter_needed"]["value"] == "yes"
    assert data["patient"]["languages"][0]["language"] == "es"
    assert len(data["patient"]["contact_points"]) == 1
    assert len(data["interactions"]) == 3
    assert data["interactions_next"] is None
    assert [r["status"]["value"] for r in data["open_referrals"]] == ["sent"] * 3
    assert data["open_referrals"][0]["next_step"]["step"] == "receiver accepts"
    assert data["past_referrals"] == []
    assert data["counts"] == {
        "interactions": 3,
        "referrals": 3,
        "open_referrals": 3,
        "past_referrals": 0,
        "open_follow_ups": 3,
        "overdue_follow_ups": 1,
    }


def test_declined_closed_and_cancelled_referrals_stay_on_the_360(api, coordinator):
    """The latest ten, newest first, with the report of a closed one; the count says
    how many there are in all."""
    patient = build_patient(coordinator, 0)
    for state in ["declined"] + ["cancelled"] * 11:
        referral_in(state, coordinator, patient=patient)
    closed = referral_in("closed", coordinator, patient=patient)
    data = api.get(f"/api/patients/{patient.pk}/360/").json()
    assert data["open_referrals"] == []
    assert len(data["past_referrals"]) == 10 and data["counts"]["past_referrals"] == 13
    assert data["past_referrals"][0]["id"] == closed.pk
    assert data["past_referrals"][0]["report_received_on"] == closed.report_received_on.isoformat()


def test_the_timeline_shows_the_latest_20_and_links_to_the_rest(api, coordinator):
    patient = build_patient(coordinator, 25)
    data = api.get(f"/api/patients/{patient.pk}/360/").json()
    times = [i["occurred_at"] for i in data["interactions"]]
    assert len(times) == 20 and times == sorted(times, reverse=True)
    assert data["counts"]["interactions"] == 25
    # The link goes on after the 20 shown: the other 5, in order, no repeats.
    rest = api.get(data["interactions_next"]).json()
    ids = [i["id"] for i in data["interactions"]] + [i["id"] for i in rest["results"]]
    newest_first = patient.interactions.order_by("-occurred_at", "-id")
    assert ids == list(newest_first.values_list("id", flat=True))
    assert rest["next"] is None


def test_the_timeline_link_goes_on_after_rows_with_the_same_time(api, coordinator):
    """Imports can give many interactions one timestamp; the boundary splits no tie."""
    patient = PatientFactory(care_coordinator=coordinator)
    at = timezone.now() - datetime.timedelta(days=1)
    for n in range(23):
        InteractionFactory(patient=patient, occurred_at=at - datetime.timedelta(hours=n // 3))
    data = api.get(f"/api/patients/{patient.pk}/360/").json()
    rest = api.get(data["interactions_next"]).json()
    ids = [i["id"] for i in data["interactions"]] + [i["id"] for i in rest["results"]]
    newest_first = patient.interactions.order_by("-occurred_at", "-id")
    assert ids == list(newest_first.values_list("id", flat=True))


def test_the_query_count_is_the_same_for_1_and_for_200_related_rows(
    api, coordinator, django_assert_num_queries
):
    small = build_patient(coordinator, 1)
    large = build_patient(coordinator, 200)
    # roles, patient+counts, 4 child prefetches, timeline, referrals, follow-ups,
    # appointments, department events, targets, and the access record
    for patient in (small, large):
        coordinator.__dict__.pop("_crm_roles", None)  # a real request loads a fresh user
        with django_assert_num_queries(13):
            response = api.get(f"/api/patients/{patient.pk}/360/")
        assert response.status_code == 200
    assert len(response.json()["open_referrals"]) == OPEN_SHOWN
    assert len(response.json()["department_events"]) == 10


def test_the_newest_open_referrals_and_the_follow_ups_due_first_come_with_their_counts(
    api, coordinator
):
    """A patient seen for years by many services: the 360 brings the first few of each
    open list, in the lists' own order, and says how many there are; the lists page on
    to the rest."""
    patient = build_patient(coordinator, OPEN_SHOWN + 3)
    referral_in("cancelled", coordinator, patient=patient)
    data = api.get(f"/api/patients/{patient.pk}/360/").json()

    newest = api.get(f"/api/referrals/?patient={patient.pk}&status=sent&page_size=50").json()
    assert [r["id"] for r in data["open_referrals"]] == [
        r["id"] for r in newest["results"][:OPEN_SHOWN]
    ]
    due_first = api.get(f"/api/follow-ups/?patient={patient.pk}&status=open&page_size=50").json()
    assert [f["id"] for f in data["open_follow_ups"]] == [
        f["id"] for f in due_first["results"][:OPEN_SHOWN]
    ]
    assert len(data["past_referrals"]) == 1
    assert data["counts"] == {
        "interactions": OPEN_SHOWN + 3,
        "referrals": OPEN_SHOWN + 4,
        "open_referrals": OPEN_SHOWN + 3,
        "past_referrals": 1,
        "open_follow_ups": OPEN_SHOWN + 3,
        "overdue_follow_ups": 1,
    }


def test_restricted_interactions_are_hidden_from_billing(billing, coordinator):
    patient = PatientFactory(care_coordinator=coordinator)
    InteractionFactory(patient=patient, sensitivity=Sensitivity.RESTRICTED)
    InteractionFactory(patient=patient)
    data = client_for(billing).get(f"/api/patients/{patient.pk}/360/").json()
    assert [i["sensitivity"]["value"] for i in data["interactions"]] == ["normal"]
    assert data["counts"]["interactions"] == 1


def test_it_shows_upcoming_and_recent_appointments_with_confirmation_and_reminders(
    api, coordinator
):
    from appointments import services as visits
    from appointments.models import ServiceType
    from messaging.models import Message

    patient = build_patient(coordinator, 0)
    follow_up_visit = ServiceType.objects.get(code="follow-up")
    now = timezone.now()

    def book(start):
        return visits.appointment_create(
            actor=coordinator, patient=patient, service_type=follow_up_visit, start=start
        )

    past = book(now + datetime.timedelta(days=5))
    Message.objects.filter(appointment=past).update(status="delivered")  # both went out
    visits.appointment_reschedule(
        appointment=past, actor=coordinator, start=now - datetime.timedelta(days=3)
    )
    ahead = book(now + datetime.timedelta(days=4))
    visits.appointment_confirm(appointment=ahead, actor=coordinator)
    data = api.get(f"/api/patients/{patient.pk}/360/").json()
    [upcoming] = data["upcoming_appointments"]
    assert upcoming["id"] == ahead.pk and upcoming["status"]["value"] == "confirmed"
    assert upcoming["reminders_sent"] == 0 and upcoming["confirmed_at"]
    [recent] = data["recent_appointments"]
    assert recent["id"] == past.pk and recent["reminders_sent"] == 2
    pharmacy_view = client_for(UserFactory(roles=["pharmacy"])).get(
        f"/api/patients/{patient.pk}/360/"
    )
    assert "upcoming_appointments" not in pharmacy_view.json()
