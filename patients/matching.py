"""Whether two patient records are one person: the patient index's matcher.

Each comparison of two records (names, birth date, phone, email, identifiers, sex)
gives an outcome and a weight, in the manner of Fellegi and Sunter: roughly how many
times likelier (in powers of two) that outcome is for two records of one person than
for two people. The score is the sum; staff see every term, so they see why.

Names are compared as people mistype and rewrite them: in Latin letters whatever the
script (``anyascii``: Müller and Mueller, 杨 and Yang), folded for case and accents,
by Jaro-Winkler similarity (``rapidfuzz``) and a phonetic key (Metaphone,
``jellyfish``), with the given and family names possibly swapped, a nickname for the
given name (Bill, William), and any part of a double or hyphenated family name.
Birth dates count when equal, when day and month are swapped, and when one digit is
off within the same decade; otherwise they weigh heavily against, which is what tells
a parent from a child of the same name. Twins share a family name, a birth date and a
phone: their different given names must weigh more than all of that.

The weights were set on the generated population of ``manage.py benchmark
--matching`` (typos, swapped names, married names, changed phones, transposed dates
against twins and parents with their children), which reports precision and recall.
"""

import datetime
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import jellyfish
from anyascii import anyascii
from rapidfuzz.distance import JaroWinkler

from patients.validators import search_key

# A pair at or above REVIEW goes to the registration team's duplicate worklist; a new
# registration at or above REGISTRATION is refused (409) unless the caller confirms a
# new person.
REVIEW = 9.0
REGISTRATION = 12.0
# A phone or email shared by more records than this is a clinic's or a care home's,
# not evidence.
SHARED_CONTACT_MOST = 20
# Jaro-Winkler similarity that counts as the same name mistyped, and as close.
SAME = 0.92
CLOSE = 0.85

W_NAME_EXACT = 4.0
W_NAME_SIMILAR = 3.0
W_NAME_CLOSE = 1.5
W_INITIAL = 1.0
W_FAMILY_DIFFERENT = -3.0
W_GIVEN_DIFFERENT = -8.0
W_SWAPPED = 6.0
W_BIRTH_SAME = 6.0
W_BIRTH_TRANSPOSED = 4.0
# A digit off is a common typo, but in a million records also a common coincidence
# among people of one name: with the names alone it stays under the review line; with
# a shared phone or email it is over.
W_BIRTH_ONE_DIGIT = 0.5
W_BIRTH_DIFFERENT = -8.0
W_PHONE = 4.0
W_EMAIL = 4.0
W_IDENTIFIER_SAME = 10.0
W_IDENTIFIER_DIFFERENT = -10.0
W_SEX_DIFFERENT = -4.0

# Given names and their usual short forms (English and Spanish), a cheap list.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "alexander": ("alex", "sasha", "xander"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony",),
    "catherine": ("cathy", "kate", "katie", "cat"),
    "charles": ("charlie", "chuck"),
    "christopher": ("chris",),
    "daniel": ("dan", "danny"),
    "david": ("dave",),
    "edward": ("ed", "eddie", "ted"),
    "elizabeth": ("liz", "beth", "betty", "eliza", "lisa"),
    "francisco": ("paco", "pancho", "frank"),
    "guadalupe": ("lupe",),
    "james": ("jim", "jimmy", "jamie"),
    "jennifer": ("jen", "jenny"),
    "jesus": ("chuy",),
    "john": ("jack", "johnny"),
    "jose": ("pepe",),
    "joseph": ("joe", "joey"),
    "katherine": ("kate", "kathy", "katie"),
    "margaret": ("maggie", "peggy", "meg"),
    "matthew": ("matt",),
    "michael": ("mike", "mikey"),
    "nicholas": ("nick",),
    "patricia": ("pat", "patty", "trish"),
    "richard": ("rick", "rich", "dick"),
    "robert": ("bob", "rob", "bobby"),
    "samuel": ("sam",),
    "stephen": ("steve",),
    "steven": ("steve",),
    "susan": ("sue", "susie"),
    "thomas": ("tom", "tommy"),
    "william": ("bill", "will", "billy", "liam"),
}
_NICKNAME_OF = {short: full for full, shorts in NICKNAMES.items() for short in shorts}
_NOT_LETTERS = re.compile(r"[^a-z ]+")


def fold(name: str) -> str:
    """A name in plain lower-case Latin letters and single spaces, whatever its script."""
    latin = anyascii(search_key(name)).lower().replace("-", " ")
    return " ".join(_NOT_LETTERS.sub("", latin).split())


def phonetic_key(name: str) -> str:
    """The Metaphone code of a name's first word (García, Garcia: KRX); the blocking key
    the population scan and the registration check look candidates up by."""
    words = fold(name).split()
    return jellyfish.metaphone(words[0])[:16] if words else ""


def _canonical_given(name: str) -> str:
    return _NICKNAME_OF.get(name, name)


@dataclass(frozen=True)
class Person:
    """What matching reads of a patient record."""

    id: int | None
    given_name: str
    family_name: str
    birth_date: datetime.date
    sex: str = "unknown"
    preferred_name: str = ""
    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    identifiers: dict[str, str] = field(default_factory=dict)  # system -> value

    # Folded once per record: the scan compares each record with many others.
    @functools.cached_property
    def given(self) -> str:
        return fold(self.given_name)

    @functools.cached_property
    def family(self) -> str:
        return fold(self.family_name)


@dataclass(frozen=True)
class Evidence:
    """One comparison: what was compared, what it found, and its weight."""

    field: str
    outcome: str
    weight: float


@dataclass(frozen=True)
class Match:
    a: Person
    b: Person
    score: float
    evidence: tuple[Evidence, ...]

    @property
    def ids(self) -> tuple[int, int]:
        """The two stored records' ids, lower first."""
        low, high = sorted((self.a.id or 0, self.b.id or 0))
        return low, high

    def reasons(self) -> list[dict]:
        """The evidence as stored and shown: ``[{field, outcome, weight}, ...]``."""
        return [
            {"field": e.field, "outcome": e.outcome, "weight": e.weight} for e in self.evidence
        ]


def _similarity(a: str, b: str) -> float:
    return JaroWinkler.normalized_similarity(a, b) if a and b else 0.0


def _name_outcome(a: str, b: str) -> tuple[str, float]:
    """Two names: the same, mistyped, close, or different."""
    if not a or not b:
        return "missing", 0.0
    if a == b:
        return "same", W_NAME_EXACT
    similarity = _similarity(a, b)
    if similarity >= SAME:
        return "similar", W_NAME_SIMILAR
    # Sounding alike is weaker: short names of one language often do (Dang, Duong).
    if similarity >= CLOSE or jellyfish.metaphone(a) == jellyfish.metaphone(b):
        return "close", W_NAME_CLOSE
    return "different", 0.0


def _family(a: Person, b: Person) -> Evidence:
    """The family names, whole or any of their parts (a double or a married name)."""
    outcome, weight = _name_outcome(a.family, b.family)
    for x in a.family.split():
        for y in b.family.split():
            part, part_weight = _name_outcome(x, y)
            if part_weight > weight:
                outcome, weight = f"{part} (part)", part_weight
    return Evidence("family_name", outcome, weight or W_FAMILY_DIFFERENT)


def _given(a: Person, b: Person) -> Evidence:
    """The given names, as written, as nicknames of one name, or as an initial."""
    first_a, first_b = (a.given.split() or [""])[0], (b.given.split() or [""])[0]
    outcome, weight = _name_outcome(first_a, first_b)
    if weight < W_NAME_SIMILAR and first_a and first_b:
        if _canonical_given(first_a) == _canonical_given(first_b):
            outcome, weight = "nickname", W_NAME_SIMILAR
        elif fold(a.preferred_name) in (first_b,) or fold(b.preferred_name) in (first_a,):
            outcome, weight = "preferred name", W_NAME_SIMILAR
        elif (len(first_a) == 1 or len(first_b) == 1) and first_a[0] == first_b[0]:
            outcome, weight = "initial", W_INITIAL
    return Evidence("given_name", outcome, weight or W_GIVEN_DIFFERENT)


def _swapped(a: Person, b: Person) -> bool:
    return (
        _name_outcome(a.given, b.family)[1] >= W_NAME_SIMILAR
        and _name_outcome(a.family, b.given)[1] >= W_NAME_SIMILAR
    )


def _birth(a: datetime.date, b: datetime.date) -> Evidence:
    if a == b:
        return Evidence("birth_date", "same", W_BIRTH_SAME)
    if a.year == b.year and (a.month, a.day) == (b.day, b.month):
        return Evidence("birth_date", "day and month swapped", W_BIRTH_TRANSPOSED)
    digits = [x != y for x, y in zip(f"{a:%Y%m%d}", f"{b:%Y%m%d}", strict=True)]
    if sum(digits) == 1 and abs(a.year - b.year) < 10:
        return Evidence("birth_date", "one digit off", W_BIRTH_ONE_DIGIT)
    return Evidence("birth_date", "different", W_BIRTH_DIFFERENT)


def _shared(name: str, a: Iterable[str], b: Iterable[str], weight: float) -> Evidence | None:
    if set(a) & set(b):
        return Evidence(name, "shared", weight)
    return None


def compare(a: Person, b: Person) -> Match:
    """The score of two records being one person, with every term of it."""
    evidence: list[Evidence] = []
    family, given = _family(a, b), _given(a, b)
    if given.weight < W_NAME_SIMILAR and family.weight < W_NAME_SIMILAR and _swapped(a, b):
        evidence.append(Evidence("names", "given and family swapped", W_SWAPPED))
    else:
        evidence += [family, given]
    evidence.append(_birth(a.birth_date, b.birth_date))
    for found in (
        _shared("phone", a.phones, b.phones, W_PHONE),
        _shared("email", a.emails, b.emails, W_EMAIL),
    ):
        if found:
            evidence.append(found)
    for system in sorted(set(a.identifiers) & set(b.identifiers)):
        same = a.identifiers[system] == b.identifiers[system]
        evidence.append(
            Evidence(
                f"identifier {system}",
                "same" if same else "different",
                W_IDENTIFIER_SAME if same else W_IDENTIFIER_DIFFERENT,
            )
        )
    if "unknown" not in (a.sex, b.sex) and a.sex != b.sex:
        evidence.append(Evidence("sex", "different", W_SEX_DIFFERENT))
    return Match(a, b, round(sum(e.weight for e in evidence), 2), tuple(evidence))


def _date_key(day: datetime.date) -> tuple[int, int, int]:
    """A birth date with day and month in order: a date and its transposition share it."""
    return (day.year, min(day.month, day.day), max(day.month, day.day))


def _close_enough(a: Person, b: Person) -> bool:
    """A cheap first look before :func:`compare`: some name alike, or a phone or email
    shared. A pair failing it cannot reach ``REVIEW``."""
    if a.phones & b.phones or a.emails & b.emails:
        return True
    names_a, names_b = (a.given, a.family), (b.given, b.family)
    return any(_similarity(x, y) >= CLOSE for x in names_a for y in names_b)


def pairs_to_compare(people: list[Person]) -> set[tuple[int, int]]:
    """The pairs among ``people`` (records born in one year) worth comparing, by index:
    those born on the same day or its transposition (which catches mistyped and
    swapped names, married names, new phones), and those of one family name's sound
    born in the same month or on the same day of the month (a mistyped day or month);
    each pair once, lower index first."""
    blocks: dict[tuple, list[int]] = {}
    for index, person in enumerate(people):
        born, family = person.birth_date, phonetic_key(person.family_name)
        for key in (
            ("date", _date_key(born)),
            ("month", born.month, family),
            ("day", born.day, family),
        ):
            blocks.setdefault(key, []).append(index)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        for i, x in enumerate(members):
            for y in members[i + 1 :]:
                pair = (x, y) if x < y else (y, x)
                if pair not in pairs and _close_enough(people[x], people[y]):
                    pairs.add(pair)
    return pairs


def shared_contact_pairs(
    people: Iterable[Person], most: int = SHARED_CONTACT_MOST
) -> set[tuple[int, int]]:
    """Pairs of stored records sharing a phone or an email that at most ``most`` records
    share, lower id first."""
    holders: dict[str, list[int]] = {}
    for person in people:
        for value in person.phones | person.emails:
            holders.setdefault(value, []).append(person.id or 0)
    return {
        (min(a, b), max(a, b))
        for group in holders.values()
        if len(group) <= most
        for i, a in enumerate(group)
        for b in group[i + 1 :]
    }
