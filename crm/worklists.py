"""Worklists share one shape: a queryset annotated with ``bucket`` and ``is_overdue``
becomes, in two queries, the count and overdue count of every bucket and the most
urgent items of each (a window function ranks them inside their bucket)."""

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from crm.roles import user_queues


def mine_q(user, *, person: str, queue: str | None = None) -> Q:
    """What a worklist calls "mine": rows held by the user (``person``), and where the
    model has a ``queue``, rows in the queues of the user's departments."""
    condition = Q(**{person: user})
    if queue is not None:
        condition |= Q(**{f"{queue}__in": user_queues(user)})
    return condition


def read_in_order(rows: QuerySet, picks: list[QuerySet]) -> list[list]:
    """The rows each of ``picks`` selects, in its order: each pick reads only its ids (one
    column: no joins or subqueries to compile and plan), then ``rows`` (with what they
    show, and no filter: the picks chose them) reads them all in one query. A wide query
    per bucket, compiled and planned each time, was most of a worklist's time at a
    million patients. A row gone between the two reads is left out."""
    chosen = [list(pick.values_list("pk", flat=True)) for pick in picks]
    found = rows.in_bulk([pk for ids in chosen for pk in ids])
    return [[found[pk] for pk in ids if pk in found] for ids in chosen]


def bucket_counts(bucketed: QuerySet, keys) -> dict[str, dict[str, int]]:
    counts = {key: {"count": 0, "overdue": 0} for key in keys}
    rows = (
        bucketed.order_by()
        .values("bucket")
        .annotate(count=Count("pk"), overdue=Count("pk", filter=Q(is_overdue=True)))
    )
    for row in rows:
        counts[row["bucket"]] = {"count": row["count"], "overdue": row["overdue"]}
    return counts


def ranked_buckets(
    bucketed: QuerySet, choices, *, order_by: list, limit: int, offset: int = 0
) -> list[dict]:
    """``[{key, label, count, overdue, items}]`` in the order of ``choices``; items are
    ``limit`` of each bucket in ``order_by`` order, after the first ``offset`` (the next
    page of a bucket)."""
    counts = bucket_counts(bucketed, [key for key, _ in choices])
    ranked = bucketed.annotate(
        rank=Window(RowNumber(), partition_by=[F("bucket")], order_by=order_by)
    ).filter(rank__gt=offset, rank__lte=offset + limit)
    items: dict[str, list] = {key: [] for key, _ in choices}
    for row in ranked.order_by("bucket", "rank"):
        items[row.bucket].append(row)
    return [
        {"key": key, "label": label, **counts[key], "items": items[key]} for key, label in choices
    ]
