"""Writes to the patient record. Every function is atomic and attributes the change."""

import contextlib
import datetime
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from crm.choices import Channel
from crm.errors import Conflict, InvalidInput, NotAllowed, validation_errors
from crm.roles import Actor, Role, has_role
from crm.services import (
    apply_changes,
    full_clean,
    loaded_relations,
    lock_for_update,
    save_attributed,
)
from patients.choices import (
    CandidateStatus,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
)
from patients.contact import patient_zone, preferred_language
from patients.matching import REGISTRATION, Match, Person
from patients.models import (
    CommunicationConsent,
    ContactPoint,
    DuplicateCandidate,
    EmergencyAccess,
    Patient,
    PatientIdentifier,
    PatientLanguage,
)
from patients.selectors import (
    PATIENT_RELATED,
    duplicate_candidates,
    identifiers_q,
    patient_children,
    person_of,
)

# Child collections written with the patient: field name -> (model, natural key).
CHILDREN: dict[str, tuple[type[models.Model], tuple[str, ...]]] = {
    "identifiers": (PatientIdentifier, ("system",)),
    "contact_points": (ContactPoint, ("system", "value")),
    "languages": (PatientLanguage, ("language", "mode")),
    "consents": (CommunicationConsent, ("channel", "purpose")),
}


def _new_mrn() -> str:
    while True:
        mrn = f"M{secrets.randbelow(10**9):09d}"
        if not Patient.objects.filter(mrn=mrn).exists():
            return mrn


def _build_children(
    patient: Patient, name: str, items: Iterable[dict], actor: Actor
) -> list[models.Model]:
    """Validate and normalise one submitted child list, with per-item field errors."""
    model, key = CHILDREN[name]
    built: list[models.Model] = []
    errors: list[dict] = []
    seen: dict[tuple, int] = {}
    for index, item in enumerate(items):
        if model is CommunicationConsent:
            item = {"captured_by": actor, **item}
        child = model(patient=patient, **item)
        item_errors = {}
        try:
            child.clean_fields(exclude=["patient", *loaded_relations(child)])
            child.clean()
        except ValidationError as exc:
            item_errors = validation_errors(exc)
        natural_key = tuple(getattr(child, field) for field in key)
        if not item_errors and natural_key in seen:
            item_errors = {key[-1]: [f"Repeats item {seen[natural_key] + 1}."]}
        seen.setdefault(natural_key, index)
        errors.append(item_errors)
        built.append(child)
    if any(errors):
        raise InvalidInput("Some fields are not valid.", errors={name: errors})
    return built


def _sync_children(
    patient: Patient, name: str, children: list[models.Model], actor: Actor
) -> bool:
    """Make the stored child rows equal the submitted list, matched by natural key, so
    history shows real changes only (an unchanged phone number writes nothing)."""
    model, key = CHILDREN[name]
    existing = {tuple(getattr(row, f) for f in key): row for row in getattr(patient, name).all()}
    editable = [
        f.attname
        for f in model._meta.concrete_fields
        if f.editable and not f.primary_key and f.name != "patient"
    ]
    touched = False
    for child in children:
        natural_key = tuple(getattr(child, f) for f in key)
        current = existing.pop(natural_key, None)
        if current is None:
            save_attributed(child, actor=actor)
            touched = True
            continue
        changed = [f for f in editable if getattr(current, f) != getattr(child, f)]
        if model is CommunicationConsent and changed == ["captured_by_id"]:
            changed = []  # re-sending the same consent is not a new capture
        if changed:
            for f in changed:
                setattr(current, f, getattr(child, f))
            save_attributed(current, actor=actor, update_fields=changed)
            touched = True
    for row in existing.values():
        row._history_user = actor
        row.delete()
    return touched or bool(existing)


# Candidates a refused registration lists.
CANDIDATES_SHOWN = 5


def _person(patient: Patient, contact_points: list[dict], identifiers: list[dict]) -> Person:
    """A record not yet saved, as the matcher reads it (phones normalized as stored;
    a value that is not valid is reported when the row is written)."""
    points = [ContactPoint(**row) for row in contact_points]
    for point in points:
        with contextlib.suppress(ValidationError):
            point.clean()
    return person_of(patient, points, [PatientIdentifier(**row) for row in identifiers])


def match_summary(match: Match) -> dict:
    """A candidate as staff see it: the other record, the score and every reason."""
    other = match.b
    return {
        "patient": {
            "id": other.id,
            "given_name": other.given_name,
            "family_name": other.family_name,
            "birth_date": other.birth_date.isoformat(),
        },
        "score": match.score,
        "evidence": match.reasons(),
    }


def _validate_unique_identifiers(patient: Patient, identifiers: list[Any]) -> None:
    """Each identifier held by no other patient; all looked up in one query."""
    pairs = [(identifier.system, identifier.value) for identifier in identifiers]
    held_elsewhere = set(
        PatientIdentifier.objects.filter(identifiers_q(pairs))
        .exclude(patient=patient)
        .values_list("system", "value")
    )
    clashes = [index for index, pair in enumerate(pairs) if pair in held_elsewhere]
    if clashes:
        errors = [
            {"value": ["Another patient already has this identifier."]} if i in clashes else {}
            for i in range(len(identifiers))
        ]
        raise InvalidInput("Some fields are not valid.", errors={"identifiers": errors})


def _write_children(
    patient: Patient, collections: dict[str, list[dict] | None], actor: Actor
) -> bool:
    """Write each given child list; True when any stored row changed."""
    touched = False
    for name, items in collections.items():
        if items is None:
            continue
        children = _build_children(patient, name, items, actor)
        if name == "identifiers":
            _validate_unique_identifiers(patient, children)
        touched |= _sync_children(patient, name, children, actor)
    return touched


def _create_children(patient: Patient, collections: dict[str, list[dict]], actor: Actor) -> None:
    """A new patient's child rows: each list written in one statement and its history in
    another, then kept on the patient as its prefetched rows, in their order, for the
    answer (nothing is read back)."""
    patient._prefetched_objects_cache = {}  # type: ignore[attr-defined]
    for name, items in collections.items():
        children = _build_children(patient, name, items, actor)
        model, _ = CHILDREN[name]
        if name == "identifiers":
            _validate_unique_identifiers(patient, children)
        if children:
            bulk_create_with_history(children, model, default_user=actor)
        ordering = [str(field) for field in model._meta.ordering or ()]
        rows = getattr(patient, name).all()
        rows._result_cache = sorted(children, key=attrgetter(*ordering))
        rows._prefetch_done = True
        patient._prefetched_objects_cache[name] = rows  # type: ignore[attr-defined]


def check_coordinator_change(*, patient: Patient, actor: Actor) -> None:
    """A patient's care coordinator sees their restricted items, so who coordinates a
    patient is changed only by the current coordinator or an administrator (a patient
    with no coordinator may be taken by any coordinator). Anyone else must break the
    glass, which is time-limited and reviewed."""
    current = patient.care_coordinator_id
    if current is None or (actor is not None and current == actor.pk):
        return
    if has_role(actor, Role.ADMIN):
        return
    message = (
        "Only the patient's care coordinator or an administrator may give the patient "
        "another coordinator: the coordinator sees the patient's restricted items."
    )
    raise NotAllowed(message, code="care_team_denied", errors={"care_coordinator_id": [message]})


@transaction.atomic
def patient_create(
    *,
    actor: Actor,
    identifiers: list[dict] | None = None,
    contact_points: list[dict] | None = None,
    languages: list[dict] | None = None,
    consents: list[dict] | None = None,
    confirm_new_person: bool = False,
    **fields: Any,
) -> Patient:
    """Create a patient with their child rows; an MRN is generated when none is given.

    A record that scores ``matching.REGISTRATION`` or more against one already there is
    refused (409, with the candidates and why) unless ``confirm_new_person`` says the
    person registering checked: then the pairs are kept as two people, decided by them."""
    patient = Patient(**fields)
    generated = not patient.mrn
    if generated:
        patient.mrn = _new_mrn()  # checked free already
    full_clean(patient, exclude=["name_search", "family_key", *(["mrn"] if generated else [])])
    candidates = duplicate_candidates(
        _person(patient, contact_points or [], identifiers or []), least=REGISTRATION
    )
    if candidates and not confirm_new_person:
        raise Conflict(
            "This may be a patient already registered. Check the records found; send "
            "confirm_new_person when this is someone else.",
            code="possible_duplicate",
            candidates=[match_summary(match) for match in candidates[:CANDIDATES_SHOWN]],
        )
    save_attributed(patient, actor=actor, reason="created")
    DuplicateCandidate.objects.bulk_create(
        [
            DuplicateCandidate(
                patient_id=match.ids[1],  # the stored record (the new one has none yet)
                other=patient,
                score=match.score,
                evidence=match.reasons(),
                status=CandidateStatus.DISTINCT,
                found_by="registration",
                decided_by=actor,
                decided_at=timezone.now(),
            )
            for match in candidates
        ]
    )
    _create_children(
        patient,
        {
            "identifiers": identifiers or [],
            "contact_points": contact_points or [],
            "languages": languages or [],
            "consents": consents or [],
        },
        actor,
    )
    return patient


@transaction.atomic
def patient_update(
    *,
    patient: Patient,
    actor: Actor,
    expected_version: int | None = None,
    identifiers: list[dict] | None = None,
    contact_points: list[dict] | None = None,
    languages: list[dict] | None = None,
    consents: list[dict] | None = None,
    **fields: Any,
) -> Patient:
    """Change the patient's fields; a child list that is given replaces the stored one."""
    patient = lock_for_update(patient, expected_version, related=PATIENT_RELATED)
    if "care_coordinator" in fields and fields["care_coordinator"] != patient.care_coordinator:
        check_coordinator_change(patient=patient, actor=actor)
    changed = apply_changes(patient, fields)
    full_clean(patient, only=changed)
    children_changed = _write_children(
        patient,
        {
            "identifiers": identifiers,
            "contact_points": contact_points,
            "languages": languages,
            "consents": consents,
        },
        actor,
    )
    # The version moves when anything in the record moved, so If-Match covers children.
    if changed or children_changed:
        save_attributed(patient, actor=actor)
    prefetch_related_objects([patient], *patient_children())
    return patient


@transaction.atomic
def emergency_access_grant(*, actor: Actor, patient: Patient, reason: str) -> EmergencyAccess:
    """Break the glass: time-limited access to one patient's restricted items."""
    if len(reason.strip()) < 10:
        raise InvalidInput(
            "Say why emergency access is needed (at least 10 characters).",
            errors={"reason": ["Give the reason in a sentence."]},
        )
    now = timezone.now()
    grant = EmergencyAccess(
        user=actor,
        patient=patient,
        reason=reason.strip(),
        granted_at=now,
        expires_at=now + settings.EMERGENCY_ACCESS_DURATION,
    )
    save_attributed(grant, actor=actor, reason="break the glass")
    return grant


@transaction.atomic
def emergency_access_review(*, grant: EmergencyAccess, actor: Actor, note: str) -> EmergencyAccess:
    grant = EmergencyAccess.objects.select_for_update().get(pk=grant.pk)
    grant.reviewed_at = timezone.now()
    grant.reviewed_by = actor
    grant.review_note = note
    save_attributed(grant, actor=actor, reason="reviewed")
    return grant


@dataclass(frozen=True)
class Preferences:
    """What a patient chose on their preferences page (``selfservice``)."""

    channels: tuple[str, ...]  # the channels the page asked about
    opted_in: frozenset[tuple[str, str]]  # the (channel, purpose) pairs left ticked
    language: str  # a BCP-47 tag
    preferred_channel: str  # "" for no preference
    window: tuple[datetime.time, datetime.time] | None  # None: any time in the clinic's hours


@transaction.atomic
def preferences_save(*, patient: Patient, chosen: Preferences, at: datetime.datetime) -> list[str]:
    """The patient's own choice of how, when and in which language to be contacted.
    Each channel and purpose whose answer changed becomes a consent with source
    "patient self-service" (unticked is an opt-out; ticked lifts one); the language
    becomes the preferred one. Returns what changed, a line each, for the timeline."""
    patient = lock_for_update(patient, None)
    prefetch_related_objects([patient], "consents", "languages")
    changes = _save_consents(patient, chosen, at)
    changed_fields = []
    window = chosen.window or (None, None)
    if (patient.contact_window_start, patient.contact_window_end) != window:
        patient.contact_window_start, patient.contact_window_end = window
        changed_fields += ["contact_window_start", "contact_window_end"]
        changes.append(
            f"Contact hours: {window[0]:%H:%M}-{window[1]:%H:%M}."
            if chosen.window
            else "Contact hours: any time in the clinic's hours."
        )
    if patient.preferred_channel != chosen.preferred_channel:
        patient.preferred_channel = chosen.preferred_channel
        changed_fields.append("preferred_channel")
        label = Channel(chosen.preferred_channel).label if chosen.preferred_channel else "none"
        changes.append(f"Preferred channel: {label}.")
    if _save_language(patient, chosen.language):
        changes.append(f"Preferred language: {chosen.language}.")
    if changes:
        save_attributed(
            patient,
            actor=None,
            reason="patient self-service",
            update_fields=[*changed_fields, "updated_at"],
        )
    return changes


def _save_consents(patient: Patient, chosen: Preferences, at: datetime.datetime) -> list[str]:
    today = at.astimezone(patient_zone(patient)).date()
    stored = {(c.channel, c.purpose): c for c in patient.consents.all()}
    changes = []
    for channel in chosen.channels:
        for purpose in ConsentPurpose.values:
            consent = stored.get((channel, purpose))
            out_now = (
                consent is not None
                and consent.status == ConsentStatus.OPT_OUT
                and consent.is_in_effect(today)
            )
            wants_in = (channel, purpose) in chosen.opted_in
            if wants_in != out_now:
                continue  # no change: ticked and allowed, or unticked and opted out
            consent = consent or CommunicationConsent(
                patient=patient, channel=channel, purpose=purpose
            )
            consent.status = ConsentStatus.OPT_IN if wants_in else ConsentStatus.OPT_OUT
            consent.source = ConsentSource.SELF_SERVICE
            consent.captured_at = at
            consent.captured_by = None
            consent.effective_from = consent.effective_to = None
            save_attributed(consent, actor=None, reason="patient self-service")
            changes.append(
                f"{Channel(channel).label} for {ConsentPurpose(purpose).label.lower()}: "
                f"{ConsentStatus(consent.status).label.lower()}."
            )
    return changes


def _save_language(patient: Patient, tag: str) -> bool:
    """Make ``tag`` the patient's preferred language (adding it when new). Whether it
    changed."""
    current = preferred_language(patient)
    if not tag or (current is not None and current.language == tag):
        return False
    languages = list(patient.languages.all())
    for language in languages:
        if language.preferred and language.language != tag:
            language.preferred = False
            save_attributed(language, actor=None, reason="patient self-service")
    chosen = next((language for language in languages if language.language == tag), None)
    chosen = chosen or PatientLanguage(patient=patient, language=tag)
    chosen.preferred, chosen.rank = True, 1
    save_attributed(chosen, actor=None, reason="patient self-service")
    return True
