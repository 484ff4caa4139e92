"""Care-continuity rules: who gets which follow-up, when, and never twice."""

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, transaction

from crm.periods import next_business_day
from interactions.services import interaction_create
from referrals import rules, services
from referrals.models import FollowUp
from tests.factories import (
    ContactPointFactory,
    FollowUpFactory,
    PatientFactory,
)
from tests.referrals.deck import at
from tests.referrals.helpers import walk

pytestmark = pytest.mark.django_db

NOW = at(11, 16, 10)  # a Monday


def open_rule_follow_ups(referral=None, rule=None):
    found = FollowUp.objects.filter(status="open").exclude(rule="")
    if referral is not None:
        found = found.filter(referral=referral)
    if rule is not None:
        found = found.filter(rule=rule)
    return list(found)


def scheduled(actor, appointment, **fields):
    return walk(
        actor,
        [
            ("create", at(11, 1), {}),
            ("send", at(11, 2), {}),
            ("accept", at(11, 3), {}),
            ("schedule", at(11, 4), {"appointment_at": appointment}),
        ],
        **fields,
    )


def test_next_business_day_skips_the_weekend():
    friday = at(11, 20, 15)
    assert next_business_day(friday) == at(11, 23, 17)
    assert next_business_day(at(11, 16, 9)) == at(11, 17, 17)


def test_a_patient_who_may_not_be_contacted_gets_a_reminder_to_do_that_says_why(coordinator):
    patient = PatientFactory(preferred_channel="sms", do_not_contact=True)
    ContactPointFactory(patient=patient, system="sms")
    with time_machine.travel(NOW, tick=False):
        referral = scheduled(coordinator, at(11, 25, 9), patient=patient)
    [reminder] = open_rule_follow_ups(referral)
    assert reminder.contact_channel == ""
    assert "asked not to be contacted" in reminder.note


def test_a_decline_asks_for_another_provider_until_a_new_referral_replaces_it(coordinator):
    with time_machine.travel(NOW, tick=False):
        referral = walk(
            coordinator,
            [
                ("create", at(11, 1), {}),
                ("send", at(11, 2), {}),
                ("decline", at(11, 16, 9), {"reason": "Full"}),
            ],
            coordinator=coordinator,
        )
        [task] = open_rule_follow_ups(referral)
        assert (task.rule, task.due_at) == ("find_provider", at(11, 17, 17))
        services.referral_create(
            actor=coordinator,
            patient=referral.patient,
            specialty="Cardiology",
            reason="Redirected",
            replaces=referral,
        )
    task.refresh_from_db()
    assert task.status == "done"


def test_a_replacement_must_point_at_a_declined_referral_of_the_same_patient(api, coordinator):
    other = scheduled(coordinator, at(12, 1))
    response = api.post(
        "/api/referrals/",
        {"patient_id": other.patient_id, "specialty": "x", "reason": "y", "replaces_id": other.pk},
        "json",
    )
    assert response.status_code == 400 and "replaces_id" in response.json()["errors"]


def test_closing_asks_for_a_check_in_call(coordinator):
    with time_machine.travel(NOW, tick=False):
        referral = walk(
            coordinator,
            [
                ("create", at(11, 1), {}),
                ("send", at(11, 2), {}),
                ("accept", at(11, 3), {}),
                ("schedule", at(11, 4), {"appointment_at": at(11, 5)}),
                ("seen", at(11, 5), {}),
                ("close", at(11, 16, 9), {"report_received_on": dt.date(2026, 11, 16)}),
            ],
        )
    assert [f.rule for f in open_rule_follow_ups(referral)] == ["post_visit_check_in"]


def test_a_step_recorded_late_dates_its_follow_up_from_the_step(coordinator):
    """A no-show recorded days later still asks for the rebooking call as of the missed
    visit: the follow-up's age and the on-time figure count from then."""
    with time_machine.travel(NOW, tick=False):
        referral = walk(
            coordinator,
            [
                ("create", at(11, 1), {}),
                ("send", at(11, 2), {}),
                ("accept", at(11, 3), {}),
                ("schedule", at(11, 4), {"appointment_at": at(11, 5, 9)}),
                ("no_show", at(11, 5, 10), {}),
            ],
        )
    (rebook,) = open_rule_follow_ups(referral, rule="rebook")
    assert rebook.created_at == at(11, 5, 10)


def test_follow_up_needed_asks_for_a_callback_from_who_logged_it(billing):
    patient = PatientFactory()

    def logged(**fields):
        call = {"channel": "phone", "direction": "inbound", "department": "billing"}
        return interaction_create(actor=billing, patient=patient, **{**call, **fields})

    with time_machine.travel(NOW, tick=False):
        interaction = logged(topic="billing", outcome="follow_up_needed")
        anonymous = logged(
            channel="portal",
            department="pharmacy",
            topic="pharmacy",
            outcome="follow_up_needed",
            staff=None,
        )
        logged(outcome="resolved")
    mine = FollowUp.objects.get(interaction=interaction)
    assert (mine.rule, mine.assigned_to, mine.due_at) == ("callback", billing, at(11, 17, 17))
    assert mine.title == "Call back about billing and insurance"
    general = logged(topic="general", outcome="follow_up_needed")
    assert FollowUp.objects.get(interaction=general).title == "Call back"
    assert FollowUp.objects.get(interaction=anonymous).queue == "pharmacy"
    assert FollowUp.objects.filter(rule="callback").count() == 3


def test_changing_an_outcome_to_follow_up_needed_asks_once(api, billing):
    from tests.factories import InteractionFactory

    interaction = InteractionFactory(staff=billing, outcome="resolved")
    for _ in range(2):
        api.patch(f"/api/interactions/{interaction.pk}/", {"outcome": "follow_up_needed"}, "json")
        api.patch(f"/api/interactions/{interaction.pk}/", {"outcome": "resolved"}, "json")
    assert FollowUp.objects.filter(interaction=interaction, rule="callback").count() == 1


def test_the_visit_confirmation_fires_once_after_the_appointment(coordinator):
    with time_machine.travel(NOW, tick=False):
        referral = scheduled(coordinator, at(11, 18, 9))
    with time_machine.travel(at(11, 18, 8), tick=False):
        assert rules.run_time_based_rules()["visit_confirmation"] == 0
    with time_machine.travel(at(11, 18, 10), tick=False):
        assert rules.run_time_based_rules()["visit_confirmation"] == 1
        assert rules.run_time_based_rules()["visit_confirmation"] == 0
        call_command("run_care_rules", verbosity=0)
    [confirm] = open_rule_follow_ups(referral, "visit_confirmation")
    assert confirm.due_at == at(11, 19, 9)
    services.referral_seen(referral=referral, actor=coordinator)
    assert open_rule_follow_ups(referral, "visit_confirmation") == []


def test_the_report_request_fires_when_the_report_is_late(coordinator):
    with time_machine.travel(NOW, tick=False):
        referral = walk(
            coordinator,
            [
                ("create", at(11, 1), {}),
                ("send", at(11, 2), {}),
                ("accept", at(11, 3), {}),
                ("schedule", at(11, 4), {"appointment_at": at(11, 5)}),
                ("seen", at(11, 5, 12), {}),
            ],
        )
    with time_machine.travel(at(11, 19, 11), tick=False):  # 13 days 23 h after the visit
        assert rules.run_time_based_rules()["report_request"] == 0
    with time_machine.travel(at(11, 19, 13), tick=False):
        assert rules.run_time_based_rules()["report_request"] == 1
        assert rules.run_time_based_rules()["report_request"] == 0
    [request] = open_rule_follow_ups(referral, "report_request")
    assert str(referral.receiving_practitioner) in request.title


def test_the_database_refuses_a_second_follow_up_for_the_same_occasion():
    FollowUpFactory(rule="callback", rule_key="42")
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUpFactory(rule="callback", rule_key="42")
    FollowUpFactory(rule="", rule_key="")
    FollowUpFactory(rule="", rule_key="")  # hand-made follow-ups are not limited
