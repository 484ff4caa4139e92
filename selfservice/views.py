"""The page where a patient answers about an appointment, from the link in its
reminder: confirm, cancel or ask for another time. No account and no script; it shows
the first name, the time and who the visit is with, nothing else, in the patient's
language (right to left where the language is written so). Each answer is the
patient's step on the appointment (``appointments.services.appointment_answer``)."""

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
from messaging.texts import RTL_LANGUAGES, clinic_values, page_words, when_words
from patients.choices import LinkPurpose
from patients.contact import patient_zone, preferred_language
from patients.links import LinkRefused, link_open

REFUSED_STATUS = {"unknown": 404, "expired": 410}
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
            "lang": language,
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


@never_cache
def visit(request, token: str) -> HttpResponse:
    address = client_address(request) or "unknown"
    if over_limit(f"visit:{address}", limit=settings.SELF_SERVICE_REQUESTS, window=600):
        language, words = page_words("visit", "")
        return _message(request, language, words, "too_many", 429)
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
