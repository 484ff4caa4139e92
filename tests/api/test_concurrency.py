"""Real concurrent writers on PostgreSQL (row locks and unique indexes at work)."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from appointments.models import Appointment, ServiceType
from appointments.services import appointment_upsert
from crm.errors import InvalidTransition
from patients.models import Patient
from referrals import services
from tests.conftest import client_for
from tests.referrals.helpers import referral_in

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs a server with row-level locks"
    ),
]


def run_together(*jobs):
    """Start the jobs at the same instant, each on its own connection."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def runner(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as exc:  # collected for the assertions
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_staff_accepting_the_same_referral_make_one_transition(coordinator, other_coordinator):
    referral = referral_in("sent", coordinator)

    results = run_together(
        lambda: services.referral_accept(referral=referral, actor=coordinator),
        lambda: services.referral_accept(referral=referral, actor=other_coordinator),
    )

    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], InvalidTransition)
    referral.refresh_from_db()
    assert referral.status == "accepted"
    assert referral.events.filter(action="accept").count() == 1


def test_concurrent_retries_with_one_idempotency_key_create_one_patient(coordinator):
    body = {"family_name": "Doe", "given_name": "Jane", "birth_date": "1980-01-01"}

    def post():
        return client_for(coordinator).post(
            "/api/patients/", body, "json", HTTP_IDEMPOTENCY_KEY="retry-1"
        )

    responses = run_together(post, post, post)

    assert [r.status_code for r in responses] == [201, 201, 201], [
        r.content[:300] for r in responses if r.status_code != 201
    ]
    assert len({r.json()["id"] for r in responses}) == 1
    assert Patient.objects.count() == 1


def test_concurrent_edits_with_if_match_let_one_win(coordinator, front_desk):
    patient = Patient.objects.create(
        mrn="C1", family_name="Doe", given_name="Jane", birth_date="1980-01-01"
    )

    def edit(user, name):
        return lambda: client_for(user).patch(
            f"/api/patients/{patient.pk}/", {"given_name": name}, "json", HTTP_IF_MATCH='"1"'
        )

    responses = run_together(edit(coordinator, "Janet"), edit(front_desk, "Janie"))

    assert sorted(r.status_code for r in responses) == [200, 412]
    patient.refresh_from_db()
    assert patient.version == 2


def test_concurrent_pushes_of_one_new_appointment_make_one(coordinator):
    """A scheduling system that retries, or sends the same event twice at once."""
    patient = Patient.objects.create(
        mrn="C1", given_name="Ana", family_name="Lee", birth_date="1980-01-01"
    )
    push = {
        "actor": coordinator,
        "source": "ehr",
        "external_id": "E-42",
        "patient": patient,
        "service_type": ServiceType.objects.get(code="follow-up"),
        "start": timezone.now() + datetime.timedelta(days=3),
    }
    results = run_together(*[lambda: appointment_upsert(**push) for _ in range(6)])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(created for _, created in results) == [False] * 5 + [True]
    [appointment] = Appointment.objects.filter(source="ehr", external_id="E-42")
    assert {a.pk for a, _ in results} == {appointment.pk}
    assert appointment.events.count() == 1
