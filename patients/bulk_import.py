"""Bulk import of patients, for an EHR's initial load (``manage.py import_patients``).

The input is NDJSON: one patient a line, in the shape ``POST /api/patients/`` takes.
Each line is checked by plain checks that reuse the record's own validators (phone
numbers, language tags, time zones, the code lists, the fields' lengths), not by a
serializer or a model instance per row, which would cost a hundred times more. The
lines are then written in batches, each batch one transaction:

- the ids are reserved up front (the tables' sequences on PostgreSQL), so child rows
  point at their patient without reading anything back;
- every table is written in one statement: COPY on PostgreSQL, one ``executemany``
  INSERT on SQLite;
- each row gets its "+" history row (who imported it, "imported"), and the batch one
  access record naming its patients;
- the change feed's triggers stay on, so integrations see the imported patients.

A line whose identifier (system and value) a patient already holds is skipped as
already present: importing a file twice adds nothing, and a file cut short by a crash
is finished by importing it again (whole batches only were kept). Bad lines are
reported with their line number and fields, and the rest go on. The duplicate check of
registration is not run per line; the population scan (``patients.scan_duplicates``)
finds the records of one person afterwards.
"""

import datetime
import json
import multiprocessing
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import reduce
from operator import itemgetter, or_
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.db import (
    IntegrityError,
    OperationalError,
    connection,
    connections,
    models,
    transaction,
)
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime, parse_time

from crm.audit import ids_text
from crm.choices import Channel
from crm.db import insert_rows
from crm.models import AccessRecord
from patients.choices import (
    AccessibilityNeed,
    AdministrativeSex,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    ContactSystem,
    ContactUse,
    InterpreterNeeded,
    LanguageMode,
    PatientStatus,
)
from patients.matching import phonetic_key
from patients.models import (
    PHONE_SYSTEMS,
    CommunicationConsent,
    ContactPoint,
    Patient,
    PatientIdentifier,
    PatientLanguage,
)
from patients.validators import (
    name_search_key,
    normalize_language_tag,
    normalize_phone,
    validate_time_zone,
)

BATCH_SIZE = 5_000
# A line longer than this is refused unread (the API takes bodies up to 2.5 MB).
MAX_LINE_BYTES = 1_000_000
CHANGE_REASON = "imported"
# Lists per patient, as the API takes them.
MOST_ITEMS = {"identifiers": 20, "contact_points": 20, "languages": 10, "consents": 60}
# Values looked up per query: well under SQLite's limit of query parameters.
LOOKUP_CHUNK = 10_000

type Errors = dict[str, list[str]]

REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
BLANK = "This field may not be blank."
NUL = "Null characters are not allowed."
NOT_TEXT = "Not a valid string."
UNKNOWN = "Not a field the import takes."
NOT_OBJECT = "Expected an object."
WRONG_DATE = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
WRONG_TIME = "Time has wrong format. Use one of these formats instead: hh:mm[:ss[.uuuuuu]]."
WRONG_DATETIME = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


def _max_length(model: type[models.Model], name: str) -> int:
    length = model._meta.get_field(name).max_length  # type: ignore[union-attr]
    assert length is not None
    return length


# What the import takes, per list item: key -> (max length or None).
PATIENT_KEYS = frozenset(
    {
        "mrn",
        "family_name",
        "given_name",
        "middle_name",
        "preferred_name",
        "birth_date",
        "administrative_sex",
        "status",
        "interpreter_needed",
        "accessibility_needs",
        "accessibility_notes",
        "preferred_channel",
        "contact_window_start",
        "contact_window_end",
        "time_zone",
        "do_not_contact",
        "high_risk",
        "identifiers",
        "contact_points",
        "languages",
        "consents",
        # Registration's answer to a possible duplicate: the import checks none.
        "confirm_new_person",
    }
)
ITEM_KEYS = {
    "identifiers": frozenset({"system", "value"}),
    "contact_points": frozenset({"system", "value", "use", "rank", "period_start", "period_end"}),
    "languages": frozenset({"language", "mode", "preferred", "rank"}),
    "consents": frozenset(
        {
            "channel",
            "purpose",
            "status",
            "source",
            "captured_at",
            "effective_from",
            "effective_to",
        }
    ),
}
NAME_LENGTH = _max_length(Patient, "family_name")
NAME_SEARCH_LENGTH = _max_length(Patient, "name_search")
SEXES = frozenset(AdministrativeSex.values)
STATUSES = frozenset(PatientStatus.values) - {PatientStatus.MERGED}
INTERPRETER = frozenset(InterpreterNeeded.values)
CHANNELS = frozenset(Channel.values)
NEEDS = frozenset(AccessibilityNeed.values)
CONTACT_SYSTEMS = frozenset(ContactSystem.values)
CONTACT_USES = frozenset(ContactUse.values)
MODES = frozenset(LanguageMode.values)
PURPOSES = frozenset(ConsentPurpose.values)
CONSENT_STATUSES = frozenset(ConsentStatus.values)
CONSENT_SOURCES = frozenset(ConsentSource.values)
PHONES = frozenset(str(system) for system in PHONE_SYSTEMS)
OLDEST_BIRTH = datetime.date(1880, 1, 1)


@dataclass(frozen=True)
class RowError:
    """A line refused, with its messages by field (``contact_points[1].value``)."""

    line: int
    errors: Errors

    def lines(self) -> Iterator[str]:
        """As people read it: ``line 7: contact_points[1].value: Enter a valid phone
        number.``"""
        for name, messages in self.errors.items():
            for message in messages:
                yield f"line {self.line}: {name}: {message}"


@dataclass(slots=True)
class CheckedRow:
    """A line that passed the checks: the patient's columns and its child rows' (by
    column name), without the ids and the MRN, which the batch gives."""

    line: int
    patient: dict[str, Any]
    mrn: str  # "" to generate one
    identifiers: list[dict[str, Any]]
    contact_points: list[dict[str, Any]]
    languages: list[dict[str, Any]]
    consents: list[dict[str, Any]]


@dataclass
class ImportResult:
    imported: int = 0
    present: int = 0
    refused: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Lines handled per second (imported, already present or refused)."""
        return (
            (self.imported + self.present + self.refused) / self.seconds if self.seconds else 0.0
        )


def _shown(value: object) -> str:
    """A bad value, short and printable, for a message."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text[:40].replace("\x00", "\\x00")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class RepeatFinder:
    """The identifiers and MRNs of the file's earlier lines: a line carrying one again
    is refused (which of the two is the patient is for a person to say). Read in the
    one process that reads the file, so it holds however the batches are shared out."""

    def __init__(self) -> None:
        self.identifiers: dict[tuple[str, str], int] = {}
        self.mrns: dict[str, int] = {}

    def see(self, line: int, raw: bytes | str) -> Errors:
        errors: Errors = {}
        try:
            data = json.loads(raw) if len(raw) <= MAX_LINE_BYTES else None
        except (ValueError, RecursionError):
            return errors  # reported by the checks
        if not isinstance(data, dict):
            return errors
        items = data.get("identifiers")
        for index, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                continue
            key = (_plain(item.get("system")), _plain(item.get("value")))
            if key[0] and key[1]:
                earlier = self.identifiers.setdefault(key, line)
                if earlier != line:
                    _add(errors, f"identifiers[{index}].value", f"Repeats line {earlier}.")
        if mrn := _plain(data.get("mrn")):
            earlier = self.mrns.setdefault(mrn, line)
            if earlier != line:
                _add(errors, "mrn", f"Repeats line {earlier}.")
        return errors


def _plain(value: object) -> str:
    """A text value as the checks read it (``_text``), or "" for anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value).strip()


class RowChecker:
    """Checks one line at a time as the API would (its messages too). The slow
    normalisers' answers are kept for values that repeat (language tags, names' sounds,
    time zones)."""

    def __init__(self, *, actor_id: int | None, today: datetime.date):
        self.actor_id = actor_id
        self.today = today
        self.now = timezone.now()
        self._languages: dict[str, str | ValidationError] = {}
        self._sounds: dict[str, str] = {}
        self._zones: dict[str, str | None] = {}

    def check(self, line: int, raw: bytes | str, repeats: Errors) -> CheckedRow | RowError:
        """``repeats``: the line's identifiers and MRN that earlier lines carry."""
        if len(raw) > MAX_LINE_BYTES:
            return RowError(line, {"json": [f"The line is longer than {MAX_LINE_BYTES:,} bytes."]})
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            return RowError(line, {"json": [f"Not valid JSON: {exc}"[:200]]})
        if not isinstance(data, dict):
            return RowError(line, {"json": ["Expected a JSON object: one patient a line."]})
        errors: Errors = {}
        for key in data:
            if key not in PATIENT_KEYS:
                _add(errors, _shown(key), UNKNOWN)
        patient, mrn = self._patient(data, errors)
        identifiers = self._items(data, "identifiers", self._identifier, ("system",), errors)
        if "identifiers" not in errors and not identifiers:
            _add(
                errors,
                "identifiers",
                "Give at least one identifier: it is how importing again knows the patient.",
            )
        contact_points = self._items(
            data, "contact_points", self._contact_point, ("system", "value"), errors
        )
        languages = self._items(data, "languages", self._language, ("language", "mode"), errors)
        consents = self._items(data, "consents", self._consent, ("channel", "purpose"), errors)
        for name, messages in repeats.items():
            errors.setdefault(name, []).extend(messages)
        if errors:
            return RowError(line, errors)
        return CheckedRow(line, patient, mrn, identifiers, contact_points, languages, consents)

    # The patient's own fields.

    def _patient(self, data: dict, errors: Errors) -> tuple[dict[str, Any], str]:
        given = _text(data, "given_name", errors, NAME_LENGTH, required=True)
        family = _text(data, "family_name", errors, NAME_LENGTH, required=True)
        middle = _text(data, "middle_name", errors, NAME_LENGTH)
        preferred = _text(data, "preferred_name", errors, NAME_LENGTH)
        mrn = _text(data, "mrn", errors, 32, allow_blank=False)
        birth_date = _date(data, "birth_date", errors, required=True)
        if birth_date is not None:
            if birth_date > self.today:
                _add(errors, "birth_date", "Date of birth cannot be in the future.")
            elif birth_date < OLDEST_BIRTH:
                _add(errors, "birth_date", "Date of birth is before 1880.")
        start = _time(data, "contact_window_start", errors)
        end = _time(data, "contact_window_end", errors)
        if (start is None) != (end is None) and not errors.keys() & {
            "contact_window_start",
            "contact_window_end",
        }:
            _add(errors, "contact_window_end", "Give both the start and the end of the window.")
        zone = _text(data, "time_zone", errors, 64)
        if zone:
            self._check_zone(zone, errors)
        needs = data.get("accessibility_needs", [])
        if not isinstance(needs, list) or len(needs) > 10:
            _add(errors, "accessibility_needs", "Give a list of at most 10 codes.")
            needs = []
        for index, need in enumerate(needs):
            if _choice_value(need) not in NEEDS:
                _add(errors, f"accessibility_needs[{index}]", _not_a_choice(need))
        if "confirm_new_person" in data:
            _boolean(data, "confirm_new_person", errors, False)
        values = {
            "given_name": given,
            "family_name": family,
            "middle_name": middle,
            "preferred_name": preferred,
            "birth_date": birth_date,
            "administrative_sex": _choice(
                data, "administrative_sex", errors, SEXES, AdministrativeSex.UNKNOWN
            ),
            "status": _choice(data, "status", errors, STATUSES, PatientStatus.ACTIVE),
            "interpreter_needed": _choice(
                data, "interpreter_needed", errors, INTERPRETER, InterpreterNeeded.UNKNOWN
            ),
            "preferred_channel": _choice(
                data, "preferred_channel", errors, CHANNELS, "", allow_blank=True
            ),
            "accessibility_needs": [_choice_value(need) for need in needs],
            "accessibility_notes": _text(data, "accessibility_notes", errors, 2000),
            "contact_window_start": start,
            "contact_window_end": end,
            "time_zone": zone,
            "do_not_contact": _boolean(data, "do_not_contact", errors, False),
            "high_risk": _boolean(data, "high_risk", errors, False),
        }
        if errors:
            return values, mrn
        # The derived keys Patient.set_search_keys() keeps (no model instance per row).
        values["name_search"] = name_search_key(given, middle, preferred, family)[
            :NAME_SEARCH_LENGTH
        ]
        for name, key in ((family, "family_key"), (given, "given_key")):
            if name not in self._sounds:
                self._sounds[name] = phonetic_key(name)
            values[key] = self._sounds[name]
        return values, mrn

    def _check_zone(self, zone: str, errors: Errors) -> None:
        if zone not in self._zones:
            try:
                validate_time_zone(zone)
                self._zones[zone] = None
            except ValidationError as exc:
                self._zones[zone] = exc.messages[0]
        if (message := self._zones[zone]) is not None:
            _add(errors, "time_zone", message)

    # Child lists: each item checked, then no two items with one natural key.

    def _items(
        self,
        data: dict,
        name: str,
        check: Callable[[dict, str, Errors], dict[str, Any] | None],
        key: tuple[str, ...],
        errors: Errors,
    ) -> list[dict[str, Any]]:
        items = data.get(name, [])
        if items is None:
            _add(errors, name, NOT_NULL)
            return []
        if not isinstance(items, list):
            _add(errors, name, f'Expected a list of items but got type "{type(items).__name__}".')
            return []
        if len(items) > MOST_ITEMS[name]:
            _add(errors, name, f"Ensure this field has no more than {MOST_ITEMS[name]} elements.")
            return []
        rows = []
        seen: dict[tuple, int] = {}
        for index, item in enumerate(items):
            path = f"{name}[{index}]"
            if not isinstance(item, dict):
                _add(errors, path, NOT_OBJECT)
                continue
            for unknown in item.keys() - ITEM_KEYS[name]:
                _add(errors, f"{path}.{_shown(unknown)}", UNKNOWN)
            row = check(item, path, errors)
            if row is None:
                continue
            natural_key = tuple(row[column] for column in key)
            if natural_key in seen:
                _add(errors, f"{path}.{key[-1]}", f"Repeats item {seen[natural_key] + 1}.")
            seen.setdefault(natural_key, index)
            rows.append(row)
        return rows

    def _identifier(self, item: dict, path: str, errors: Errors) -> dict[str, Any] | None:
        before = len(errors)
        system = _text(item, "system", errors, 200, required=True, path=path)
        value = _text(item, "value", errors, 100, required=True, path=path)
        return {"system": system, "value": value} if len(errors) == before else None

    def _contact_point(self, item: dict, path: str, errors: Errors) -> dict[str, Any] | None:
        before = len(errors)
        system = _choice(item, "system", errors, CONTACT_SYSTEMS, "", required=True, path=path)
        value = _text(item, "value", errors, 254, required=True, path=path)
        use = _choice(item, "use", errors, CONTACT_USES, "", allow_blank=True, path=path)
        rank = _rank(item, errors, path)
        period_start = _date(item, "period_start", errors, nullable=True, path=path)
        period_end = _date(item, "period_end", errors, nullable=True, path=path)
        if period_start and period_end and period_end < period_start:
            _add(errors, f"{path}.period_end", "The period ends before it starts.")
        if len(errors) != before:
            return None
        if system in PHONES:
            try:
                value = normalize_phone(value)
            except ValidationError as exc:
                _add(errors, f"{path}.value", exc.messages[0])
                return None
        elif system == ContactSystem.EMAIL:
            try:
                validate_email(value)
            except ValidationError:
                _add(errors, f"{path}.value", "Enter a valid email address.")
                return None
            value = value.lower()
        return {
            "system": system,
            "value": value,
            "use": use,
            "rank": rank,
            "period_start": period_start,
            "period_end": period_end,
        }

    def _language(self, item: dict, path: str, errors: Errors) -> dict[str, Any] | None:
        before = len(errors)
        raw = _text(item, "language", errors, 35, required=True, path=path)
        mode = _choice(item, "mode", errors, MODES, LanguageMode.SPOKEN, path=path)
        preferred = _boolean(item, "preferred", errors, False, path=path)
        rank = _rank(item, errors, path)
        if len(errors) != before:
            return None
        if raw not in self._languages:
            try:
                self._languages[raw] = normalize_language_tag(raw)
            except ValidationError as exc:
                self._languages[raw] = exc
        tag = self._languages[raw]
        if isinstance(tag, ValidationError):
            _add(errors, f"{path}.language", tag.messages[0])
            return None
        return {"language": tag, "mode": mode, "preferred": preferred, "rank": rank}

    def _consent(self, item: dict, path: str, errors: Errors) -> dict[str, Any] | None:
        before = len(errors)
        starts = _date(item, "effective_from", errors, nullable=True, path=path)
        ends = _date(item, "effective_to", errors, nullable=True, path=path)
        row = {
            "channel": _choice(item, "channel", errors, CHANNELS, "", required=True, path=path),
            "purpose": _choice(item, "purpose", errors, PURPOSES, "", required=True, path=path),
            "status": _choice(
                item, "status", errors, CONSENT_STATUSES, "", required=True, path=path
            ),
            "source": _choice(
                item, "source", errors, CONSENT_SOURCES, "", required=True, path=path
            ),
            "captured_at": _datetime(item, "captured_at", errors, self.now, path=path),
            "captured_by_id": self.actor_id,
            "effective_from": starts,
            "effective_to": ends,
        }
        if starts and ends and ends < starts:
            _add(errors, f"{path}.effective_to", "The consent ends before it starts.")
        return row if len(errors) == before else None


# Field checks: each reads data[key], adds its message under path.key, and returns the
# value (or a default when it is missing or wrong).


def _add(errors: Errors, name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _name(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _text(
    data: dict,
    key: str,
    errors: Errors,
    max_length: int,
    *,
    required: bool = False,
    allow_blank: bool = True,
    path: str = "",
) -> str:
    if key not in data:
        if required:
            _add(errors, _name(path, key), REQUIRED)
        return ""
    value = data[key]
    if value is None:
        _add(errors, _name(path, key), NOT_NULL)
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        _add(errors, _name(path, key), NOT_TEXT)
        return ""
    value = str(value).strip()
    if "\x00" in value:
        _add(errors, _name(path, key), NUL)
        return ""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            _add(errors, _name(path, key), "Not valid text: it holds a lone surrogate.")
            return ""
    if not value and (required or not allow_blank):
        _add(errors, _name(path, key), BLANK)
    elif len(value) > max_length:
        _add(
            errors,
            _name(path, key),
            f"Ensure this field has no more than {max_length} characters.",
        )
    return value


def _choice_value(value: object) -> object:
    """A code, written plain or as the API reads it back (``{"value": ...}``)."""
    return value.get("value") if isinstance(value, dict) else value


def _not_a_choice(value: object) -> str:
    return f'"{_shown(value)}" is not a valid choice.'


def _choice(
    data: dict,
    key: str,
    errors: Errors,
    choices: frozenset[str],
    default: str,
    *,
    required: bool = False,
    allow_blank: bool = False,
    path: str = "",
) -> str:
    if key not in data:
        if required:
            _add(errors, _name(path, key), REQUIRED)
        return default
    value = _choice_value(data[key])
    if value is None:
        _add(errors, _name(path, key), NOT_NULL)
        return default
    if value == "" and allow_blank:
        return ""
    if not isinstance(value, str) or value not in choices:
        _add(errors, _name(path, key), _not_a_choice(value))
        return default
    return value


def _boolean(data: dict, key: str, errors: Errors, default: bool, *, path: str = "") -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        _add(errors, _name(path, key), "Must be a valid boolean.")
        return default
    return value


def _rank(data: dict, errors: Errors, path: str) -> int:
    value = data.get("rank", 1)
    if isinstance(value, bool) or not isinstance(value, int):
        _add(errors, _name(path, "rank"), "A valid integer is required.")
        return 1
    if not 1 <= value <= 99:
        _add(errors, _name(path, "rank"), "Ensure this value is between 1 and 99.")
        return 1
    return value


def _date(
    data: dict,
    key: str,
    errors: Errors,
    *,
    required: bool = False,
    nullable: bool = False,
    path: str = "",
) -> datetime.date | None:
    if key not in data:
        if required:
            _add(errors, _name(path, key), REQUIRED)
        return None
    value = data[key]
    if value is None:
        if not nullable:
            _add(errors, _name(path, key), NOT_NULL)
        return None
    try:
        parsed = parse_date(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        _add(errors, _name(path, key), WRONG_DATE)
    return parsed


def _time(data: dict, key: str, errors: Errors) -> datetime.time | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        parsed = parse_time(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        _add(errors, key, WRONG_TIME)
    return parsed


def _datetime(
    data: dict, key: str, errors: Errors, default: datetime.datetime, *, path: str
) -> datetime.datetime:
    value = data.get(key)
    if value is None:
        return default
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        _add(errors, _name(path, key), WRONG_DATETIME)
        return default
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


# Writing.


class Table:
    """A table written whole rows at a time: its columns in the model's order, with
    the defaults of those a line does not give. A column with no default that the
    import does not fill is a mistake caught when the import starts, not a NULL."""

    def __init__(self, model: type[models.Model], given: Iterable[str]):
        self.model = model
        self.name = model._meta.db_table
        self.columns = [f.attname for f in model._meta.concrete_fields]
        given = set(given)
        self.defaults: dict[str, Any] = {}
        for f in model._meta.concrete_fields:
            if f.attname in given:
                continue
            if f.has_default():
                self.defaults[f.attname] = f.get_default()
            elif f.null or f.blank:
                self.defaults[f.attname] = None if f.null else ""
            else:
                raise ImproperlyConfigured(
                    f"The patient import does not fill {model.__name__}.{f.name}."
                )
        missing = given - set(self.columns)
        if missing:
            raise ImproperlyConfigured(f"{model.__name__} has no columns {sorted(missing)}.")
        self._tuple = itemgetter(*self.columns)

    def row(self, values: dict[str, Any]) -> tuple:
        return self._tuple({**self.defaults, **values})


class HistoryTable:
    """The model's django-simple-history table: each row written gets a "+" row, the
    row's values (less the fields history leaves out) and who, when and why."""

    HISTORY_COLUMNS = ("history_date", "history_type", "history_change_reason", "history_user_id")

    def __init__(self, table: Table):
        history = table.model.history.model  # type: ignore[attr-defined]
        self.name = history._meta.db_table
        # Its own id (history_id) is left to the database.
        columns = [f.attname for f in history._meta.concrete_fields if not f.primary_key]
        copied = [c for c in columns if c not in self.HISTORY_COLUMNS]
        unknown = set(copied) - set(table.columns)
        if unknown:
            raise ImproperlyConfigured(
                f"{self.name} has columns the import cannot fill: {unknown}"
            )
        self.columns = [*copied, *self.HISTORY_COLUMNS]
        self._copied = itemgetter(*[table.columns.index(c) for c in copied])

    def rows(self, rows: Iterable[tuple], last: tuple) -> list[tuple]:
        """``last``: the values of the history columns, the same for the whole batch."""
        return [self._copied(row) + last for row in rows]


PATIENT = Table(
    Patient,
    [
        "id",
        "mrn",
        "version",
        "created_at",
        "updated_at",
        "given_name",
        "family_name",
        "middle_name",
        "preferred_name",
        "name_search",
        "family_key",
        "given_key",
        "birth_date",
        "administrative_sex",
        "status",
        "interpreter_needed",
        "preferred_channel",
        "accessibility_needs",
        "accessibility_notes",
        "contact_window_start",
        "contact_window_end",
        "time_zone",
        "do_not_contact",
        "high_risk",
    ],
)
CHILD_TABLES: dict[str, Table] = {
    "identifiers": Table(PatientIdentifier, ["id", "patient_id", "system", "value"]),
    "contact_points": Table(
        ContactPoint,
        ["id", "patient_id", "system", "value", "use", "rank", "period_start", "period_end"],
    ),
    "languages": Table(
        PatientLanguage, ["id", "patient_id", "language", "mode", "preferred", "rank"]
    ),
    "consents": Table(
        CommunicationConsent,
        [
            "id",
            "patient_id",
            "channel",
            "purpose",
            "status",
            "source",
            "captured_at",
            "captured_by_id",
            "effective_from",
            "effective_to",
        ],
    ),
}
TABLES = [PATIENT, *CHILD_TABLES.values()]


@dataclass
class BatchOutcome:
    patient_ids: list[int] = field(default_factory=list)
    present: int = 0
    refused: list[RowError] = field(default_factory=list)


class BatchWriter:
    """Writes batches of checked rows for one import run. Per batch, whatever its size:
    one query for the identifiers already held, one for the MRNs already taken, one
    reserving the ids, one statement per table and history table, one access record
    (and on PostgreSQL one setting the commit's durability; the column types and the
    sequences are read once per run)."""

    def __init__(self, *, actor: AbstractBaseUser, source: str, run_id: str):
        self.actor = actor
        self.source = source
        self.run_id = run_id  # the run's batches' access records share it
        self._histories = {table.name: HistoryTable(table) for table in TABLES}
        self._sequences: list[str] = []
        self._types: dict[str, dict[str, int]] = {}

    def write(self, rows: Sequence[CheckedRow]) -> BatchOutcome:
        """One transaction. Another writer may make it fail: a concurrent batch that
        wrote one of these identifiers after they were checked, or drew the same new
        MRN (at 100,000 patients a few of the random MRNs drawn coincide), or a
        deadlock with one. It is tried again from the start (then those lines are
        already present, and new MRNs are drawn); a third failure is raised."""
        for attempt in (1, 2, 3):
            try:
                with transaction.atomic():
                    return self._write(rows)
            except (IntegrityError, OperationalError):
                if attempt == 3:
                    raise
        raise AssertionError("unreachable")

    def _write(self, rows: Sequence[CheckedRow]) -> BatchOutcome:
        outcome = BatchOutcome()
        if connection.vendor == "postgresql":
            # The commit does not wait for its WAL to reach the disk: a crash may lose
            # the last batches committed (never part of one), which importing the file
            # again puts back.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        held = self._identifiers_held(rows)
        new = [
            row
            for row in rows
            if not any((i["system"], i["value"]) in held for i in row.identifiers)
        ]
        outcome.present = len(rows) - len(new)
        made, taken = self._mrns(new)
        for row in new:
            if row.mrn in taken:
                message = "A patient with this MRN already exists."
                outcome.refused.append(RowError(row.line, {"mrn": [message]}))
        new = [row for row in new if row.mrn not in taken]
        if not new:
            return outcome
        now = timezone.now()
        written = self._rows(new, made, now)
        last = (now, "+", CHANGE_REASON, self.actor.pk)
        types = self._column_types()
        with connection.cursor() as cursor:
            for table, table_rows in written:
                insert_rows(
                    cursor, table.name, table.columns, table_rows, types=types.get(table.name)
                )
            for table, table_rows in written:
                history = self._histories[table.name]
                history_rows = history.rows(table_rows, last)
                insert_rows(
                    cursor,
                    history.name,
                    history.columns,
                    history_rows,
                    types=types.get(history.name),
                )
        outcome.patient_ids = [row[0] for row in written[0][1]]
        AccessRecord.objects.create(
            occurred_at=now,
            user_id=self.actor.pk,
            username=self.actor.get_username(),
            auth_method="command",
            client="import_patients",
            patient_ids=ids_text(set(outcome.patient_ids)),
            action="import",
            method="POST",
            endpoint=f"manage.py import_patients {self.source}"[:300],
            status_code=201,
            outcome=AccessRecord.Outcome.ALLOWED,
            request_id=self.run_id,
            purpose=AccessRecord.Purpose.OPERATIONS,
        )
        return outcome

    def _rows(
        self, new: Sequence[CheckedRow], made: dict[int, str], now: datetime.datetime
    ) -> list[tuple[Table, list[tuple]]]:
        """Each table's rows, parents first, with the ids reserved for them."""
        counts = [len(new)] + [
            sum(len(getattr(row, name)) for row in new) for name in CHILD_TABLES
        ]
        ids = iter(self._reserve_ids(counts))
        patient_ids = next(ids)
        fixed = {"version": 1, "created_at": now, "updated_at": now}
        written = [
            (
                PATIENT,
                [
                    PATIENT.row(
                        {**row.patient, **fixed, "id": pk, "mrn": row.mrn or made[row.line]}
                    )
                    for row, pk in zip(new, patient_ids, strict=True)
                ],
            )
        ]
        for (name, table), child_ids in zip(CHILD_TABLES.items(), ids, strict=True):
            pks = iter(child_ids)
            written.append(
                (
                    table,
                    [
                        table.row({**values, "id": next(pks), "patient_id": patient_id})
                        for row, patient_id in zip(new, patient_ids, strict=True)
                        for values in getattr(row, name)
                    ],
                )
            )
        return written

    def _column_types(self) -> dict[str, dict[str, int]]:
        """On PostgreSQL, the type oids of the written tables' columns, for the binary
        COPY: read once per run."""
        if connection.vendor == "postgresql" and not self._types:
            names = [table.name for table in TABLES] + [h.name for h in self._histories.values()]
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT attrelid::regclass::text, attname, atttypid::int FROM pg_attribute "
                    "WHERE attrelid = ANY(%s::regclass[]) AND attnum > 0 AND NOT attisdropped",
                    [names],
                )
                for table, column, oid in cursor.fetchall():
                    self._types.setdefault(table.strip('"'), {})[column] = oid
        return self._types

    def _identifiers_held(self, rows: Sequence[CheckedRow]) -> set[tuple[str, str]]:
        """The lines' identifiers some patient holds: one query (per 10,000 on SQLite)."""
        pairs = sorted({(i["system"], i["value"]) for row in rows for i in row.identifiers})
        held: set[tuple[str, str]] = set()
        if connection.vendor == "postgresql":
            # Two arrays, not an IN list of thousands of parameters to parse and plan.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT system, value FROM {PatientIdentifier._meta.db_table} "
                    "WHERE (system, value) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
                    [[system for system, _ in pairs], [value for _, value in pairs]],
                )
                return set(cursor.fetchall())
        for start in range(0, len(pairs), LOOKUP_CHUNK):
            by_system: dict[str, list[str]] = {}
            for system, value in pairs[start : start + LOOKUP_CHUNK]:
                by_system.setdefault(system, []).append(value)
            lookups = [Q(system=system, value__in=values) for system, values in by_system.items()]
            held.update(
                PatientIdentifier.objects.filter(reduce(or_, lookups)).values_list(
                    "system", "value"
                )
            )
        return held

    def _mrns(self, rows: Sequence[CheckedRow]) -> tuple[dict[int, str], set[str]]:
        """A new MRN for each line that gives none (as registration makes them: M and 9
        random digits), and the given MRNs another patient has."""
        given = {row.mrn for row in rows if row.mrn}
        made: dict[int, str] = {}
        pending = [row.line for row in rows if not row.mrn]
        taken: set[str] = set()
        first = True
        while pending or first:
            candidates = {line: f"M{secrets.randbelow(10**9):09d}" for line in pending}
            asked = set(candidates.values()) | (given if first else set())
            found = _mrns_taken(asked)
            if first:
                taken = found & given
            used = set(made.values()) | given
            pending = []
            for line, mrn in candidates.items():
                if mrn in found or mrn in used:
                    pending.append(line)
                else:
                    made[line] = mrn
                    used.add(mrn)
            first = False
        return made, taken

    def _reserve_ids(self, counts: list[int]) -> list[list[int]]:
        """Ids for each table's new rows, taken before any row is written. On
        PostgreSQL from the tables' own sequences, so a concurrent writer never gets
        one of them; on SQLite (one writer at a time) past the highest id ever given."""
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                if not self._sequences:
                    cursor.execute(
                        "SELECT " + ", ".join(["pg_get_serial_sequence(%s, 'id')"] * len(TABLES)),
                        [table.name for table in TABLES],
                    )
                    self._sequences = list(cursor.fetchone())
                cursor.execute(
                    "SELECT "
                    + ", ".join(
                        ["ARRAY(SELECT nextval(%s::regclass) FROM generate_series(1, %s))"]
                        * len(TABLES)
                    ),
                    [
                        value
                        for pair in zip(self._sequences, counts, strict=True)
                        for value in pair
                    ],
                )
                return [list(ids) for ids in cursor.fetchone()]
            quote = connection.ops.quote_name
            cursor.execute(
                "SELECT "
                + ", ".join(
                    "MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
                    f"COALESCE((SELECT MAX(id) FROM {quote(table.name)}), 0))"
                    for table in TABLES
                ),
                [table.name for table in TABLES],
            )
            return [
                list(range(last + 1, last + 1 + count))
                for last, count in zip(cursor.fetchone(), counts, strict=True)
            ]


def _mrns_taken(mrns: set[str]) -> set[str]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT mrn FROM {Patient._meta.db_table} WHERE mrn = ANY(%s::text[])",
                [list(mrns)],
            )
            return {mrn for (mrn,) in cursor.fetchall()}
    return set(Patient.objects.filter(mrn__in=mrns).values_list("mrn", flat=True))


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    raw: bytes | str
    repeats: Errors  # what earlier lines of the file carry already


class BatchImporter:
    """One process's part: check a batch's lines, write those that pass."""

    def __init__(self, *, actor: AbstractBaseUser, source: str, run_id: str):
        self.checker = RowChecker(actor_id=actor.pk, today=timezone.localdate())
        self.writer = BatchWriter(actor=actor, source=source, run_id=run_id)

    def run(self, lines: Sequence[Line]) -> BatchOutcome:
        checked: list[CheckedRow] = []
        refused: list[RowError] = []
        for line in lines:
            row = self.checker.check(line.number, line.raw, line.repeats)
            if isinstance(row, RowError):
                refused.append(row)
            else:
                checked.append(row)
        outcome = self.writer.write(checked) if checked else BatchOutcome()
        outcome.refused = refused + outcome.refused
        return outcome


def _batches(lines: Iterable[bytes | str], size: int) -> Iterator[list[Line]]:
    """The file's lines in batches (blank lines skipped), each with the identifiers it
    repeats."""
    repeats = RepeatFinder()
    batch: list[Line] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        batch.append(Line(number, raw, repeats.see(number, raw)))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_patients(
    *,
    lines: Iterable[bytes | str],
    actor: AbstractBaseUser,
    source: str,
    on_error: Callable[[RowError], None],
    batch_size: int = BATCH_SIZE,
    jobs: int = 1,
) -> ImportResult:
    """Import the patients of ``lines`` (NDJSON; blank lines are skipped), attributed
    to ``actor``; each refused line is passed to ``on_error``, batch by batch in the
    file's order. ``source`` names the file in the access log.

    With ``jobs`` above 1 (PostgreSQL only), that many worker processes check and
    write the batches side by side, each on its own connection, while this one reads
    the file: checking (Python) and writing (the database, with its change triggers)
    then keep both of a small machine's cores busy. It must not run inside a
    transaction (the workers could not see it)."""
    started = time.perf_counter()
    run_id = uuid.uuid4().hex
    result = ImportResult()

    def tally(outcome: BatchOutcome) -> None:
        result.imported += len(outcome.patient_ids)
        result.present += outcome.present
        result.refused += len(outcome.refused)
        for error in outcome.refused:
            on_error(error)

    batches = _batches(lines, batch_size)
    if jobs > 1 and connection.vendor == "postgresql":
        _run_in_workers(batches, jobs, tally, actor=actor, source=source, run_id=run_id)
    else:
        importer = BatchImporter(actor=actor, source=source, run_id=run_id)
        for batch in batches:
            tally(importer.run(batch))
    result.seconds = time.perf_counter() - started
    return result


def _run_in_workers(
    batches: Iterator[list[Line]],
    jobs: int,
    tally: Callable[[BatchOutcome], None],
    **importer: Any,
) -> None:
    """Batches to ``jobs`` forked workers, at most two each in flight (the file is not
    read ahead into memory); outcomes taken in the file's order. A worker's error (or
    death) stops the import: the batches committed stay, the others are rolled back
    whole."""
    if connection.in_atomic_block:
        raise RuntimeError("A parallel import cannot run inside a transaction.")
    connections.close_all()  # each worker opens its own; none shares this one
    with ProcessPoolExecutor(
        jobs,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(importer,),
    ) as pool:
        pending: deque[Future[BatchOutcome]] = deque()
        try:
            for batch in batches:
                pending.append(pool.submit(_run_batch, batch))
                if len(pending) >= 2 * jobs:
                    tally(pending.popleft().result())
            while pending:
                tally(pending.popleft().result())
        finally:
            for future in pending:
                future.cancel()


_worker: BatchImporter | None = None


def _start_worker(importer: dict[str, Any]) -> None:
    global _worker
    _worker = BatchImporter(**importer)


def _run_batch(lines: list[Line]) -> BatchOutcome:
    assert _worker is not None
    return _worker.run(lines)
