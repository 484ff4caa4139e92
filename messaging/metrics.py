"""Messaging and appointment figures for the experience metrics, computed by the
database. (Appointment figures live here because reminders and surveys are messages.)

Over the period (messages created from start to end date, inclusive):
- per channel and purpose, outbound messages: went out (sent or delivered), delivered,
  failed (failed or undeliverable), refused by the contact policy, still waiting;
- opt-out rate: patients texted who texted STOP (or its synonyms) / patients texted;
- reply rate: texts that went out and got a reply (not a keyword) / texts that went out;
- time to answer a patient's text (not a keyword): hours from receipt to a staff reply,
  median and 90th percentile, and how many are still unanswered.
"""

from datetime import date

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from appointments.choices import AppointmentStatus
from appointments.models import Appointment
from crm.db import DAY, HOUR, ElapsedPercentiles, median_and_p90
from crm.periods import period_bounds
from interactions.choices import Direction
from interactions.models import SurveyInvitation
from messaging.choices import Keyword, MessageChannel, MessageStatus, Template
from messaging.models import Message

WENT_OUT = (MessageStatus.SENT, MessageStatus.DELIVERED)
FAILED = (MessageStatus.FAILED, MessageStatus.UNDELIVERABLE)
WAITING = (MessageStatus.QUEUED, MessageStatus.SENDING)


def _rate(part: int, whole: int) -> dict:
    return {
        "numerator": part,
        "denominator": whole,
        "rate": round(part / whole, 4) if whole else None,
    }


def message_metrics(*, messages: QuerySet[Message], start: date, end: date) -> dict:
    begin, finish = period_bounds(start, end)
    period = messages.filter(created_at__gte=begin, created_at__lt=finish)
    outbound = period.filter(direction=Direction.OUTBOUND)
    by_kind = (
        outbound.order_by()
        .values("channel", "purpose")
        .annotate(
            went_out=Count("pk", filter=Q(status__in=WENT_OUT)),
            delivered=Count("pk", filter=Q(status=MessageStatus.DELIVERED)),
            failed=Count("pk", filter=Q(status__in=FAILED)),
            refused=Count("pk", filter=Q(status=MessageStatus.REFUSED)),
            waiting=Count("pk", filter=Q(status__in=WAITING)),
        )
        .order_by("channel", "purpose")
    )
    inbound = period.filter(direction=Direction.INBOUND)
    texts_out = outbound.filter(channel=MessageChannel.SMS, status__in=WENT_OUT)
    replied = Message.objects.filter(
        reply_to=OuterRef("pk"), direction=Direction.INBOUND, keyword=""
    )
    reach = texts_out.aggregate(
        texts=Count("pk"),
        replied=Count("pk", filter=Q(Exists(replied))),
        patients=Count("patient", distinct=True),
    )
    stopped = inbound.filter(
        keyword=Keyword.STOP, patient__in=texts_out.values("patient")
    ).aggregate(n=Count("patient", distinct=True))
    answers = inbound.filter(keyword="").aggregate(
        received=Count("pk"),
        answered=Count("answered_at"),
        seconds=ElapsedPercentiles("created_at", "answered_at"),
    )
    return {
        "by_channel_and_purpose": list(by_kind),
        "opt_out_rate": _rate(stopped["n"], reach["patients"]),
        "reply_rate": _rate(reach["replied"], reach["texts"]),
        "hours_to_answer": {
            **median_and_p90(answers["seconds"], HOUR),
            "n": answers["answered"],
            "unanswered": answers["received"] - answers["answered"],
        },
    }


def appointment_metrics(*, appointments: QuerySet[Appointment], start: date, end: date) -> dict:
    """Over the appointments that start in the period (proposals left out; a cancelled
    one counts nowhere):

    - confirmation rate: confirmed by the patient (for their current time) / held;
    - reminder reach: held with at least one reminder the provider took / held;
    - no-show rate: no-shows / visits whose outcome is recorded (fulfilled or
      no-show), overall and by service type, department and whether a reminder
      reached the patient;
    - lead time: days from booking to the visit, median and 90th percentile;
    - post-visit survey response rate: answered / survey invitations that went out
      after the fulfilled visits.
    """
    begin, finish = period_bounds(start, end)
    period = appointments.filter(start__gte=begin, start__lt=finish).exclude(
        status=AppointmentStatus.PROPOSED
    )
    held = period.exclude(status=AppointmentStatus.CANCELLED)
    reminded = Exists(
        Message.objects.filter(
            appointment=OuterRef("pk"), rule=Template.APPOINTMENT_REMINDER, status__in=WENT_OUT
        )
    )
    totals = held.aggregate(
        held=Count("pk"),
        confirmed=Count("pk", filter=Q(confirmed_at__isnull=False)),
        reached=Count("pk", filter=Q(reminded)),
        lead=ElapsedPercentiles("booked_at", "start"),  # without a booking time: left out
        booked=Count("booked_at"),
    )
    outcomes = period.filter(
        status__in=(AppointmentStatus.FULFILLED, AppointmentStatus.NO_SHOW)
    ).annotate(reminded=reminded)
    no_show = Q(status=AppointmentStatus.NO_SHOW)

    def no_shows_by(field: str, key: str) -> list[dict]:
        rows = (
            outcomes.order_by()
            .values(field)
            .annotate(due=Count("pk"), missed=Count("pk", filter=no_show))
            .order_by(field)
        )
        return [{key: row[field], **_rate(row["missed"], row["due"])} for row in rows]

    overall = outcomes.aggregate(due=Count("pk"), missed=Count("pk", filter=no_show))
    surveys = Message.objects.filter(
        appointment__in=period.filter(status=AppointmentStatus.FULFILLED),
        rule=Template.SURVEY_INVITATION,
        status__in=WENT_OUT,
    ).values(survey=Cast(KeyTextTransform("survey", "context"), IntegerField()))
    answers = SurveyInvitation.objects.filter(pk__in=surveys).aggregate(
        sent=Count("pk"), answered=Count("used_at")
    )
    return {
        "confirmation_rate": _rate(totals["confirmed"], totals["held"]),
        "reminder_reach": _rate(totals["reached"], totals["held"]),
        "no_show_rate": _rate(overall["missed"], overall["due"]),
        "no_show_by_service_type": no_shows_by("service_type__code", "service_type"),
        "no_show_by_department": no_shows_by("department", "department"),
        "no_show_by_reminder": no_shows_by("reminded", "reminder_reached"),
        "lead_time_days": {
            **median_and_p90(totals["lead"], DAY),
            "n": totals["booked"],
        },
        "survey_response_rate": _rate(answers["answered"], answers["sent"]),
    }
