"""The survey page in every language the messages speak."""

import pytest

from interactions.services import survey_invite
from tests.factories import ContactPointFactory, LanguageFactory, PatientFactory

pytestmark = pytest.mark.django_db


def page_for(coordinator, client, tag):
    patient = PatientFactory(given_name="Minh", preferred_name="")
    LanguageFactory(patient=patient, language=tag)
    ContactPointFactory(patient=patient, system="sms")
    invitation, token = survey_invite(
        actor=coordinator, patient=patient, channel="sms", department="front_desk"
    )
    return invitation, client.get(f"/feedback/{token}/").content.decode()


@pytest.mark.parametrize(
    ("tag", "language", "lang", "words"),
    [
        ("vi", "vi", 'lang="vi" dir="ltr"', "Chúng tôi đã phục vụ quý vị thế nào?"),
        ("zh-TW", "zh-Hant", 'lang="zh-Hant" dir="ltr"', "您對我們的服務滿意嗎"),
        ("zh-Hant", "zh-Hant", 'lang="zh-Hant" dir="ltr"', "提交"),
        ("ko", "ko", 'lang="ko" dir="ltr"', "보내기"),
        ("fil", "tl", 'lang="tl" dir="ltr"', "Ipadala"),
        ("ru", "ru", 'lang="ru" dir="ltr"', "Отправить"),
        ("ar", "ar", 'lang="ar" dir="rtl"', "إرسال"),
        ("ht", "ht", 'lang="ht" dir="ltr"', "Kijan nou te fè?"),
        ("pt-BR", "pt", 'lang="pt" dir="ltr"', "Como foi o nosso atendimento?"),
        ("de", "en", 'lang="en" dir="ltr"', "How did we do?"),
    ],
)
def test_the_page_is_in_the_patients_language(coordinator, client, tag, language, lang, words):
    invitation, page = page_for(coordinator, client, tag)
    assert invitation.language == language
    assert lang in page and words in page and "Minh" in page


def test_a_missing_answer_is_said_in_the_patients_language(coordinator, client):
    patient = PatientFactory(given_name="Olga", preferred_name="")
    LanguageFactory(patient=patient, language="ru")
    ContactPointFactory(patient=patient, system="sms")
    _, token = survey_invite(
        actor=coordinator, patient=patient, channel="sms", department="front_desk"
    )
    response = client.post(f"/feedback/{token}/", {"comment": "Хорошо"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Ответьте хотя бы на один вопрос." in page and "Хорошо" in page
