"""A made-up population with known duplicates, to measure the matcher: precision and
recall of ``patients.matching`` at its threshold (``manage.py benchmark --only
matching``, and a test at a small size).

Every person gets a record; some get a second record as a registration desk would
make it: a typo in a name, given and family names swapped, a married name, a new
phone, day and month swapped, a digit of the birth date mistyped, a nickname. Beside
them are the look-alikes that are not duplicates: twins (one family name, birth date
and phone; two given names) and parents with a child of the same name. Names come
from Faker in the languages the clinic's patients speak; nothing describes a real
person.
"""

import datetime
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace

from faker import Faker

from patients.matching import NICKNAMES, Person

LOCALES = ["en_US", "es_MX", "vi_VN", "zh_CN", "ru_RU", "ar_AA", "pt_BR", "ko_KR", "fil_PH"]
VARIANTS = [
    "typo in family name",
    "typo in given name",
    "names swapped",
    "married name",
    "new phone",
    "day and month swapped",
    "digit of birth date mistyped",
    "nickname",
]


@dataclass
class Population:
    records: list[Person]
    duplicates: set[tuple[int, int]]  # pairs of record ids of one person
    look_alikes: set[tuple[int, int]]  # twins, parents and children: not one person
    variants: dict[tuple[int, int], str]  # how each duplicate differs


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "double", "replace"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice(word) + word[i + 1 :]  # a letter of its own script


def _phone(rng: random.Random) -> str:
    return f"+1{rng.randint(201, 989)}{rng.randint(2000000, 9999999)}"


def _birth(rng: random.Random, start=1930, end=2024) -> datetime.date:
    return datetime.date(rng.randint(start, end), rng.randint(1, 12), rng.randint(1, 28))


def _variant(person: Person, kind: str, rng: random.Random, fake: Faker) -> Person | None:
    born = person.birth_date
    if kind == "typo in family name":
        return replace(person, family_name=typo(person.family_name, rng))
    if kind == "typo in given name":
        return replace(person, given_name=typo(person.given_name, rng))
    if kind == "names swapped":
        return replace(person, given_name=person.family_name, family_name=person.given_name)
    if kind == "married name":
        return replace(person, family_name=fake.last_name())
    if kind == "new phone":
        return replace(person, phones=frozenset({_phone(rng)}), emails=frozenset())
    if kind == "day and month swapped":
        if born.day > 12 or born.day == born.month:
            return None
        return replace(person, birth_date=born.replace(month=born.day, day=born.month))
    if kind == "digit of birth date mistyped":
        # The day's last digit mistyped (a valid day in any month).
        tens = born.day // 10 * 10
        days = [tens + digit for digit in range(10) if 1 <= tens + digit <= 28]
        day = rng.choice([d for d in days if d != born.day])
        return replace(person, birth_date=born.replace(day=day))
    if kind == "nickname":
        full = next((n for n in NICKNAMES if n == person.given_name.lower()), None)
        if full is None:
            return None
        return replace(person, given_name=rng.choice(NICKNAMES[full]).title())
    raise ValueError(kind)


def generate(people: int, *, duplicate_share=0.1, look_alike_share=0.03, seed=7) -> Population:
    """``people`` persons, a share of them recorded twice, and look-alike pairs."""
    rng = random.Random(seed)
    fakers = {locale: Faker(locale) for locale in LOCALES}
    for index, faker in enumerate(fakers.values()):
        faker.seed_instance(seed + index)
    records: list[Person] = []

    def add(person: Person) -> Person:
        person = replace(person, id=len(records) + 1)
        records.append(person)
        return person

    def someone(fake: Faker) -> Person:
        sex = rng.choice(["female", "male"])
        given = fake.first_name_female() if sex == "female" else fake.first_name_male()
        if rng.random() < 0.1:  # English given names that have nicknames
            given = rng.choice(list(NICKNAMES)).title()
        return Person(
            id=None,
            given_name=given,
            family_name=fake.last_name(),
            birth_date=_birth(rng),
            sex=sex,
            phones=frozenset({_phone(rng)}),
            emails=frozenset({f"{rng.getrandbits(40):x}@example.org"})
            if rng.random() < 0.5
            else frozenset(),
        )

    duplicates: set[tuple[int, int]] = set()
    look_alikes: set[tuple[int, int]] = set()
    variants: dict[tuple[int, int], str] = {}
    for _ in range(people):
        fake = fakers[rng.choice(LOCALES)]
        person = add(someone(fake))
        roll = rng.random()
        if roll < duplicate_share:
            kind = rng.choice(VARIANTS)
            second = _variant(person, kind, rng, fake)
            if second is not None:
                second = add(second)
                duplicates.add((person.id, second.id))
                variants[(person.id, second.id)] = kind
        elif roll < duplicate_share + look_alike_share:
            if rng.random() < 0.5:  # a twin
                sex = rng.choice(["female", "male"])
                given = fake.first_name_female() if sex == "female" else fake.first_name_male()
                if fold_equal(given, person.given_name):
                    continue
                other = add(replace(person, given_name=given, sex=sex, emails=frozenset()))
            else:  # a child with the parent's name and phone
                born = person.birth_date
                year = born.year + rng.randint(18, 40)
                if year > 2025:
                    continue
                other = add(
                    replace(person, birth_date=born.replace(year=year), emails=frozenset())
                )
            look_alikes.add((person.id, other.id))
    return Population(records, duplicates, look_alikes, variants)


def fold_equal(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def by_year(records: list[Person]) -> Iterator[list[Person]]:
    """The records born in each year, as the population scan reads them."""
    years: dict[int, list[Person]] = {}
    for person in records:
        years.setdefault(person.birth_date.year, []).append(person)
    for year in sorted(years):
        yield years[year]
