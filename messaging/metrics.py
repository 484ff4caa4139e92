"""Messaging figures for the experience metrics, computed by the database.

Over the period (messages created from start to end date, inclusive):
- per channel and purpose, outbound messages: went out (sent or delivered), delivered,
  failed (failed or undeliverable), refused by the contact policy, still waiting;
- opt-out rate: patients texted who texted STOP (or its synonyms) / patients texted;
- reply rate: texts that went out and got a reply (not a keyword) / texts that went out;
- time to answer a patient's text (not a keyword): hours from receipt to a staff reply,
  median and 90th percentile, and how many are still unanswered.
"""

from datetime import date

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from crm.db import EpochSeconds, Percentile
from crm.periods import period_bounds
from interactions.choices import Direction
from messaging.choices import Keyword, MessageChannel, MessageStatus
from messaging.models import Message

HOUR = 3600.0
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
    hours = (EpochSeconds(F("answered_at")) - EpochSeconds(F("created_at"))) / HOUR
    answers = inbound.filter(keyword="").aggregate(
        received=Count("pk"),
        answered=Count("answered_at"),
        median=Percentile(hours, 0.5),
        p90=Percentile(hours, 0.9),
    )
    return {
        "by_channel_and_purpose": list(by_kind),
        "opt_out_rate": _rate(stopped["n"], reach["patients"]),
        "reply_rate": _rate(reach["replied"], reach["texts"]),
        "hours_to_answer": {
            "median": None if answers["median"] is None else round(answers["median"], 2),
            "p90": None if answers["p90"] is None else round(answers["p90"], 2),
            "n": answers["answered"],
            "unanswered": answers["received"] - answers["answered"],
        },
    }
