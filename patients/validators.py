"""Normalisers for values that arrive in many spellings: phone numbers, language tags."""

import re
import unicodedata
import zoneinfo
from functools import cache

import langcodes
import phonenumbers
from anyascii import anyascii
from django.conf import settings
from django.core.exceptions import ValidationError


def normalize_phone(raw: str) -> str:
    """A phone number in any common format, as E.164 (``+16175550142``)."""
    try:
        number = phonenumbers.parse(raw, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError("Enter a valid phone number.", code="invalid_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("Enter a valid phone number.", code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_language_tag(raw: str) -> str:
    """A BCP-47 language tag in its canonical case (``zh-hans`` -> ``zh-Hans``)."""
    if not raw or not langcodes.tag_is_valid(raw):
        raise ValidationError(
            "%(tag)s is not a valid BCP-47 language tag.",
            code="invalid_language",
            params={"tag": raw[:35]},
        )
    # Case is fixed but the tag is kept as entered: a clinic that records Tagalog as
    # ``tl`` should not see it rewritten to ``fil``.
    tag = langcodes.Language.get(raw, normalize=False).to_tag()
    if tag == "und":
        raise ValidationError("Name the language; 'und' is not allowed.", code="invalid_language")
    return tag


def language_name(tag: str) -> str:
    """English display name of a tag, e.g. ``Chinese (Simplified)``."""
    return _language_name(tag)


@cache
def _language_name(tag: str) -> str:
    return langcodes.Language.get(tag, normalize=False).display_name()


@cache
def _time_zones() -> frozenset[str]:
    # Reading the zone database walks the file system: once per process is enough.
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in _time_zones():
        raise ValidationError(
            "%(value)s is not an IANA time zone (e.g. America/New_York).",
            code="invalid_time_zone",
            params={"value": value[:64]},
        )


def search_key(text: str) -> str:
    """Case- and accent-insensitive form of a name for searching (José -> jose)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).casefold()


def search_words(text: str) -> list[str]:
    """The words a name search looks for: each folded, and a word in another script than
    Latin in Latin letters (杨涛 -> yangtao, Иван -> ivan), so that it is found through
    the trigram index whatever its length and whoever types it."""
    words = []
    for word in search_key(text).split():
        latin = anyascii(word).lower()
        words.append(latin if latin != word and latin.isascii() and latin.isalnum() else word)
    return words


def name_search_key(given: str, middle: str, preferred: str, family: str) -> str:
    """What ``Patient.name_search`` holds: every name folded, then those in another
    script in Latin letters, and for names written family name first (Chinese, Japanese,
    Korean) the family and given names in that order without a space (杨涛: tao yang
    yangtao), as people who write them type them."""
    names = [name for name in (given, middle, preferred, family) if name]
    folded = search_key(" ".join(names))
    latin = " ".join(search_words(folded))
    key = folded if latin == folded else f"{folded} {latin}"
    if FAMILY_FIRST_SCRIPT.search(family + given):
        key += " " + "".join(search_words(family + given))
    return key


# Scripts whose names are written family name first, without a space.
FAMILY_FIRST_SCRIPT = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
