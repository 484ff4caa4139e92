"""What messages say, in the patient's language.

Each template has an SMS text and an email (subject and body), written in English here
and translated in gettext catalogs (``messaging/locale/<language>/LC_MESSAGES/
messages.po``) that a translator edits with any PO editor; ``manage.py
message_catalogs`` refreshes them from this file and compiles them (``make`` does, at
install; compiled files are not committed). The message context of each entry names
its template and part (``appointment_reminder.sms``), so one English sentence can be
translated differently in two templates.

A template is used in a language only when every part it needs for the channel is
translated; otherwise the next language of the fallback chain is tried (``zh-Hant`` ->
``zh`` -> ``en``), and the message records the language it went out in. Dates and times
are in the patient's time zone and their language's format (Babel, CLDR).
"""

import datetime
import functools
import html
import re
import string
from dataclasses import dataclass
from pathlib import Path

import langcodes
from babel.core import Locale, UnknownLocaleError
from babel.dates import format_skeleton, format_time
from babel.messages.mofile import read_mo
from django.conf import settings

from messaging.choices import MessageChannel, Template

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
# Right-to-left scripts: the email's HTML says so.
RTL_LANGUAGES = {"ar", "fa", "he", "ur"}
# Tags written another way than the catalogs' folders: Filipino is kept under Tagalog.
CATALOG_ALIASES = {"fil": "tl"}
# Where CLDR has no date formats of its own for a language, those of a close one.
DATE_LOCALE = {"ht": "fr_HT", "tl": "fil"}


@dataclass(frozen=True)
class Text:
    sms: str
    subject: str
    email: str


# The values each template uses, beyond the clinic's (clinic, phone, address):
#   name: the patient's first or preferred name; date, time: of the appointment or
#   visit; provider: who the patient sees; link: a survey link, or the page where the
#   patient answers a reminder, or another of the patient's pages; reference: a
#   complaint's number; text: free text; place: where the patient picks something up.
TEXTS: dict[str, Text] = {
    Template.APPOINTMENT_REMINDER: Text(
        sms=(
            "{clinic}: reminder of your appointment on {date} at {time}. "
            "Reply C to confirm, R to change it or 3 to cancel, or call {phone}. "
            "Reply STOP to opt out. Answer online: {link}"
        ),
        subject="Reminder: your appointment on {date}",
        email=(
            "Hello {name},\n\n"
            "This is a reminder of your appointment with {provider} on {date} at {time}.\n\n"
            "If you need to change it, please call us at {phone}.\n\n"
            "To confirm, cancel or ask for another time online: {link}"
        ),
    ),
    Template.REFERRAL_SCHEDULED: Text(
        sms=(
            "{clinic}: your specialist appointment is booked for {date} at {time}. "
            "Questions? Call {phone}. Reply STOP to opt out."
        ),
        subject="Your specialist appointment is booked",
        email=(
            "Hello {name},\n\n"
            "Your appointment with {provider} is booked for {date} at {time}.\n\n"
            "If this time does not suit you, please call us at {phone}."
        ),
    ),
    Template.REPORT_REQUEST: Text(
        sms=(
            "{clinic}: please ask the specialist you saw on {date} to send us the visit "
            "report, or call us at {phone}."
        ),
        subject="Please help us get your visit report",
        email=(
            "Hello {name},\n\n"
            "We have not yet received the report from your visit with {provider} on "
            "{date}. Please ask their office to send it to us, or call us at {phone} "
            "and we will help."
        ),
    ),
    Template.SURVEY_INVITATION: Text(
        sms="{clinic}: how was your care? Tell us in two minutes: {link}",
        subject="How was your care?",
        email=(
            "Hello {name},\n\n"
            "We would like to know how your care went. The survey takes two minutes:\n"
            "{link}\n\n"
            "The link works once and for 14 days."
        ),
    ),
    Template.CALLBACK_MISSED: Text(
        sms="{clinic}: we tried to call you. Please call us back at {phone}.",
        subject="We tried to call you",
        email=(
            "Hello {name},\n\n"
            "We tried to reach you by phone. Please call us back at {phone} when you can."
        ),
    ),
    Template.APPOINTMENT_MISSED: Text(
        sms=(
            "{clinic}: we missed you at your appointment on {date} at {time}. To book "
            "another time, call {phone} or reply to this message. Reply STOP to opt out."
        ),
        subject="We missed you at your appointment",
        email=(
            "Hello {name},\n\n"
            "We missed you at your appointment with {provider} on {date} at {time}. We "
            "hope you are well.\n\n"
            "To book another time, please call us at {phone} or reply to this email."
        ),
    ),
    Template.PREFERENCES_LINK: Text(
        sms="{clinic}: choose how and when we contact you, and in which language: {link}",
        subject="How would you like us to contact you?",
        email=(
            "Hello {name},\n\n"
            "You can choose how and when we contact you, and in which language, on this "
            "page:\n{link}\n\n"
            "The link works for 30 days."
        ),
    ),
    Template.FEEDBACK_LINK: Text(
        sms="{clinic}: tell us about your care, a compliment or a complaint: {link}",
        subject="Tell us about your care",
        email=(
            "Hello {name},\n\n"
            "We would like to hear from you: a compliment, a suggestion or a complaint. "
            "You can write to us on this page:\n{link}\n\n"
            "The link works once and for 30 days."
        ),
    ),
    Template.COMPLAINT_RECEIVED: Text(
        sms=(
            "{clinic}: we have received your complaint (reference {reference}). We will "
            "contact you by {date}. Questions? Call {phone}."
        ),
        subject="We have received your complaint",
        email=(
            "Hello {name},\n\n"
            "Thank you for telling us. We have received your complaint (reference "
            "{reference}) and a member of our team will contact you by {date}.\n\n"
            "If you need us sooner, please call us at {phone}."
        ),
    ),
    Template.PRESCRIPTION_READY: Text(
        sms=(
            "{clinic}: your prescription is ready for pickup at {place}. "
            "Questions? Call {phone}. Reply STOP to opt out."
        ),
        subject="Your prescription is ready",
        email=(
            "Hello {name},\n\n"
            "Your prescription is ready for pickup at {place}.\n\n"
            "Questions? Please call us at {phone}."
        ),
    ),
    Template.REFILL_DUE: Text(
        sms=(
            "{clinic}: it is time to refill your prescription. Call {phone} or reply to "
            "this message. Reply STOP to opt out."
        ),
        subject="Time to refill your prescription",
        email=(
            "Hello {name},\n\n"
            "It is time to refill your prescription. To ask for a refill, please call us "
            "at {phone} or reply to this email."
        ),
    ),
    Template.RESULT_AVAILABLE: Text(
        sms=(
            "{clinic}: a new test result is ready. Your care team will go over it with "
            "you. Questions? Call {phone}. Reply STOP to opt out."
        ),
        subject="A new test result is ready",
        email=(
            "Hello {name},\n\n"
            "A new test result is ready. Your care team will go over it with you.\n\n"
            "Questions? Please call us at {phone}."
        ),
    ),
    Template.STATEMENT_ISSUED: Text(
        sms=(
            "{clinic}: a new billing statement is ready for you. Questions about it? "
            "Call {phone}. Reply STOP to opt out."
        ),
        subject="Your new statement",
        email=(
            "Hello {name},\n\n"
            "A new billing statement is ready for you.\n\n"
            "If you have questions about it or would like a payment plan, please call us "
            "at {phone}."
        ),
    ),
    Template.PAYMENT_PLAN_AGREED: Text(
        sms=(
            "{clinic}: your payment plan is set up. Thank you. Questions? Call {phone}. "
            "Reply STOP to opt out."
        ),
        subject="Your payment plan is set up",
        email=(
            "Hello {name},\n\n"
            "Your payment plan is set up. Thank you.\n\n"
            "Questions? Please call us at {phone}."
        ),
    ),
    Template.CLAIM_DENIED: Text(
        sms=(
            "{clinic}: your insurance did not pay a claim for your care. Our billing team "
            "can help: call {phone}. Reply STOP to opt out."
        ),
        subject="About your insurance claim",
        email=(
            "Hello {name},\n\n"
            "Your insurance did not pay a claim for your care. Our billing team can help "
            "you with the next steps: please call us at {phone}."
        ),
    ),
    Template.GENERAL: Text(
        sms="{clinic}: {text}",
        subject="A message from {clinic}",
        email="Hello {name},\n\n{text}",
    ),
    Template.OPTED_OUT: Text(
        sms=(
            "{clinic}: you will get no more text messages from us. "
            "Reply START to receive them again."
        ),
        subject="",
        email="",
    ),
    Template.OPTED_IN: Text(
        sms="{clinic}: you will receive our text messages again. Reply STOP to opt out.",
        subject="",
        email="",
    ),
    Template.HELP: Text(
        sms=(
            "{clinic}: for help call {phone}. To choose how we contact you: {link} "
            "Reply STOP to opt out."
        ),
        subject="",
        email="",
    ),
}

# The closing every email gets: the clinic's name, address and phone.
EMAIL_SIGNATURE = "{clinic}\n{address}\n{phone}"
# A department's event told to the patient (``integrations``), one template per kind.
EVENT_TEMPLATES = (
    Template.PRESCRIPTION_READY,
    Template.REFILL_DUE,
    Template.RESULT_AVAILABLE,
    Template.STATEMENT_ISSUED,
    Template.PAYMENT_PLAN_AGREED,
    Template.CLAIM_DENIED,
)
# Templates staff choose from. The keyword answers are the system's; the booking
# confirmation, the reminder and the survey come from their automations, which give
# them the visit and the link.
STAFF_TEMPLATES = [
    t
    for t in Template
    if t
    not in (
        Template.OPTED_OUT,
        Template.OPTED_IN,
        Template.HELP,
        Template.COMPLAINT_RECEIVED,
        Template.REFERRAL_SCHEDULED,
        Template.APPOINTMENT_REMINDER,
        Template.APPOINTMENT_MISSED,
        Template.SURVEY_INVITATION,
        *EVENT_TEMPLATES,
    )
]

# The words of the patient's pages (``selfservice``), in the same catalogs: by page,
# then by key. ``link`` holds what every page says about its link.
PAGES: dict[str, dict[str, str]] = {
    "link": {
        "unknown": "This link is not valid. Please check it or call the clinic at {phone}.",
        "expired": "This link has expired. Please call the clinic at {phone}.",
        "too_many": "Too many tries. Please wait a few minutes and try again.",
    },
    "survey": {
        "title": "How did we do?",
        "greeting": "Hello {name},",
        "nps": "How likely are you to recommend us to a friend or family member?",
        "nps_scale": "0 = not at all likely, 10 = extremely likely",
        "csat": "How satisfied were you with this visit or contact?",
        "csat_scale": "1 = very dissatisfied, 5 = very satisfied",
        "comment": "Is there anything you would like to tell us? (optional)",
        "submit": "Send",
        "thanks": "Thank you. We have received your answer.",
        "used": "This survey has already been answered. Thank you!",
        "expired": "This survey link has expired.",
        "need_score": "Please answer at least one question.",
        "comment_too_long": "Please keep the comment under 2,000 characters.",
    },
    "visit": {
        "title": "Your appointment",
        "greeting": "Hello {name},",
        "when": "Your appointment is on {date} at {time}.",
        "with": "With {provider}.",
        "confirm": "Yes, I will come",
        "reschedule": "I need another time",
        "cancel": "Cancel the appointment",
        "already_confirmed": "You have confirmed this appointment.",
        "confirmed": "Thank you. Your appointment is confirmed.",
        "cancelled": "Your appointment is cancelled. The clinic will contact you to offer "
        "another time.",
        "rescheduling": "Thank you. The clinic will call you to find another time.",
        "closed": "This appointment can no longer be changed here. Please call us at {phone}.",
    },
    "preferences": {
        "title": "How we contact you",
        "greeting": "Hello {name},",
        "intro": "Choose what we may send you, and how. Untick what you do not want.",
        "sms": "Text messages",
        "email": "Email",
        "phone": "Phone calls",
        "appointment_reminders": "Appointment reminders",
        "care_coordination": "About your care and referrals",
        "billing": "Bills and payments",
        "surveys": "Surveys about your care",
        "marketing": "News from the clinic",
        "language": "Language for our messages and calls",
        "preferred_channel": "How do you prefer to hear from us?",
        "no_preference": "No preference",
        "hours": "When may we contact you?",
        "any_time": "Any time during the clinic's hours",
        "between": "Only between these times:",
        "from": "From",
        "until": "Until",
        "save": "Save my choices",
        "saved": "Thank you. Your choices are saved.",
        "need_hours": "Please give both times, and make them different.",
        "invalid": "Something in the form was not right. Please check it and try again.",
    },
    "tell_us": {
        "title": "Tell us",
        "greeting": "Hello {name},",
        "kind": "What would you like to tell us?",
        "complaint": "A complaint",
        "compliment": "A compliment",
        "suggestion": "A suggestion",
        "about": "If it is a complaint, what is it about?",
        "wait_time": "Waiting for an appointment or at the clinic",
        "billing": "A bill or payment",
        "staff_attitude": "How staff treated me",
        "communication": "Information or communication",
        "clinical_care": "My care or treatment",
        "facility": "The building or facilities",
        "access_to_information": "Getting my records or information",
        "other": "Something else",
        "text": "Your message",
        "submit": "Send",
        "thanks": "Thank you. We have received your message.",
        "thanks_complaint": "Thank you. We have received your complaint; its reference is "
        "{reference}. We will contact you by {date}.",
        "used": "We have already received your message from this link. To tell us more, "
        "please call {phone}.",
        "need_kind": "Please choose what you would like to tell us.",
        "need_text": "Please write your message.",
        "text_too_long": "Please keep your message under 5,000 characters.",
    },
}


def entries() -> list[tuple[str, str]]:
    """Every (context, English text) a catalog holds, in a stable order."""
    return [
        (f"{template}.{part}", getattr(text, part))
        for template, text in TEXTS.items()
        for part in ("sms", "subject", "email")
        if getattr(text, part)
    ] + [
        (f"page.{page}.{key}", english)
        for page, words in PAGES.items()
        for key, english in words.items()
    ]


def page_words(page: str, tag: str) -> tuple[str, dict[str, str]]:
    """A page's words (with those about its link) in the first language of the
    patient's chain that has them all, and that language. The clinic's name and phone
    are filled in; the page fills the rest."""
    wanted = [
        (f"page.{name}.{key}", english)
        for name in ("link", page)  # the page's own words win over the link's
        for key, english in PAGES[name].items()
    ]
    for language in fallback_chain(tag):
        if language == SOURCE_LANGUAGE or all(
            part in catalog(catalog_name(language)) for part in wanted
        ):
            break
    words = {
        context.rsplit(".", 1)[-1]: _translate(language, context, english).format_map(
            _ClinicOnly(clinic_values())
        )
        for context, english in wanted
    }
    return language, words


def when_words(at: datetime.datetime, language: str, zone: datetime.tzinfo) -> dict[str, str]:
    """A time as the messages give it: ``date`` and ``time`` in the zone and language."""
    locale = date_locale(language)
    local = at.astimezone(zone)
    return {
        "date": format_skeleton("yMMMEd", local, locale=locale),
        "time": format_time(local, "short", locale=locale),
    }


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@functools.cache
def catalog(language: str) -> dict[tuple[str, str], str]:
    """The compiled translations of ``language`` (a catalog folder name such as
    ``zh_Hant``), as {(context, English): translation}; empty when there is none."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not path.exists():
        return {}
    with path.open("rb") as mo:
        compiled = read_mo(mo)
    return {
        (message.context or "", str(message.id)): str(message.string)
        for message in compiled
        if message.id and message.string
    }


def catalog_name(tag: str) -> str:
    """``zh-Hant`` -> ``zh_Hant``: the folder a language's catalog lives in."""
    return tag.replace("-", "_")


def fallback_chain(tag: str) -> list[str]:
    """The languages to try for a patient's language tag, best first, ending in
    English: ``zh-Hant-TW`` -> ``zh-Hant``, ``zh``, ``en``; ``zh-TW`` is read as
    Traditional Chinese, as its speakers write."""
    chain: list[str] = []
    if tag:
        try:
            # Not normalized: that would turn the catalogs' "tl" into "fil".
            language = langcodes.Language.get(tag, normalize=False)
        except (ValueError, LookupError):
            language = None
        if language is not None and language.language:
            base = CATALOG_ALIASES.get(language.language, language.language)
            script = language.script
            if base == "zh" and not script:
                script = language.maximize().script
            if script and not (base == "zh" and script == "Hans"):
                chain.append(f"{base}-{script}")
            chain.append(base)
    chain.append(SOURCE_LANGUAGE)
    return list(dict.fromkeys(chain))


def _parts(template: str, channel: str) -> list[tuple[str, str]]:
    text = TEXTS[template]
    if channel == MessageChannel.SMS:
        return [(f"{template}.sms", text.sms)]
    return [(f"{template}.subject", text.subject), (f"{template}.email", text.email)]


def language_for(template: str, channel: str, tag: str) -> str:
    """The first language of the chain the template is fully translated into."""
    parts = _parts(template, channel)
    for language in fallback_chain(tag):
        if language == SOURCE_LANGUAGE:
            return language
        translations = catalog(catalog_name(language))
        if all(part in translations for part in parts):
            return language
    return SOURCE_LANGUAGE


def _translate(language: str, context: str, english: str) -> str:
    if language == SOURCE_LANGUAGE:
        return english
    return catalog(catalog_name(language)).get((context, english), english)


def date_locale(language: str) -> Locale:
    base = language.split("-")[0]
    name = DATE_LOCALE.get(base, catalog_name(language))
    try:
        return Locale.parse(name)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(SOURCE_LANGUAGE)


def clinic_values() -> dict[str, str]:
    return {
        "clinic": str(settings.CLINIC_NAME),
        "phone": str(settings.CLINIC_PHONE),
        "address": str(settings.CLINIC_ADDRESS),
    }


_PLAIN_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})


class _Values(dict):
    """A value the template names but the occasion lacks reads as empty."""

    def __missing__(self, key: str) -> str:
        return ""


class _ClinicOnly(dict):
    """Fills the clinic's values and keeps the page's own placeholders for later."""

    def __missing__(self, key: str) -> str:
        return f"{{{key}}}"


@dataclass(frozen=True)
class Rendered:
    language: str  # the language it is written in
    subject: str
    body: str  # plain text: the SMS, or the email's text part

    def html(self) -> str:
        """The email's HTML part: the text's paragraphs, escaped, links clickable, in
        the language's direction."""
        direction = "rtl" if self.language.split("-")[0] in RTL_LANGUAGES else "ltr"
        paragraphs = []
        for paragraph in self.body.split("\n\n"):
            escaped = html.escape(paragraph)
            escaped = re.sub(r"(https?://[^\s<]+)", r'<a href="\1">\1</a>', escaped)
            paragraphs.append(f"<p>{escaped.replace(chr(10), '<br>')}</p>")
        return (
            f'<!doctype html><html lang="{html.escape(self.language)}" dir="{direction}">'
            f'<body style="font-family: sans-serif">{"".join(paragraphs)}</body></html>'
        )


def render(
    template: str,
    *,
    channel: str,
    language: str,
    values: dict,
    zone: datetime.tzinfo,
) -> Rendered:
    """The template in the best language the patient reads (see the module docstring).
    ``values`` may hold ``at``, an aware datetime given as ISO text, which becomes the
    ``date`` and ``time`` in the patient's zone and language."""
    used = language_for(template, channel, language)
    filled = _Values(clinic_values())
    filled.update({k: v for k, v in values.items() if k != "at"})
    if values.get("at"):
        filled.update(when_words(datetime.datetime.fromisoformat(values["at"]), used, zone))
    parts = {
        context.split(".")[-1]: _translate(used, context, english).format_map(filled)
        for context, english in _parts(template, channel)
    }
    if channel == MessageChannel.SMS:
        # CLDR puts narrow no-break spaces in times ("10:30 AM"); outside GSM-7, they
        # would double the segments a text costs.
        return Rendered(used, "", parts["sms"].translate(_PLAIN_SPACES))
    signature = EMAIL_SIGNATURE.format_map(filled)
    return Rendered(used, parts["subject"], f"{parts['email']}\n\n{signature}")
