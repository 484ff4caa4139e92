"""The duplicate worklist in the browser: the front desk merges one pair, keeping the
record it chooses, undoes the merge from the merged record, and marks another pair as
two people."""

import datetime

import pytest
from playwright.sync_api import expect

from patients.duplicates import duplicate_scan
from patients.models import DuplicateCandidate, Patient
from tests.factories import InteractionFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_front_desk_merges_a_pair_undoes_it_and_keeps_another_apart(screen_for, front_desk):
    born = datetime.date(1980, 2, 3)
    ana = PatientFactory(given_name="Ana", family_name="Prieto", birth_date=born)
    typo = PatientFactory(given_name="Ana", family_name="Preito", birth_date=born)
    InteractionFactory(patient=typo, summary="Called about her bill.")
    twin_born = datetime.date(1975, 9, 9)
    PatientFactory(given_name="Luis", family_name="Ortega", birth_date=twin_born)
    PatientFactory(given_name="Luis", family_name="Ortego", birth_date=twin_born)
    duplicate_scan()
    assert DuplicateCandidate.objects.count() == 2

    screen = screen_for(front_desk)
    page = screen.open("/")
    page.get_by_role("link", name="Duplicates").click()
    pairs = page.get_by_role("list", name="Possible duplicates")
    expect(pairs.locator("[data-pair]")).to_have_count(2)
    first = pairs.locator("[data-pair]").filter(has_text="Preito")
    expect(first).to_contain_text("family name alike, given name same, birth date same")
    screen.capture_both_sizes("duplicates")

    first.get_by_role("button", name="Keep Ana Prieto").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Why these are one person").fill(
        "Same phone and address; a typo at the desk."
    )
    dialog.get_by_role("button", name="Merge the records").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ana Prieto")
    expect(page.get_by_text("Called about her bill.")).to_be_visible()
    typo.refresh_from_db()
    assert (typo.status, typo.merged_into) == ("merged", ana)

    page = screen.open(f"/patients/{typo.pk}/")
    banner = page.get_by_role("status").filter(has_text="Merged record")
    expect(banner.get_by_role("link", name=f"record #{ana.pk}")).to_be_visible()
    screen.capture("merged-record")
    banner.get_by_role("button", name="Undo the merge").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Why these are two people").fill("Two sisters after all: different SSNs.")
    dialog.get_by_role("button", name="Undo the merge").click()
    expect(page.get_by_role("status").filter(has_text="Merged record")).to_have_count(0)
    assert Patient.objects.get(pk=typo.pk).status == "active"
    assert typo.interactions.count() == 1

    page = screen.open("/duplicates/")
    pairs = page.get_by_role("list", name="Possible duplicates")
    other = pairs.locator("[data-pair]").filter(has_text="Ortego")
    other.get_by_role("button", name="Two people").click()
    expect(pairs.locator("[data-pair]")).to_have_count(0)
    assert set(DuplicateCandidate.objects.values_list("status", flat=True)) == {"distinct"}
