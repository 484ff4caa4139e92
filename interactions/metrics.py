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
  interaction keeps that reply's time (``interactions.replies``).
"""

from datetime import date

from django.db.models import Count, F, Q, QuerySet, Value

from crm.db import HOUR, ElapsedPercentiles, median_and_p90
from crm.periods import period_bounds
from interactions.choices import ComplaintCategory, ComplaintStatus, Direction
from interactions.models import Complaint, Interaction, SurveyInvitation, SurveyResponse


def _percent(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


def first_responses_by_channel(interactions: QuerySet[Interaction], begin, finish) -> QuerySet:
    """Per channel: the inbound contacts of the period, how many were answered, and the
    elapsed times' median and 90th percentile, read from the inbound contacts' index."""
    return (
        interactions.filter(
            direction=Direction.INBOUND, occurred_at__gte=begin, occurred_at__lt=finish
        )
        .order_by()
        .values("channel")
        .annotate(
            inbound=Count("*"),
            seconds=ElapsedPercentiles("occurred_at", "first_reply_at"),
            answered=Count("first_reply_at"),
        )
        .order_by("channel")
    )


def experience_metrics(
    *,
    responses: QuerySet[SurveyResponse],
    invitations: QuerySet[SurveyInvitation],
    complaints: QuerySet[Complaint],
    interactions: QuerySet[Interaction],
    start: date,
    end: date,
    complaint_targets,
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
        "first_response_hours_by_channel": [
            {
                "channel": row["channel"],
                "inbound": row["inbound"],
                "answered": row["answered"],
                **median_and_p90(row["seconds"], HOUR),
            }
            for row in first_responses_by_channel(interactions, begin, finish)
        ],
    }
