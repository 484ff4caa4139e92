"""The patient's pages, from the links messages carry. No account and no script; each
shows the first name and what it is about, nothing else, in the patient's language
(right to left where the language is written so), and each address may ask a page
``SELF_SERVICE_REQUESTS`` times in 10 minutes. Every page a link opens or answers is
in the access log, attributed to the link.

- ``visit``: answer about an appointment from its reminder: confirm, cancel or ask for
  another time, each the patient's step (``appointments.services.appointment_answer``).
- ``preferences``: which purposes may reach the patient on which channel, the
  language, the preferred channel and the hours (``services.preferences_change``).
- ``tell_us``: a complaint, a compliment or a suggestion, once per link
  (``services.tell_us``).
- ``feedback``: the survey (NPS, CSAT, a comment), one answer per link.
"""

import datetime
import functools

from babel import Locale, UnknownLocaleError
from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from appointments.choices import UPCOMING, AppointmentStatus, PatientAnswer
from appointments.models import Appointment
from appointments.services import appointment_answer
from crm.audit import record_patient_page
from crm.authentication import client_address
from crm.choices import Channel
from crm.errors import InvalidTransition
from crm.ratelimit import over_limit
from interactions.choices import ComplaintCategory
from interactions.services import SurveyLinkRefused, survey_answer, survey_invitation_for
from messaging.catalogs import LANGUAGES
from messaging.texts import (
    DATE_LOCALE,
    RTL_LANGUAGES,
    SOURCE_LANGUAGE,
    clinic_values,
    page_words,
    when_words,
)
from patients.choices import ConsentPurpose, LinkPurpose, PatientStatus
from patients.contact import opted_out, patient_zone, preferred_language
from patients.links import LinkRefused, link_open
from patients.models import PatientLink
from patients.services import Preferences
from selfservice.services import REMARKS, preferences_change, tell_us

REFUSED_STATUS = {"unknown": 404, "expired": 410, "used": 410}
COMMENT_LIMIT = 2000
MESSAGE_LIMIT = 5000
# The channels the preferences page asks about, for every purpose.
PREFERENCE_CHANNELS = (Channel.SMS, Channel.EMAIL, Channel.PHONE)
# Names of the catalogs' languages CLDR lacks, as their speakers write them.
LANGUAGE_NAMES = {"ht": "Kreyòl ayisyen", "tl": "Tagalog"}
# A link to a record that is no more (merged, or the patient died) opens nothing.
CLOSED_RECORDS = (PatientStatus.MERGED, PatientStatus.DECEASED)
# The catalog "zh" is written in Simplified Chinese; the page says so.
HTML_LANG = {"zh": "zh-Hans"}
DONE = {
    PatientAnswer.CONFIRM: "confirmed",
    PatientAnswer.CANCEL: "cancelled",
    PatientAnswer.RESCHEDULE: "rescheduling",
}


def _page(request, template: str, language: str, words: dict, status: int = 200, **context):
    response = render(
        request,
        f"selfservice/{template}",
        {
            "t": words,
            "lang": HTML_LANG.get(language, language),
            "dir": "rtl" if language.split("-")[0] in RTL_LANGUAGES else "ltr",
            "clinic": clinic_values(),
            **context,
        },
        status=status,
    )
    # The link is a credential: keep it out of Referer headers sent elsewhere (not
    # "no-referrer": the form's POST would carry "Origin: null" and fail the CSRF check).
    response["Referrer-Policy"] = "same-origin"
    return response


def _message(request, language: str, words: dict, key: str, status: int) -> HttpResponse:
    return _page(request, "message.html", language, words, status, message=words[key])


def _too_many(request, page: str) -> HttpResponse | None:
    address = client_address(request) or "unknown"
    if over_limit(f"{page}:{address}", limit=settings.SELF_SERVICE_REQUESTS, window=600):
        language, words = page_words(page, "")
        return _message(request, language, words, "too_many", 429)
    return None


def patient_page(page: str, purpose: str):
    """A view of a page behind a link: rate limited, opened by the link's token (else
    a page saying why not), in the language the patient reads now (the link's when
    none is kept), and access-logged. The view gets the open link, the language and
    the page's words."""

    def wrap(view):
        @never_cache
        @functools.wraps(view)
        def opened(request, token: str) -> HttpResponse:
            if refused := _too_many(request, page):
                return refused
            try:
                link = link_open(token, purpose)
            except LinkRefused as refused:
                language, words = page_words(page, refused.link.language if refused.link else "")
                status = REFUSED_STATUS[refused.reason]
                return _message(request, language, words, refused.reason, status)
            if link.patient.status in CLOSED_RECORDS:
                language, words = page_words(page, link.language)
                return _message(request, language, words, "unknown", 404)
            spoken = preferred_language(link.patient)
            language, words = page_words(page, spoken.language if spoken else link.language)
            response = view(request, link, language, words)
            record_patient_page(
                request,
                response,
                patient_id=link.patient_id,
                link=f"patient link {link.pk}",
                action=f"{page}_page",
            )
            return response

        return opened

    return wrap


def _first_name(link: PatientLink) -> str:
    return link.patient.preferred_name or link.patient.given_name


@patient_page("visit", LinkPurpose.APPOINTMENT)
def visit(request, link: PatientLink, language: str, words: dict) -> HttpResponse:
    patient = link.patient
    appointment = (
        Appointment.objects.select_related("service_type", "practitioner", "organization")
        .filter(pk=link.subject_id, patient=patient)
        .first()
    )
    if appointment is None or appointment.status not in UPCOMING:
        return _message(request, language, words, "closed", 410)
    answer = request.POST.get("answer") if request.method == "POST" else None
    if answer in DONE:
        now = timezone.now()
        try:
            appointment_answer(
                appointment=appointment,
                answer=answer,
                said="The patient answered on the appointment's page.",
                key=f"link:{link.pk}:{answer}",  # asked twice, the front desk calls once
                at=now,
            )
        except InvalidTransition:  # cancelled meanwhile (another answer, the clinic)
            return _message(request, language, words, "closed", 409)
        link.used_at = now
        link.save(update_fields=["used_at"])
        return _message(request, language, words, DONE[answer], 200)
    provider = appointment.practitioner or appointment.organization
    return _page(
        request,
        "visit.html",
        language,
        words,
        400 if answer is not None else 200,
        greeting=words["greeting"].format(name=_first_name(link)),
        when=words["when"].format(
            **when_words(appointment.start, language, patient_zone(patient))
        ),
        with_whom=words["with"].format(provider=provider) if provider else "",
        confirmed=appointment.status == AppointmentStatus.CONFIRMED,
    )


def _score(raw: str | None, low: int, high: int) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(raw)
    return int(raw)


@never_cache
def feedback(request, token: str) -> HttpResponse:
    if refused := _too_many(request, "survey"):
        return refused
    try:
        invitation = survey_invitation_for(token)
    except SurveyLinkRefused as refused:
        language, words = page_words("survey", refused.language)
        return _message(request, language, words, refused.reason, REFUSED_STATUS[refused.reason])
    response = _survey(request, token, invitation)
    record_patient_page(
        request,
        response,
        patient_id=invitation.patient_id,
        link=f"survey invitation {invitation.pk}",
        action="survey_page",
    )
    return response


def _survey(request, token: str, invitation) -> HttpResponse:
    language, words = page_words("survey", invitation.language)
    first_name = invitation.patient.preferred_name or invitation.patient.given_name
    form = {
        "greeting": words["greeting"].format(name=first_name),
        "nps_choices": range(11),
        "csat_choices": range(1, 6),
    }
    if request.method != "POST":
        return _page(request, "survey.html", language, words, **form)
    errors = []
    try:
        nps = _score(request.POST.get("nps"), 0, 10)
        csat = _score(request.POST.get("csat"), 1, 5)
    except ValueError:
        nps = csat = None
    comment = request.POST.get("comment", "").replace("\x00", "").strip()
    if nps is None and csat is None:
        errors.append(words["need_score"])
    if len(comment) > COMMENT_LIMIT:
        errors.append(words["comment_too_long"])
    if errors:
        return _page(
            request, "survey.html", language, words, 400, errors=errors, comment=comment, **form
        )
    try:
        survey_answer(token=token, nps_score=nps, csat_score=csat, comment=comment)
    except SurveyLinkRefused as refused:
        return _message(request, language, words, refused.reason, REFUSED_STATUS[refused.reason])
    return _message(request, language, words, "thanks", 200)


def _language_name(tag: str) -> str:
    base = tag.split("-")[0]
    if base in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[base]
    try:
        locale = Locale.parse(DATE_LOCALE.get(base, tag.replace("-", "_")))
    except (UnknownLocaleError, ValueError):
        return tag
    return locale.get_display_name(locale) or tag


def _languages(current: str) -> list[tuple[str, str]]:
    """The languages the clinic writes in, by their own names; the patient's own
    first when it is another."""
    tags = [SOURCE_LANGUAGE, *(name.replace("_", "-") for name in LANGUAGES)]
    if current and current not in tags:
        tags.insert(0, current)
    return [(tag, _language_name(tag)) for tag in tags]


def _time(raw: str) -> datetime.time | None:
    try:
        return datetime.time.fromisoformat(raw) if 4 <= len(raw) <= 8 else None
    except ValueError:
        return None


def _chosen(post, channels: tuple[str, ...], languages: list) -> Preferences | str:
    """The form's choices, or the key of what is wrong with them."""
    pairs = set()
    for value in post.getlist("consent"):
        channel, _, purpose = value.partition(":")
        if channel not in channels or purpose not in ConsentPurpose.values:
            return "invalid"
        pairs.add((channel, purpose))
    language = post.get("language", "")
    preferred_channel = post.get("preferred_channel", "")
    hours = post.get("hours", "any")
    if (
        language not in {tag for tag, _ in languages}
        or preferred_channel not in ("", *channels)
        or hours not in ("any", "between")
    ):
        return "invalid"
    window = None
    if hours == "between":
        start, end = _time(post.get("from", "")), _time(post.get("until", ""))
        if start is None or end is None or start == end:
            return "need_hours"
        window = (start, end)
    return Preferences(channels, frozenset(pairs), language, preferred_channel, window)


@patient_page("preferences", LinkPurpose.PREFERENCES)
def preferences(request, link: PatientLink, language: str, words: dict) -> HttpResponse:
    patient = link.patient
    spoken = preferred_language(patient)
    languages = _languages(spoken.language if spoken else "")
    status, note, errors = 200, "", []
    if request.method == "POST":
        chosen = _chosen(request.POST, PREFERENCE_CHANNELS, languages)
        if isinstance(chosen, str):
            status, errors = 400, [words[chosen]]
        else:
            preferences_change(link=link, chosen=chosen, at=timezone.now())
            patient.refresh_from_db()
            spoken = preferred_language(patient)
            # The page answers in the language just chosen.
            language, words = page_words("preferences", chosen.language)
            note = words["saved"]
    today = timezone.now().astimezone(patient_zone(patient)).date()
    out = {(c.channel, c.purpose) for c in opted_out(patient, today)}
    purposes = [
        {
            "label": words[purpose],
            "choices": [
                {
                    "value": f"{channel}:{purpose}",
                    "label": words[channel],
                    "checked": (channel, purpose) not in out,
                }
                for channel in PREFERENCE_CHANNELS
            ],
        }
        for purpose in ConsentPurpose.values
    ]
    window = (patient.contact_window_start, patient.contact_window_end)
    return _page(
        request,
        "preferences.html",
        language,
        words,
        status,
        greeting=words["greeting"].format(name=_first_name(link)),
        purposes=purposes,
        languages=languages,
        language_chosen=spoken.language if spoken else SOURCE_LANGUAGE,
        channels=[(channel, words[channel]) for channel in PREFERENCE_CHANNELS],
        preferred_channel=patient.preferred_channel,
        window_from=f"{window[0]:%H:%M}" if window[0] else "",
        window_until=f"{window[1]:%H:%M}" if window[1] else "",
        note=note,
        errors=errors,
    )


@patient_page("tell_us", LinkPurpose.FEEDBACK)
def tell_us_page(request, link: PatientLink, language: str, words: dict) -> HttpResponse:
    if link.used_at is not None:
        return _message(request, language, words, "used", 410)
    kind = request.POST.get("kind", "")
    category = request.POST.get("about", "") or ComplaintCategory.OTHER
    text = request.POST.get("text", "").replace("\x00", "").strip()
    form = {
        "greeting": words["greeting"].format(name=_first_name(link)),
        "kinds": [(k, words[k]) for k in ("complaint", "compliment", "suggestion")],
        "categories": [(c, words[c]) for c in ComplaintCategory.values],
        "kind": kind,
        "category": category,
        "text": text,
    }
    if request.method != "POST":
        return _page(request, "tell_us.html", language, words, **form)
    errors = []
    if kind not in ("complaint", *REMARKS) or category not in ComplaintCategory.values:
        errors.append(words["need_kind"])
    if not text:
        errors.append(words["need_text"])
    elif len(text) > MESSAGE_LIMIT:
        errors.append(words["text_too_long"])
    if errors:
        return _page(request, "tell_us.html", language, words, 400, errors=errors, **form)
    try:
        complaint, answer_by = tell_us(
            link=link, kind=kind, category=category, text=text, at=timezone.now()
        )
    except LinkRefused:  # sent twice at once: the first one counted
        return _message(request, language, words, "used", 410)
    if complaint is None or answer_by is None:
        return _message(request, language, words, "thanks", 200)
    thanks = words["thanks_complaint"].format(
        reference=complaint.pk,
        **when_words(answer_by, language, patient_zone(link.patient)),
    )
    return _page(request, "message.html", language, words, message=thanks)
