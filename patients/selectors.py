"""Reads of the patient record. Each owns its joins and prefetches so serializers never
query. The 360 view, which reads every app, is ``interactions.selectors.patient_360``."""

import datetime
from collections import defaultdict
from collections.abc import Collection, Iterable
from contextlib import suppress
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Concat, Least, Left, Lower
from django.utils import timezone

from crm.access import RowRule, Section, rows_q
from crm.models import AccessRecord
from crm.roles import StaffUser
from patients.choices import CandidateStatus, ContactSystem, PatientStatus
from patients.matching import REVIEW, Match, Person, compare, phonetic_key
from patients.models import (
    PHONE_SYSTEMS,
    CommunicationConsent,
    ContactPoint,
    DuplicateCandidate,
    EmergencyAccess,
    Patient,
    PatientIdentifier,
    PatientLanguage,
)
from patients.validators import normalize_phone, search_key, search_words

# At most this many look-alikes are read and scored for one record: a birth date is
# shared by about 30 patients in a million.
CANDIDATES_READ = 500


class _NamesAlike(Func):
    """``name_search % text`` on PostgreSQL: the names' trigram similarity to the text
    reaches ``pg_trgm.similarity_threshold`` (set per connection in the settings); the
    trigram index serves it."""

    arg_joiner = " %% "
    template = "(%(expressions)s)"
    output_field = BooleanField()


class _Similarity(Func):
    function = "SIMILARITY"
    output_field = FloatField()


class _EditDistance(Func):
    """PostgreSQL's ``levenshtein`` between a name and the text typed, both in lower
    case without accents (levenshtein takes at most 255 characters)."""

    function = "LEVENSHTEIN"
    output_field = FloatField()

    def __init__(self, name: Any, text: str) -> None:
        def folded(value: Any) -> Func:
            return Left(Lower(Func(value, function="UNACCENT")), 255)

        super().__init__(folded(name), folded(Value(text)))


def patient_search(patients: QuerySet[Patient], text: str) -> QuerySet[Patient]:
    """The ``patients`` the search box finds for ``text``, best first, each lookup
    served by an index (no scan of the table):

    - an MRN (any case), a phone number in any format or a birth date (YYYY-MM-DD),
      when the text reads as one; these rank first;
    - names, as ``patient_name_search``, when the text has no digit.
    """
    text = text.strip()
    exact = Q(mrn__iexact=text)
    if sum(ch.isdigit() for ch in text) >= 7:
        with suppress(ValidationError):
            phone = normalize_phone(text)
            # Read first, so that the whole search stays one OR of index lookups.
            exact |= Q(pk__in=list(patient_ids_with_phone(phone)[:CANDIDATES_READ]))
    born = Q(pk__in=[])
    with suppress(ValidationError):
        born = Q(birth_date=forms.DateField().clean(text))
    names, similarity = _names(text)
    rank = Case(When(exact, then=Value(2.0)), When(born, then=Value(1.0)), default=Value(0.0))
    return _ranked(patients.filter(exact | born | names), rank + similarity)


def patient_name_search(patients: QuerySet[Patient], text: str) -> QuerySet[Patient]:
    """The ``patients`` whose names match ``text``, best first: every word in one of the
    names; on PostgreSQL also names alike by trigrams (a typo in a name of four letters
    or more); a word that sounds like the family name (Metaphone) with the other words
    in the names, or with another word that sounds like the given name. Ranked by
    trigram similarity and edit distance on PostgreSQL, by name on SQLite."""
    names, similarity = _names(text)
    return _ranked(patients.filter(names), similarity)


def _names(text: str) -> tuple[Q, Any]:
    words = search_words(text)
    if not words or any(ch.isdigit() for ch in text):  # an MRN, a date, a phone
        return Q(pk__in=[]), Value(0.0)
    # A word under three letters has no trigram for the index to look up: it narrows
    # what longer words found, and alone it is found by sound and similarity.
    names = _words_q(words) if any(len(word) >= 3 for word in words) else Q(pk__in=[])
    sounds = [phonetic_key(word) for word in words]
    for at, sound in enumerate(sounds):
        if not sound:
            continue
        # A word that sounds like the family name, the others in the names as typed
        # (Borck Bernard), or another word that sounds like the given name (Tnoy West).
        others = words[:at] + words[at + 1 :]
        names |= Q(family_key=sound) & _words_q(others)
        for given_at, given in enumerate(sounds):
            if given and given_at != at:
                rest = [word for i, word in enumerate(words) if i not in (at, given_at)]
                names |= Q(family_key=sound, given_key=given) & _words_q(rest)
    # A name that sounds like a word typed, spelled otherwise, ranks above one that only
    # looks alike (Brock for "Borck", above Brown). A word found as typed earns nothing
    # more: its letters already count, and "Bailey Shafher" must find Bailey Shaffer
    # above Shane Bailey.
    sounds_alike = Case(
        *(
            When(
                (Q(family_key=sound) | Q(given_key=sound)) & ~Q(name_search__contains=word),
                then=Value(0.25),
            )
            for word, sound in zip(words, sounds, strict=True)
            if sound
        ),
        default=Value(0.0),
    )
    if connection.vendor != "postgresql":
        return names, sounds_alike
    # Compared with the words as typed and in Latin letters, as the names are kept
    # (Иван: "иван ivan"), so that the characters typed rank above others read alike
    # (杨涛 above 阳涛, both "yangtao").
    typed = Value(" ".join(dict.fromkeys(search_key(text).split() + words)))
    # The accents typed tell apart names that fold alike (Ánh above Anh for "Ánhh Bùi",
    # among a million patients dozens of each): a tenth of the weight, so that they
    # order what the folded names rank alike.
    as_written = _Similarity(Concat("given_name", Value(" "), "family_name"), Value(text))
    # Trigrams count each once, so a name that repeats a word typed (Hoàng Hoàng for
    # "Hồg Hoàng") looks more alike than the name meant, and in a short word one typo
    # leaves few trigrams in common. The letters to change, in either order of the
    # names, tell them apart: a point for the name as typed, half a point one letter
    # away, a third two letters away.
    distance = Least(
        _EditDistance(Concat("given_name", Value(" "), "family_name"), text),
        _EditDistance(Concat("family_name", Value(" "), "given_name"), text),
    )
    similarity = (
        _Similarity(F("name_search"), typed)
        + sounds_alike
        + Value(0.1) * as_written
        + Value(1.0) / (Value(1.0) + distance)
    )
    return names | Q(_NamesAlike(F("name_search"), typed)), similarity


def _ranked(patients: QuerySet[Patient], relevance: Any) -> QuerySet[Patient]:
    return patients.annotate(relevance=relevance).order_by(
        "-relevance", "family_name", "given_name", "id"
    )


def _words_q(words: list[str]) -> Q:
    condition = Q()
    for word in words:
        condition &= Q(name_search__contains=word)
    return condition


def patient_ids_with_phone(e164: str) -> QuerySet:
    return ContactPoint.objects.filter(value=e164).values_list("patient_id", flat=True)


def patient_list() -> QuerySet[Patient]:
    return Patient.objects.prefetch_related("languages").order_by(
        "family_name", "given_name", "id"
    )


# What the record's serializer shows besides the patient row.
PATIENT_RELATED = ("care_coordinator", "primary_care_practitioner")


def patient_children() -> list:
    """The child rows the record shows (and the contact policy reads)."""
    return [
        "identifiers",
        "contact_points",
        "languages",
        Prefetch("consents", queryset=CommunicationConsent.objects.select_related("captured_by")),
    ]


def patient_detail() -> QuerySet[Patient]:
    return Patient.objects.select_related(*PATIENT_RELATED).prefetch_related(*patient_children())


def patients_speaking_q(tag: str) -> Q:
    """Patients with a language equal to ``tag`` or a subtag of it (``zh`` finds zh-Hans)."""
    return Q(
        Exists(
            PatientLanguage.objects.filter(patient=OuterRef("pk")).filter(
                Q(language__iexact=tag) | Q(language__istartswith=f"{tag}-")
            )
        )
    )


def patients_with_phone_q(e164: str) -> Q:
    return Q(Exists(ContactPoint.objects.filter(patient=OuterRef("pk"), value=e164)))


def patient_history_sources(patient: Patient) -> list[tuple[str, QuerySet, Collection[str]]]:
    """The change history of the patient and of their identifiers, contact points,
    languages and consents: (record, history, hidden fields) for ``merged_change_log``."""
    return [
        ("patient", Patient.history.filter(id=patient.pk), ()),
        ("identifier", PatientIdentifier.history.filter(patient_id=patient.pk), ()),
        ("contact_point", ContactPoint.history.filter(patient_id=patient.pk), ()),
        ("language", PatientLanguage.history.filter(patient_id=patient.pk), ()),
        ("consent", CommunicationConsent.history.filter(patient_id=patient.pk), ()),
    ]


def break_glass_purpose(user_id: int, patients: set[int]) -> tuple[Exists, str]:
    """Reads of a patient the user holds an unexpired break-the-glass grant for are
    logged with purpose break_glass (a condition for the access record's INSERT)."""
    grants = EmergencyAccess.objects.filter(
        user_id=user_id, patient_id__in=patients, expires_at__gt=timezone.now()
    )
    return Exists(grants), AccessRecord.Purpose.BREAK_GLASS


def restricted_visible_q(
    user: StaffUser, *, path: str = "", per_row: bool = False, in_sets: bool = False
) -> Q:
    """Which restricted items the user may see, for a model whose restricted item is at
    ``path`` (``""`` for the item itself, ``"interaction__"`` for a follow-up linked to
    one): clinicians', the assigned coordinator's, and those of patients the user holds
    an unexpired break-the-glass grant for.

    ``per_row``: each restricted item's patient checked by its key (a subquery per
    restricted item) instead of a join, for a read that scans many items (a year of
    contacts for the experience metrics), which a join would pair each with its patient.
    Not inside another subquery: PostgreSQL may then read every restricted item once.

    ``in_sets``: each restricted item's patient looked up in two lists, the user's own
    patients and those of their grants, for a read of restricted items only (a year of
    restricted contacts): PostgreSQL makes the subquery of ``per_row`` a join with every
    patient there."""
    patient = f"{path}patient"
    condition = rows_q(user, Section.RESTRICTED, RowRule(patient=patient))
    if condition == Q() or not user.is_authenticated:  # a clinician: every one
        return condition
    grants = EmergencyAccess.objects.filter(expires_at__gt=timezone.now(), user=user)
    if not (per_row or in_sets):
        return condition | Q(Exists(grants.filter(patient=OuterRef(patient))))
    own = rows_q(user, Section.RESTRICTED, RowRule(patient=""))
    if in_sets:
        return Q(**{f"{patient}__in": Patient.objects.filter(own).values("pk")}) | Q(
            **{f"{patient}__in": grants.values("patient")}
        )
    visible = Patient.objects.filter(own | Q(Exists(grants.filter(patient=OuterRef("pk")))))
    return Q(Exists(visible.filter(pk=OuterRef(patient))))


def consent_list(*, user: StaffUser) -> QuerySet[CommunicationConsent]:
    """The contact consents the user may read (the preferences section), each with its
    patient, whose time zone says whether the consent is still in effect."""
    return (
        CommunicationConsent.objects.filter(rows_q(user, Section.PREFERENCES))
        .select_related("patient")
        .order_by("patient_id", "channel", "purpose", "id")
    )


# The fields of a record the matcher reads (``person_of``).
MATCHED_FIELDS = (
    "given_name",
    "family_name",
    "preferred_name",
    "birth_date",
    "administrative_sex",
)


def person_of(
    patient: Patient,
    points: Collection[ContactPoint] | None = None,
    identifiers: Collection[PatientIdentifier] | None = None,
) -> Person:
    """What the matcher reads of a record: with its own contact points and identifiers
    (prefetched), or those given for a record not saved yet."""
    points = patient.contact_points.all() if points is None else points
    identifiers = patient.identifiers.all() if identifiers is None else identifiers
    return _person(
        {name: getattr(patient, name) for name in ("id", *MATCHED_FIELDS)},
        [(point.system, point.value) for point in points],
        [(identifier.system, identifier.value) for identifier in identifiers],
    )


def _person(
    record: dict[str, Any], points: list[tuple[str, str]], identifiers: list[tuple[str, str]]
) -> Person:
    """A record's ``MATCHED_FIELDS`` and id, with its contact points and identifiers
    as (system, value)."""
    return Person(
        id=record["id"],
        given_name=record["given_name"],
        family_name=record["family_name"],
        preferred_name=record["preferred_name"],
        birth_date=record["birth_date"],
        sex=record["administrative_sex"],
        phones=frozenset(value for system, value in points if system in PHONE_SYSTEMS),
        emails=frozenset(value for system, value in points if system == ContactSystem.EMAIL),
        identifiers=dict(identifiers),
    )


def duplicate_candidates(person: Person, *, least: float = REVIEW) -> list[Match]:
    """The records that may be ``person``, best first, scoring at least ``least``:
    those born on the day (or with day and month swapped), those of the family name's
    sound born that year, and those sharing a phone, an email or an identifier's
    system and value. Each lookup is an index's; merged records are left out."""
    born = person.birth_date
    days = {born, born.replace(month=born.day, day=born.month) if born.day <= 12 else born}
    # Unordered: a union's parts cannot be.
    lookups: list[QuerySet] = [
        Patient.objects.filter(birth_date__in=days).order_by().values_list("pk")
    ]
    if key := phonetic_key(person.family_name):
        year = (datetime.date(born.year, 1, 1), datetime.date(born.year, 12, 31))
        same_sound = Patient.objects.filter(family_key=key, birth_date__range=year)
        lookups.append(same_sound.order_by().values_list("pk"))
    contacts, systems = person.phones | person.emails, list(person.identifiers)
    if contacts:
        shared = ContactPoint.objects.filter(value__in=contacts)
        lookups.append(shared.order_by().values_list("patient_id"))
    if person.identifiers:
        same_id = PatientIdentifier.objects.filter(identifiers_q(person.identifiers.items()))
        lookups.append(same_id.order_by().values_list("patient_id"))
    found = lookups[0].union(*lookups[1:]).order_by()[:CANDIDATES_READ]
    # Each record with what a score reads of it: the fields compared, then in one more
    # query the contact points it shares with the person and its identifiers of the
    # person's systems (a phone or an identifier of another system adds nothing). About
    # 40 records for a registration at a million patients: read as plain rows, as
    # models and prefetches cost more than the reads.
    records = [
        record
        for record in Patient.objects.filter(pk__in=found)
        .exclude(status=PatientStatus.MERGED)
        .order_by()
        .values("id", *MATCHED_FIELDS)
        if record["id"] != person.id
    ]
    ids = [record["id"] for record in records]
    # (system, value) of each by record; the last column tells a contact point. The
    # union and its parts unordered, as they must be.
    points_of: dict[int, list[tuple[str, str]]] = defaultdict(list)
    identifiers_of: dict[int, list[tuple[str, str]]] = defaultdict(list)
    columns = ("patient_id", "system", "value")
    their_points = ContactPoint.objects.filter(patient_id__in=ids, value__in=contacts)
    their_identifiers = PatientIdentifier.objects.filter(patient_id__in=ids, system__in=systems)
    rows = (
        their_points.order_by()
        .values_list(*columns, Value(True))
        .union(their_identifiers.order_by().values_list(*columns, Value(False)), all=True)
        .order_by()
    )
    for patient_id, system, value, is_contact in rows:
        (points_of if is_contact else identifiers_of)[patient_id].append((system, value))
    matches = [
        compare(person, _person(record, points_of[record["id"]], identifiers_of[record["id"]]))
        for record in records
    ]
    return sorted((m for m in matches if m.score >= least), key=lambda m: (-m.score, m.b.id))


def duplicate_candidate_list() -> QuerySet[DuplicateCandidate]:
    """The duplicate worklist, best score first, with both records; an open pair one of
    whose records has since been merged into a third is left out."""
    merged = Q(patient__status=PatientStatus.MERGED) | Q(other__status=PatientStatus.MERGED)
    return (
        DuplicateCandidate.objects.exclude(Q(status=CandidateStatus.OPEN) & merged)
        .select_related("decided_by")
        .prefetch_related(
            Prefetch("patient", queryset=patient_list()),
            Prefetch("other", queryset=patient_list()),
        )
    )


def identifiers_q(identifiers: Iterable[tuple[str, str]]) -> Q:
    """The identifiers rows of these (system, value) pairs: one lookup of the unique
    index each, in one query."""
    held = Q(pk__in=[])
    for system, value in identifiers:
        held |= Q(system=system, value=value)
    return held


def patient_holding(identifiers: list[dict]) -> Patient | None:
    """The record holding any of these identifiers (``{"system", "value"}``), if one
    does: how an integration's push finds the patient it sent before."""
    held = identifiers_q((identifier["system"], identifier["value"]) for identifier in identifiers)
    found = PatientIdentifier.objects.filter(held).values_list("patient_id", flat=True)[:1]
    return Patient.objects.filter(pk__in=found).first()
