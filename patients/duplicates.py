"""The duplicate worklist: the population scan that fills it and the registration
team's decisions.

The scan reads the records one birth year at a time (``matching.pairs_to_compare``
pairs those born on one day, its transposition, or of one family name's sound in one
month), then the records sharing a phone or an email, and keeps each pair scoring
``matching.REVIEW`` or more. Each year is one transaction that also moves the scan's
bookmark (``DuplicateScan``), so a worker stopped midway loses at most the year it was
in and the next run goes on from there. A pair someone has decided keeps their
decision; a later scan only refreshes its score.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from crm.errors import Conflict
from crm.roles import Actor
from patients.choices import CandidateStatus, PatientStatus
from patients.matching import (
    REVIEW,
    SHARED_CONTACT_MOST,
    Match,
    Person,
    compare,
    pairs_to_compare,
)
from patients.models import ContactPoint, DuplicateCandidate, DuplicateScan, Patient
from patients.selectors import person_of

CONTACT_BATCH = 2000
MATCHED_FIELDS = (
    "id",
    "given_name",
    "family_name",
    "preferred_name",
    "birth_date",
    "administrative_sex",
)


def _people(records: Iterable[Patient]) -> list[Person]:
    return [person_of(record) for record in records]


def _open_records() -> QuerySet[Patient]:
    return (
        Patient.objects.exclude(status=PatientStatus.MERGED)
        .only(
            "id", "given_name", "family_name", "preferred_name", "birth_date", "administrative_sex"
        )
        .prefetch_related("contact_points", "identifiers")
    )


def _keep(matches: list[Match]) -> None:
    """Write the pairs over the line (once each; a decided pair keeps its status)."""
    rows = []
    for match in matches:
        if match.score < REVIEW:
            continue
        low, high = match.ids
        rows.append(
            DuplicateCandidate(
                patient_id=low,
                other_id=high,
                score=match.score,
                evidence=match.reasons(),
                found_by="scan",
            )
        )
    DuplicateCandidate.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["patient", "other"],
        update_fields=["score", "evidence"],
    )


def _scan_year(scan: DuplicateScan, year: int) -> None:
    start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    people = _people(_open_records().filter(birth_date__range=(start, end)))
    pairs = pairs_to_compare(people)
    _keep([compare(people[i], people[j]) for i, j in pairs])
    scan.compared += len(pairs)
    scan.years_done_through = year
    scan.save(update_fields=["compared", "years_done_through"])


def _scan_contacts(scan: DuplicateScan) -> None:
    """The records sharing a phone or an email, whatever their birth dates."""
    shared = (
        ContactPoint.objects.values("value")
        .annotate(records=Count("patient", distinct=True))
        .filter(records__gt=1, records__lte=SHARED_CONTACT_MOST)
        .values_list("value", flat=True)
        .order_by("value")
    )
    values = list(shared)
    for at in range(0, len(values), CONTACT_BATCH):
        batch = values[at : at + CONTACT_BATCH]
        holders: dict[str, set[int]] = defaultdict(set)
        for value, patient in ContactPoint.objects.filter(value__in=batch).values_list(
            "value", "patient_id"
        ):
            holders[value].add(patient)
        people = {
            p.id: p for p in _people(_open_records().filter(pk__in=set().union(*holders.values())))
        }
        pairs = {
            (a, b)
            for group in holders.values()
            for a in group
            for b in group
            if a < b and a in people and b in people
        }
        _keep([compare(people[a], people[b]) for a, b in pairs])
        scan.compared += len(pairs)
    scan.contacts_done = True
    scan.save(update_fields=["compared", "contacts_done"])


def duplicate_scan() -> DuplicateScan:
    """Scan every record for look-alikes, going on with an unfinished scan if there is
    one (see the module docstring). Returns the finished scan."""
    scan = DuplicateScan.objects.filter(finished_at__isnull=True).first()
    scan = scan or DuplicateScan.objects.create()
    years = sorted(
        day.year
        for day in Patient.objects.exclude(status=PatientStatus.MERGED).dates("birth_date", "year")
    )
    for year in years:
        with transaction.atomic():
            # Locked and read again: two workers on one scan take the years in turn.
            scan = DuplicateScan.objects.select_for_update().get(pk=scan.pk)
            if scan.years_done_through is None or year > scan.years_done_through:
                _scan_year(scan, year)
    with transaction.atomic():
        scan = DuplicateScan.objects.select_for_update().get(pk=scan.pk)
        if not scan.contacts_done:
            _scan_contacts(scan)
    scan.finished_at = timezone.now()
    scan.found = DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN).count()
    scan.save(update_fields=["finished_at", "found"])
    return scan


@transaction.atomic
def duplicate_decide(*, candidate: DuplicateCandidate, actor: Actor) -> DuplicateCandidate:
    """The registration team's answer: these are two people. (Merging is the other
    answer: ``patient_merge`` closes the pair.)"""
    candidate = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
    if candidate.status != CandidateStatus.OPEN:
        raise Conflict(
            f"This pair was already decided: {CandidateStatus(candidate.status).label.lower()}.",
            code="already_decided",
        )
    candidate.status = CandidateStatus.DISTINCT
    candidate.decided_by = actor
    candidate.decided_at = timezone.now()
    candidate.save(update_fields=["status", "decided_by", "decided_at"])
    return candidate
