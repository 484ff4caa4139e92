"""The matcher: scores with their reasons, the look-alikes it must tell apart, and its
precision and recall on a generated population."""

import datetime as dt

import pytest

from patients.matching import REVIEW, Person, compare, fold, pairs_to_compare, phonetic_key
from patients.population import by_year, generate

BORN = dt.date(1984, 3, 7)


def person(given="María", family="Prieto", born=BORN, **fields) -> Person:
    fields.setdefault("phones", frozenset({"+15551230001"}))
    return Person(id=fields.pop("id", None), given_name=given, family_name=family,
                  birth_date=born, **fields)  # fmt: skip


def outcomes(match):
    return {e.field: e.outcome for e in match.evidence}


def test_names_are_folded_to_latin_letters_whatever_the_script():
    assert fold("José-María  Núñez") == "jose maria nunez"
    assert fold("Müller") == "muller" and fold("杨") == "yang"
    assert phonetic_key("García") == phonetic_key("Garcia") == phonetic_key("GARCÍA LÓPEZ")


@pytest.mark.parametrize(
    "other, why",
    [
        (person(family="Preito"), {"family_name": "similar"}),
        (person(given="Maria"), {"given_name": "same"}),
        (person(given="Prieto", family="María"), {"names": "given and family swapped"}),
        (person(born=dt.date(1984, 7, 3)), {"birth_date": "day and month swapped"}),
        (person(born=dt.date(1984, 3, 8)), {"birth_date": "one digit off"}),
        (person(phones=frozenset({"+15559990000"})), {"birth_date": "same"}),
        (person(family="Prieto Ruiz"), {"family_name": "same (part)"}),
        (person(given="Bill", family="Smith"), {"given_name": "nickname"}),
    ],
)
def test_one_person_recorded_twice_scores_above_the_review_line(other, why):
    first = person(given="William", family="Smith") if other.given_name == "Bill" else person()
    match = compare(first, other)
    assert match.score >= REVIEW, match.evidence
    assert why.items() <= outcomes(match).items()


def test_twins_and_a_parent_and_child_of_one_name_stay_two_people():
    mother = person(sex="female")
    twin = person(given="Lucía", sex="female")
    daughter = person(born=BORN.replace(year=2012), sex="female")
    assert compare(mother, twin).score < REVIEW
    assert outcomes(compare(mother, twin))["given_name"] == "different"
    assert compare(mother, daughter).score < REVIEW
    assert outcomes(compare(mother, daughter))["birth_date"] == "different"


def test_an_identifier_decides_both_ways():
    same = compare(
        person(identifiers={"urn:payer": "P-1"}), person(identifiers={"urn:payer": "P-1"})
    )
    assert outcomes(same)["identifier urn:payer"] == "same"
    other = compare(
        person(identifiers={"urn:payer": "P-1"}), person(identifiers={"urn:payer": "P-2"})
    )
    assert other.score < REVIEW and outcomes(other)["identifier urn:payer"] == "different"


def test_the_score_is_the_sum_of_its_reasons():
    match = compare(person(), person(family="Preito", sex="male"))
    assert match.score == sum(e.weight for e in match.evidence)


def test_blocking_pairs_records_of_one_day_and_of_one_name_sound_in_a_month_once():
    people = [
        person(id=1),
        person(id=2, born=dt.date(1984, 7, 3)),  # transposed
        person(id=3, born=dt.date(1984, 3, 9), phones=frozenset()),  # day mistyped
        person(id=4, given="Zed", family="Quill", born=dt.date(1984, 11, 30), phones=frozenset()),
    ]
    assert pairs_to_compare(people) == {(0, 1), (0, 2)}


def test_precision_and_recall_on_a_generated_population():
    population = generate(6000)
    found = set()
    for people in by_year(population.records):
        for i, j in pairs_to_compare(people):
            if compare(people[i], people[j]).score >= REVIEW:
                found.add(tuple(sorted((people[i].id, people[j].id))))
    true = found & population.duplicates
    assert len(population.duplicates) > 400 and len(population.look_alikes) > 100
    assert len(true) / len(found) >= 0.95
    # Without the shared-phone block (the scan adds it), recall is still over the bar.
    assert len(true) / len(population.duplicates) >= 0.90
    assert not found & population.look_alikes - population.duplicates
