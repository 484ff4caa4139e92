"""The patient-facing survey page behind a single-use link. It needs no login and shows
nothing about the patient beyond a first name."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from interactions.feedback_text import TEXT
from interactions.services import SurveyLinkRefused, survey_answer, survey_invitation_for

COMMENT_LIMIT = 2000
REFUSED_STATUS = {"unknown": 404, "used": 410, "expired": 410}


def _page(request, template: str, language: str, status: int = 200, **context) -> HttpResponse:
    response = render(
        request,
        f"interactions/{template}",
        {"t": TEXT.get(language, TEXT["en"]), "lang": language, **context},
        status=status,
    )
    # The link is a credential: keep it out of Referer headers sent to other sites. Not
    # "no-referrer": with it the browser posts the form with "Origin: null", which the
    # CSRF check refuses.
    response["Referrer-Policy"] = "same-origin"
    return response


def _refused(request, refused: SurveyLinkRefused) -> HttpResponse:
    return _page(
        request,
        "feedback_done.html",
        refused.language,
        REFUSED_STATUS[refused.reason],
        message_key=refused.reason,
    )


def _score(raw: str | None, low: int, high: int) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(raw)
    return int(raw)


@never_cache
def feedback(request, token: str):
    try:
        invitation = survey_invitation_for(token)
    except SurveyLinkRefused as refused:
        return _refused(request, refused)
    language = invitation.language
    first_name = invitation.patient.preferred_name or invitation.patient.given_name
    form = {
        "greeting": TEXT[language]["greeting"].format(name=first_name),
        "nps_choices": range(11),
        "csat_choices": range(1, 6),
    }
    if request.method != "POST":
        return _page(request, "feedback.html", language, **form)

    errors = []
    try:
        nps = _score(request.POST.get("nps"), 0, 10)
        csat = _score(request.POST.get("csat"), 1, 5)
    except ValueError:
        nps = csat = None
    comment = request.POST.get("comment", "").replace("\x00", "").strip()
    if nps is None and csat is None:
        errors.append("need_score")
    if len(comment) > COMMENT_LIMIT:
        errors.append("comment_too_long")
    if errors:
        return _page(
            request, "feedback.html", language, 400, errors=errors, comment=comment, **form
        )
    try:
        survey_answer(token=token, nps_score=nps, csat_score=csat, comment=comment)
    except SurveyLinkRefused as refused:
        return _refused(request, refused)
    return _page(request, "feedback_done.html", language, message_key="thanks")
