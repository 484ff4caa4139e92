"""The feedback and complaint form: a complaint enters the complaint workflow, in its
department's queue with its service levels, and the patient is told its reference and
when they will hear back; a compliment or a suggestion lands on the timeline. A link
takes one message; bad input is a 400 that spends nothing."""

import datetime as dt

import pytest
import time_machine

from interactions.models import Complaint, ComplaintServiceLevel, Interaction
from messaging.choices import Template
from messaging.models import Message
from messaging.services import dispatch_due
from patients.models import PatientLink
from tests.selfservice.conftest import NOW

pytestmark = pytest.mark.django_db

SOON = NOW + dt.timedelta(hours=1)


def test_a_complaint_enters_the_workflow_and_is_acknowledged(client, page_link, sms_provider):
    patient, path = page_link(Template.FEEDBACK_LINK)
    said = "Me cobraron dos veces."
    target = ComplaintServiceLevel.objects.get(priority="medium").first_response_within
    with time_machine.travel(SOON, tick=False):
        form = client.get(path).content.decode()
        response = client.post(path, {"kind": "complaint", "about": "billing", "text": said})
    assert "¿Qué le gustaría contarnos?" in form and "Quispe" not in form
    complaint = Complaint.objects.get(patient=patient)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"su número de referencia es {complaint.pk}" in page
    assert (
        complaint.status,
        complaint.channel,
        complaint.category,
        complaint.department,
        complaint.queue,
        complaint.priority,
        complaint.created_by,
        complaint.description,
    ) == ("new", "portal", "billing", "billing", "billing", "medium", None, said)
    assert complaint.events.get().action == "create"
    line = Interaction.objects.get(patient=patient, channel="portal")
    assert (line.complaint, line.topic, line.direction) == (complaint, "complaint", "inbound")
    receipt = Message.objects.get(patient=patient, template=Template.COMPLAINT_RECEIVED)
    answer_by = SOON + target
    assert receipt.context == {"reference": str(complaint.pk), "at": answer_by.isoformat()}
    with time_machine.travel(SOON, tick=False):
        dispatch_due()
    acknowledged = sms_provider.sent[-1].body
    assert f"(referencia {complaint.pk})" in acknowledged, acknowledged


def test_a_compliment_lands_on_the_timeline_and_opens_no_complaint(client, page_link):
    patient, path = page_link(Template.FEEDBACK_LINK, language="")
    with time_machine.travel(SOON, tick=False):
        response = client.post(path, {"kind": "compliment", "text": "Dr. Osei was so kind."})
    assert response.status_code == 200
    assert "We have received your message." in response.content.decode()
    assert not Complaint.objects.filter(patient=patient).exists()
    line = Interaction.objects.get(patient=patient, channel="portal")
    assert line.summary == "A compliment from the patient's page:\nDr. Osei was so kind."
    assert line.department == "contact_center"


def test_a_link_takes_one_message(client, page_link):
    patient, path = page_link(Template.FEEDBACK_LINK, language="")
    with time_machine.travel(SOON, tick=False):
        form = {"kind": "complaint", "about": "wait_time", "text": "Two hours."}
        client.post(path, form)
        again = client.post(path, form)
        opened = client.get(path)
    assert again.status_code == opened.status_code == 410
    assert "We have already received your message" in opened.content.decode()
    assert Complaint.objects.filter(patient=patient).count() == 1


@pytest.mark.parametrize(
    ("form", "said"),
    [
        ({"text": "No kind."}, "Please choose what you would like to tell us."),
        ({"kind": "rant", "text": "x"}, "Please choose what you would like to tell us."),
        ({"kind": "complaint", "about": "weather", "text": "x"}, "Please choose what"),
        ({"kind": "complaint", "text": "  \x00 "}, "Please write your message."),
        ({"kind": "suggestion", "text": "x" * 5001}, "under 5,000 characters"),
    ],
)
def test_bad_input_is_a_400_and_spends_nothing(client, page_link, form, said):
    patient, path = page_link(Template.FEEDBACK_LINK, language="")
    with time_machine.travel(SOON, tick=False):
        response = client.post(path, form)
    assert response.status_code == 400 and said in response.content.decode()
    assert not Interaction.objects.filter(patient=patient, channel="portal").exists()
    assert PatientLink.objects.get(patient=patient).used_at is None


def test_a_complaint_costs_pinned_queries(client, page_link, django_assert_num_queries):
    """The link, locked and spent; the complaint, its history and first event; the
    service levels; the timeline line; the acknowledgment through the contact policy;
    the access record."""
    _, path = page_link(Template.FEEDBACK_LINK)
    form = {"kind": "complaint", "about": "billing", "text": "Twice billed."}
    with time_machine.travel(SOON, tick=False):
        with django_assert_num_queries(3):
            client.get(path)
        with django_assert_num_queries(26):
            assert client.post(path, form).status_code == 200
