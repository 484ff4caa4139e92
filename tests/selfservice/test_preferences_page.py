"""The preferences page: the patient chooses which purposes reach them on which
channel, their language, preferred channel and hours. Every change is a consent with
source "patient self-service" and a line on the timeline; bad input changes nothing."""

import datetime as dt

import pytest
import time_machine

from crm.models import AccessRecord
from interactions.models import Interaction
from messaging.choices import Template
from messaging.models import Message
from messaging.services import LINK_MASK, dispatch_due, inbound_receive
from patients.choices import ConsentPurpose
from patients.contact import contact_policy, preferred_language
from patients.models import CommunicationConsent, PatientLink
from tests.selfservice.conftest import NOW

pytestmark = pytest.mark.django_db

SOON = NOW + dt.timedelta(hours=1)


def _opt_out(patient, channel, purpose):
    CommunicationConsent.objects.create(
        patient=patient, channel=channel, purpose=purpose, status="opt_out", source="phone"
    )


ALL_TICKED = [
    f"{channel}:{purpose}"
    for channel in ("sms", "email", "phone")
    for purpose in ConsentPurpose.values
]


def _form(**changes):
    form = {
        "consent": ALL_TICKED,
        "language": "es",
        "preferred_channel": "",
        "hours": "any",
        "from": "",
        "until": "",
    }
    form.update(changes)
    return form


def test_the_message_carries_the_link_which_is_never_stored(page_link, sms_provider):
    patient, path = page_link(Template.PREFERENCES_LINK)
    with time_machine.travel(NOW, tick=False):
        assert dispatch_due() == {"hand_off": 1}
    [sent] = sms_provider.sent
    assert f"http://testserver{path}" in sent.body
    stored = Message.objects.get(provider_id=sent.sid)
    assert path not in stored.body and LINK_MASK in stored.body
    link = PatientLink.objects.get(patient=patient)
    assert (link.purpose, link.expires_at) == ("preferences", NOW + dt.timedelta(days=30))


def test_the_page_shows_the_choices_in_force_and_nothing_more(client, page_link):
    patient, path = page_link(Template.PREFERENCES_LINK)
    _opt_out(patient, "sms", "marketing")
    with time_machine.travel(SOON, tick=False):
        response = client.get(path)
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="es" dir="ltr">' in page
    assert "Hola, Lucía:" in page and "Quispe" not in page and patient.mrn not in page
    assert 'value="sms:marketing">' in page  # unticked: opted out
    assert 'value="email:marketing" checked>' in page
    assert '<option value="es" lang="es" selected>español</option>' in page
    assert '<option value="zh-Hant" lang="zh-Hant">' in page


def test_saving_records_each_change_as_the_patients_consent(client, page_link):
    patient, path = page_link(Template.PREFERENCES_LINK)
    _opt_out(patient, "email", "surveys")
    version = patient.version
    ticked = [pair for pair in ALL_TICKED if pair not in ("sms:marketing", "phone:billing")] + [
        "email:surveys"
    ]
    form = _form(
        consent=ticked,
        language="vi",
        preferred_channel="email",
        hours="between",
        **{"from": "09:00", "until": "17:30"},
    )
    with time_machine.travel(SOON, tick=False):
        response = client.post(path, form)
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="vi" dir="ltr">' in page  # the page answers in the new language
    assert "Lựa chọn của quý vị đã được lưu" in page
    changed = {
        (c.channel, c.purpose): (c.status, c.source, c.captured_by_id)
        for c in CommunicationConsent.objects.filter(patient=patient)
    }
    assert changed == {
        ("sms", "marketing"): ("opt_out", "self_service", None),
        ("phone", "billing"): ("opt_out", "self_service", None),
        ("email", "surveys"): ("opt_in", "self_service", None),
    }
    patient.refresh_from_db()
    assert preferred_language(patient).language == "vi"
    assert patient.preferred_channel == "email"
    assert (patient.contact_window_start, patient.contact_window_end) == (
        dt.time(9),
        dt.time(17, 30),
    )
    assert patient.version == version + 1
    [line] = Interaction.objects.filter(patient=patient, channel="portal")
    assert (line.direction, line.staff) == ("inbound", None)
    assert "SMS for marketing: opted out." in line.summary
    assert "Preferred language: vi." in line.summary
    decision = contact_policy(patient, purpose="marketing", channel="sms")
    assert (decision.allowed, decision.code) == (False, "opted_out")
    assert contact_policy(patient, purpose="surveys", channel="email").allowed


def test_saving_the_same_choices_again_changes_nothing(client, page_link):
    patient, path = page_link(Template.PREFERENCES_LINK)
    with time_machine.travel(SOON, tick=False):
        client.post(path, _form(consent=ALL_TICKED[1:]))
        client.post(path, _form(consent=ALL_TICKED[1:]))
    assert CommunicationConsent.objects.filter(patient=patient).count() == 1
    assert Interaction.objects.filter(patient=patient, channel="portal").count() == 1
    patient.refresh_from_db()
    assert (patient.contact_window_start, patient.preferred_channel) == (None, "")


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"consent": ["fax:marketing"]}, "Algo en el formulario"),
        ({"consent": ["sms:nothing"]}, "Algo en el formulario"),
        ({"language": "xx"}, "Algo en el formulario"),
        ({"language": "es\x00"}, "Algo en el formulario"),
        ({"preferred_channel": "chat"}, "Algo en el formulario"),
        ({"hours": "between", "from": "09:00"}, "Indique las dos horas"),
        ({"hours": "between", "from": "09:00", "until": "09:00"}, "Indique las dos horas"),
        ({"hours": "between", "from": "25:00", "until": "26:00"}, "Indique las dos horas"),
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(client, page_link, changes, said):
    patient, path = page_link(Template.PREFERENCES_LINK)
    with time_machine.travel(SOON, tick=False):
        response = client.post(path, _form(**{"consent": [], **changes}))
    assert response.status_code == 400 and said in response.content.decode()
    assert not CommunicationConsent.objects.filter(patient=patient).exists()
    assert not Interaction.objects.filter(patient=patient, channel="portal").exists()


def test_every_opening_is_access_logged_without_the_token(client, page_link):
    patient, path = page_link(Template.PREFERENCES_LINK)
    link = PatientLink.objects.get(patient=patient)
    with time_machine.travel(SOON, tick=False):
        client.get(path)
        client.post(path, _form())
    records = AccessRecord.objects.filter(patient_ids=f",{patient.pk},").order_by("id")
    assert [(r.method, r.status_code, r.purpose, r.client, r.user_id) for r in records] == [
        ("GET", 200, "patient", f"patient link {link.pk}", None),
        ("POST", 200, "patient", f"patient link {link.pk}", None),
    ]
    assert {r.endpoint for r in records} == {"/preferences/<str:token>/"}


def test_the_link_expires_after_thirty_days_and_a_merged_record_opens_nothing(client, page_link):
    patient, path = page_link(Template.PREFERENCES_LINK)
    with time_machine.travel(NOW + dt.timedelta(days=30, seconds=1), tick=False):
        assert client.get(path).status_code == 410
    other, other_path = page_link(Template.PREFERENCES_LINK)
    other.status, other.merged_into = "merged", patient
    other.save()
    with time_machine.travel(SOON, tick=False):
        assert client.get(other_path).status_code == 404


def test_help_answers_with_the_link_to_the_preferences(page_link, sms_provider):
    patient, _ = page_link(Template.PREFERENCES_LINK)
    number = patient.contact_points.get(system="sms").value
    with time_machine.travel(SOON, tick=False):
        inbound_receive(from_number=number, body="help", provider_id="SMhelp")
        dispatch_due()
    help_text = sms_provider.sent[-1].body
    assert "http://testserver/preferences/" in help_text
    assert PatientLink.objects.filter(patient=patient, purpose="preferences").count() == 2


def test_the_page_and_a_save_cost_pinned_queries(client, page_link, django_assert_num_queries):
    """Opening: the link, the language, the consents and the access record. Saving two
    consents, a language and hours: each change is a row and its history row."""
    _, path = page_link(Template.PREFERENCES_LINK)
    form = _form(consent=ALL_TICKED[2:], language="vi", hours="between")
    form.update({"from": "09:00", "until": "17:00"})
    with time_machine.travel(SOON, tick=False):
        with django_assert_num_queries(5):
            client.get(path)
        with django_assert_num_queries(29):
            assert client.post(path, form).status_code == 200
