"""The population scan and the duplicate worklist: look-alike pairs found once each,
a stopped scan taken up where it stopped, decisions kept."""

import datetime as dt

import pytest

from patients import duplicates
from patients.merge import patient_merge
from patients.models import DuplicateCandidate, DuplicateScan
from tests.conftest import client_for
from tests.factories import ContactPointFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    """Two people each recorded twice (a typo; a new phone and a moved birth year),
    twins, and a bystander, born over three years."""
    ana = PatientFactory(given_name="Ana", family_name="Prieto", birth_date=dt.date(1980, 2, 3))
    ana_typo = PatientFactory(
        given_name="Ana", family_name="Preito", birth_date=dt.date(1980, 2, 3)
    )
    ken = PatientFactory(given_name="Ken", family_name="Sato", birth_date=dt.date(1990, 6, 9))
    ken_later = PatientFactory(
        given_name="Ken", family_name="Sato", birth_date=dt.date(1991, 6, 9)
    )
    for record in (ken, ken_later):
        ContactPointFactory(patient=record, system="sms", value="+13125550100")
    twin_a = PatientFactory(given_name="Lea", family_name="Roth", birth_date=dt.date(1991, 1, 5))
    twin_b = PatientFactory(given_name="Mia", family_name="Roth", birth_date=dt.date(1991, 1, 5))
    for twin in (twin_a, twin_b):
        ContactPointFactory(patient=twin, system="phone", value="+13125550101")
    PatientFactory(given_name="Zed", family_name="Quill", birth_date=dt.date(1980, 2, 3))
    return {"pairs": {(ana.pk, ana_typo.pk), (ken.pk, ken_later.pk)}}  # fmt: skip


def found():
    return set(DuplicateCandidate.objects.values_list("patient_id", "other_id"))


def test_the_scan_finds_each_duplicate_once_and_no_look_alike(clinic):
    scan = duplicates.duplicate_scan()
    assert found() == clinic["pairs"]
    assert (scan.years_done_through, scan.contacts_done) == (1991, True)
    assert scan.found == 2 and scan.finished_at is not None
    assert set(DuplicateCandidate.objects.values_list("status", "found_by")) == {("open", "scan")}


def test_a_stopped_scan_goes_on_from_the_last_year_it_finished(clinic, monkeypatch):
    real = duplicates._scan_year
    years = []

    def stop_in_1990(scan, year):
        if year == 1990:
            raise SystemExit("worker stopped")
        years.append(year)
        real(scan, year)

    monkeypatch.setattr(duplicates, "_scan_year", stop_in_1990)
    with pytest.raises(SystemExit):
        duplicates.duplicate_scan()
    scan = DuplicateScan.objects.get()
    assert scan.years_done_through == 1980 and scan.finished_at is None
    monkeypatch.setattr(
        duplicates, "_scan_year", lambda scan, year: years.append(year) or real(scan, year)
    )
    duplicates.duplicate_scan()
    assert years == [1980, 1990, 1991]  # 1980 once: taken up after it
    assert DuplicateScan.objects.get().finished_at is not None
    assert found() == clinic["pairs"]


def test_a_decision_outlives_the_next_scan(clinic, front_desk):
    duplicates.duplicate_scan()
    pair = DuplicateCandidate.objects.order_by("id").first()
    api = client_for(front_desk)
    response = api.post(f"/api/duplicates/{pair.pk}/distinct/")
    assert response.status_code == 200 and response.json()["status"]["value"] == "distinct"
    assert api.post(f"/api/duplicates/{pair.pk}/distinct/").status_code == 409
    duplicates.duplicate_scan()
    pair.refresh_from_db()
    assert (pair.status, pair.decided_by) == ("distinct", front_desk)
    assert DuplicateCandidate.objects.count() == 2


def test_the_worklist_lists_open_pairs_best_first_for_who_may_see_them(
    clinic, front_desk, billing
):
    response = client_for(front_desk).post("/api/duplicates/scan/")
    assert response.status_code == 202  # run at once here: no broker in tests
    listed = client_for(front_desk).get("/api/duplicates/", {"status": "open"}).json()["results"]
    assert [r["score"] for r in listed] == sorted((r["score"] for r in listed), reverse=True)
    assert {(r["patient"]["id"], r["other"]["id"]) for r in listed} == clinic["pairs"]
    reasons = {e["field"] for e in listed[0]["evidence"]}
    assert {"family_name", "given_name", "birth_date"} <= reasons
    # Billing reads identity, so it sees the list, but may not decide or scan.
    assert client_for(billing).get("/api/duplicates/").status_code == 200
    assert (
        client_for(billing).post(f"/api/duplicates/{listed[0]['id']}/distinct/").status_code == 403
    )
    assert client_for(billing).post("/api/duplicates/scan/").status_code == 403
    one = listed[0]["patient"]["id"]
    mine = client_for(front_desk).get("/api/duplicates/", {"patient": one}).json()["results"]
    assert [r["id"] for r in mine] == [listed[0]["id"]]


def test_an_open_pair_leaves_the_worklist_when_a_record_is_merged_elsewhere(clinic, front_desk):
    duplicates.duplicate_scan()
    pair = DuplicateCandidate.objects.order_by("id").first()
    third = PatientFactory()
    patient_merge(survivor=third, merged=pair.other, actor=None, reason="the same person")
    listed = client_for(front_desk).get("/api/duplicates/", {"status": "open"}).json()["results"]
    assert pair.pk not in [row["id"] for row in listed] and len(listed) == 1
