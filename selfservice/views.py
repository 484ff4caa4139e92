"""The patient's pages, from the links messages carry. No account and no script; each
shows the first name and what it is about, nothing else, in the patient's language
(right to left where the language is written so), and each address may ask a page
``SELF_SERVICE_REQUESTS`` times in 10 minutes.

- ``visit``: answer about an appointment from its reminder: confirm, cancel or ask for
  another time, each the patient's step (``appointments.services.appointment_answer``).
- ``feedback``: the survey (NPS, CSAT, a comment), one answer per link.
"""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from appointments.choices import UPCOMING, AppointmentStatus, PatientAnswer
from appointments.models import Appointment
from appointments.services import appointment_answer
from crm.authentication import client_address
from crm.errors import InvalidTransition
from crm.ratelimit import over_limit
from interactions.services import SurveyLinkRefused, survey_answer, survey_invitation_for
from messaging.texts import RTL_LANGUAGES, clinic_values, page_words, when_words
from patients.choices import LinkPurpose
from patients.contact import patient_zone, preferred_language
from patients.links import LinkRefused, link_open

REFUSED_STATUS = {"unknown": 404, "expired": 410, "used": 410}
COMMENT_LIMIT = 2000
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


@never_cache
def visit(request, token: str) -> HttpResponse:
    if refused := _too_many(request, "visit"):
        return refused
    try:
        link = link_open(token, LinkPurpose.APPOINTMENT)
    except LinkRefused as refused:
        language, words = page_words("visit", refused.link.language if refused.link else "")
        return _message(request, language, words, refused.reason, REFUSED_STATUS[refused.reason])
    patient = link.patient
    # The language the patient reads now; the one the link was sent in if none is kept.
    spoken = preferred_language(patient)
    language, words = page_words("visit", spoken.language if spoken else link.language)
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
    first_name = patient.preferred_name or patient.given_name
    return _page(
        request,
        "visit.html",
        language,
        words,
        400 if answer is not None else 200,
        greeting=words["greeting"].format(name=first_name),
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
