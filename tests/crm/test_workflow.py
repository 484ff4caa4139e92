"""The workflow engine: one table per stateful record drives the service, the API's
input and allowed actions, and the web app's dialogs."""

import pytest
from django.db import transaction

from api.fields import transition_input_serializers
from crm.errors import InvalidTransition
from frontend.views import WORKFLOWS
from interactions import services
from interactions.models import ComplaintEvent
from interactions.workflow import COMPLAINT_WORKFLOW
from referrals.workflow import FOLLOW_UP_WORKFLOW, REFERRAL_WORKFLOW
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def a_complaint(actor):
    return services.complaint_create(
        actor=actor,
        patient=PatientFactory(),
        channel="phone",
        category="wait_time",
        department="front_desk",
        description="Waited an hour.",
    )


@pytest.fixture
def reaction():
    """A reaction registered for one test, as an app above would register it."""
    seen = []

    def record_it(complaint, *, actor, at, action):
        seen.append((complaint.pk, complaint.status, action))
        ComplaintEvent.objects.create(
            complaint=complaint, action="note", to_status=complaint.status, reason="reacted"
        )

    COMPLAINT_WORKFLOW.react(record_it)
    yield seen
    COMPLAINT_WORKFLOW.reactions.remove(record_it)


def test_a_reaction_runs_after_the_step_with_the_changed_record(coordinator, reaction):
    complaint = a_complaint(coordinator)
    services.complaint_acknowledge(complaint=complaint, actor=coordinator)
    assert reaction == [(complaint.pk, "acknowledged", "acknowledge")]
    assert complaint.events.filter(action="note").count() == 1


def test_a_reaction_is_undone_with_a_step_that_fails(coordinator, reaction):
    complaint = a_complaint(coordinator)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.complaint_acknowledge(complaint=complaint, actor=coordinator)
        raise RuntimeError("the caller's transaction fails after the step")
    complaint.refresh_from_db()
    assert complaint.status == "new"
    assert not complaint.events.filter(action__in=["note", "acknowledge"]).exists()


def test_a_refused_step_names_the_actions_allowed_and_changes_nothing(coordinator, reaction):
    complaint = a_complaint(coordinator)
    with pytest.raises(InvalidTransition) as refused:
        services.complaint_close(complaint=complaint, actor=coordinator)
    assert refused.value.extra["allowed_actions"] == ["acknowledge", "investigate"]
    assert "complaint that is new cannot be close" in refused.value.message
    assert reaction == []
    complaint.refresh_from_db()
    assert (complaint.status, complaint.version) == ("new", 1)


@pytest.mark.parametrize("workflow", [REFERRAL_WORKFLOW, FOLLOW_UP_WORKFLOW, COMPLAINT_WORKFLOW])
def test_the_api_input_of_each_action_is_the_tables(workflow):
    for action, serializer in transition_input_serializers(workflow).items():
        declared = {i.name: i.required for i in workflow.table[action].inputs}
        fields = serializer().fields
        assert {name: field.required for name, field in fields.items()} == declared


def test_the_web_app_gets_every_action_with_its_label_and_inputs():
    for workflow in WORKFLOWS.values():
        described = {step["action"]: step for step in workflow.describe()}
        assert set(described) == set(workflow.table)
        for action, step in described.items():
            assert step["label"] == workflow.table[action].label
            assert [i["name"] for i in step["inputs"]] == [
                i.name for i in workflow.table[action].inputs
            ]
