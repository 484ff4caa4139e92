"""Which catalog a patient's language tag reads from."""

import datetime as dt

import pytest

from messaging.texts import fallback_chain, render


@pytest.mark.parametrize(
    ("tag", "chain"),
    [
        ("tl", ["tl", "en"]),
        ("fil", ["tl", "en"]),  # Filipino is kept with Tagalog
        ("zh-TW", ["zh-Hant", "zh", "en"]),
        ("zh-Hant-HK", ["zh-Hant", "zh", "en"]),
        ("zh-Hans", ["zh", "en"]),
        ("pt-BR", ["pt", "en"]),
        ("", ["en"]),
        ("not a tag!", ["en"]),
    ],
)
def test_the_fallback_chain(tag, chain):
    assert fallback_chain(tag) == chain


@pytest.mark.parametrize("tag", ["tl", "fil"])
def test_a_tagalog_or_filipino_speaker_reads_tagalog(tag):
    text = render("callback_missed", channel="sms", language=tag, values={}, zone=dt.UTC)
    assert text.language == "tl" and "sinubukan namin kayong tawagan" in text.body
