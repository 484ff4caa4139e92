"""Patient-experience metrics, as docs/domain.md defines them, computed by the database.

Over the period (start to end date, inclusive):
- NPS = % promoters (9-10) - % detractors (0-6) of responses with an NPS score;
- CSAT = responses scoring 4 or 5 / all responses with a CSAT score x 100;
- survey response rate = invitations sent in the period that were answered / sent;
- complaints received in the period by category and by status; hours from receipt to
  first response and to resolution (median, 90th percentile); % of the resolved ones
  resolved within their priority's target;
- first-response time per channel: from an inbound interaction to the first outbound
  reply on its thread (an interaction whose parent it is), in hours; each inbound
  interaction keeps that reply's time (``interactions.replies``). The times are counted
  in duration bins 2% wide (``crm.db``), each taken at its bin's mean: exact when a
  bin's times are equal, otherwise within 2%.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from crm.db import (
    HOUR,
    ElapsedBin,
    ElapsedPercentiles,
    ElapsedSeconds,
    binned_percentiles,
    median_and_p90,
)
from crm.periods import period_bounds
from crm.tallies import split_q
from interactions.choices import ComplaintCategory, ComplaintStatus, Direction
from interactions.models import (
    Complaint,
    FirstReplyTally,
    Interaction,
    SurveyInvitation,
    SurveyResponse,
)
from interactions.tallies import REPLY_BIN_GROWTH, UNANSWERED


def _percent(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


@dataclass(frozen=True)
class TalliedContacts:
    """First responses read from the tallies (``interactions.tallies``), kept for every
    contact: the contacts of ``sensitivities`` (the reader may count them all) on
    ``channels`` (None: every channel), and beside them the contacts of ``beside`` (those
    of other sensitivities the reader may count), read live."""

    sensitivities: Sequence[str]
    channels: Sequence[str] | None
    beside: QuerySet[Interaction]


def inbound_in(interactions: QuerySet[Interaction], begin, finish) -> QuerySet[Interaction]:
    return interactions.filter(
        direction=Direction.INBOUND, occurred_at__gte=begin, occurred_at__lt=finish
    ).order_by()


def reply_bins(inbound: QuerySet[Interaction]) -> QuerySet:
    """Per channel, the contacts by the duration bin of their time to the first reply
    (``UNANSWERED`` for none): (channel, bin, count, seconds), read from the inbound
    contacts' index."""
    binned = Coalesce(
        ElapsedBin("occurred_at", "first_reply_at", REPLY_BIN_GROWTH), Value(UNANSWERED)
    )
    return (
        inbound.values("channel", bin=binned)
        .annotate(
            n=Count("*"), seconds=Sum(ElapsedSeconds("occurred_at", "first_reply_at"), default=0)
        )
        .values_list("channel", "bin", "n", "seconds")
    )


def first_responses_by_channel(
    interactions: QuerySet[Interaction] | None,
    begin,
    finish,
    tallied: TalliedContacts | None = None,
) -> list[dict]:
    """Per channel: the inbound contacts of the period, how many were answered, and the
    hours to the first reply (median and 90th percentile, from 2% duration bins). From
    ``interactions`` (those the reader may count, as filtered), or from the tallies."""
    if tallied is None:
        bins = list(reply_bins(inbound_in(interactions, begin, finish)))
    else:
        scope = Q(sensitivity__in=tallied.sensitivities)
        if tallied.channels is not None:
            scope &= Q(channel__in=tallied.channels)
        weeks, edges = split_q("occurred_at", begin, finish, weekly=True)
        tally = FirstReplyTally.objects.filter(scope, weeks).values("channel", "bin")
        bins = [
            *tally.annotate(total=Sum("n"), sum_seconds=Sum("seconds")).values_list(
                "channel", "bin", "total", "sum_seconds"
            ),
            *reply_bins(inbound_in(Interaction.objects.filter(scope, edges), begin, finish)),
            *reply_bins(inbound_in(tallied.beside, begin, finish)),
        ]
    figures = []
    for channel in sorted({row[0] for row in bins}):
        rows = [row[1:] for row in bins if row[0] == channel]
        answered = [row for row in rows if row[0] != UNANSWERED]
        inbound = sum(n for _, n, _ in rows)
        if inbound:
            figures.append(
                {
                    "channel": channel,
                    "inbound": inbound,
                    "answered": sum(n for _, n, _ in answered),
                    **median_and_p90(binned_percentiles(answered), HOUR),
                }
            )
    return figures


def experience_metrics(
    *,
    responses: QuerySet[SurveyResponse],
    invitations: QuerySet[SurveyInvitation],
    complaints: QuerySet[Complaint],
    interactions: QuerySet[Interaction],
    start: date,
    end: date,
    complaint_targets,
    tallied_contacts: TalliedContacts | None = None,
) -> dict:
    begin, finish = period_bounds(start, end)

    scores = responses.filter(received_at__gte=begin, received_at__lt=finish).aggregate(
        nps_n=Count("nps_score"),
        promoters=Count("pk", filter=Q(nps_score__gte=9)),
        passives=Count("pk", filter=Q(nps_score__in=[7, 8])),
        detractors=Count("pk", filter=Q(nps_score__lte=6)),
        csat_n=Count("csat_score"),
        satisfied=Count("pk", filter=Q(csat_score__gte=4)),
    )
    sent = invitations.filter(sent_at__gte=begin, sent_at__lt=finish).aggregate(
        sent=Count("pk"), answered=Count("pk", filter=Q(used_at__isnull=False))
    )

    received = complaints.filter(received_at__gte=begin, received_at__lt=finish)
    by_category = {key: 0 for key in ComplaintCategory.values}
    by_status = {key: 0 for key in ComplaintStatus.values}
    for row in received.order_by().values("category", "status").annotate(n=Count("pk")):
        by_category[row["category"]] += row["n"]
        by_status[row["status"]] += row["n"]
    within_target = Q(pk__in=[])
    for priority, target in complaint_targets.items():
        within_target |= Q(
            priority=priority, resolved_at__lte=F("received_at") + Value(target.resolve_within)
        )
    timings = received.aggregate(
        first=ElapsedPercentiles("received_at", "first_response_at"),
        first_n=Count("first_response_at"),
        resolve=ElapsedPercentiles("received_at", "resolved_at"),
        resolved=Count("resolved_at"),
        resolved_in_time=Count("pk", filter=Q(resolved_at__isnull=False) & within_target),
    )

    nps_n = scores["nps_n"]
    return {
        "period": {"start": start, "end": end},
        "nps": {
            "score": None
            if not nps_n
            else round((scores["promoters"] - scores["detractors"]) * 100 / nps_n, 1),
            "promoters": scores["promoters"],
            "passives": scores["passives"],
            "detractors": scores["detractors"],
            "n": nps_n,
        },
        "csat": {
            "score": _percent(scores["satisfied"], scores["csat_n"]),
            "satisfied": scores["satisfied"],
            "n": scores["csat_n"],
        },
        "survey_response_rate": {
            "numerator": sent["answered"],
            "denominator": sent["sent"],
            "rate": round(sent["answered"] / sent["sent"], 4) if sent["sent"] else None,
        },
        "complaints": {
            "received": sum(by_status.values()),
            "by_category": by_category,
            "by_status": by_status,
            "hours_to_first_response": {
                **median_and_p90(timings["first"], HOUR),
                "n": timings["first_n"],
            },
            "hours_to_resolution": {
                **median_and_p90(timings["resolve"], HOUR),
                "n": timings["resolved"],
            },
            "resolved_within_target": {
                "numerator": timings["resolved_in_time"],
                "denominator": timings["resolved"],
                "percent": _percent(timings["resolved_in_time"], timings["resolved"]),
            },
        },
        "first_response_hours_by_channel": first_responses_by_channel(
            interactions, begin, finish, tallied_contacts
        ),
    }
