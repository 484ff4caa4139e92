"""Merging two records of one person and undoing it: every row moves in one step, the
more restrictive consent wins, the merged record points to the survivor and takes no
writes, and an unmerge within 30 days puts back exactly what moved. A property test
merges and unmerges random records and finds nothing lost, doubled or misplaced."""

import datetime as dt

import pytest
import time_machine
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.models import AccessRecord
from integrations.models import Change
from integrations.services import department_event_record
from interactions.models import Interaction
from patients.choices import ConsentStatus
from patients.merge import KEYED, moving_links, patient_merge, patient_unmerge
from patients.models import CommunicationConsent, DuplicateCandidate, Patient, PatientMerge
from referrals.models import FollowUp
from tests.conftest import client_for
from tests.factories import (
    ContactPointFactory,
    FollowUpFactory,
    InteractionFactory,
    LanguageFactory,
    PatientFactory,
    ReferralFactory,
)

pytestmark = pytest.mark.django_db


def consent(patient, status, purpose="appointment_reminders"):
    return CommunicationConsent.objects.create(
        patient=patient, channel="sms", purpose=purpose, status=status, source="verbal"
    )


def snapshot(*patients) -> dict:
    """Every row pointing at these patients: (table:field, id) -> (patient, the values
    a merge may change)."""
    rows = {}
    ids = [p.pk for p in patients]
    for model, field in moving_links():
        pointing = model._default_manager.filter(**{f"{field}__in": ids})
        if model is Patient:  # the merged record's pointer to the survivor is the merge
            pointing = pointing.exclude(pk__in=ids)
        for row in pointing:
            values = tuple(getattr(row, name, None) for name in ("status", "preferred"))
            rows[(f"{model._meta.label}:{field}", row.pk)] = (getattr(row, f"{field}_id"), values)
    return rows


def test_a_merge_moves_everything_and_the_merged_record_points_to_the_survivor(api, coordinator):
    survivor, other = PatientFactory(), PatientFactory()
    ContactPointFactory(patient=survivor, system="sms", value="+13125550100")
    ContactPointFactory(patient=other, system="sms", value="+13125550100")  # the same
    ContactPointFactory(patient=other, system="email", value="ana@example.org")
    consent(survivor, ConsentStatus.OPT_IN)
    consent(other, ConsentStatus.OPT_OUT)  # more restrictive: it wins
    LanguageFactory(patient=survivor, language="en", preferred=True)
    LanguageFactory(patient=other, language="es", preferred=True)
    calls = InteractionFactory.create_batch(3, patient=other)
    referral = ReferralFactory(patient=other)
    follow_up = FollowUpFactory(patient=other)
    event = department_event_record(
        actor=None, patient=other, kind="refill_due", occurred_at=dt.datetime.now(dt.UTC)
    )[0]
    before = Change.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    response = api.post(
        f"/api/patients/{survivor.pk}/merge/",
        {"other_id": other.pk, "reason": "Registered twice at two front desks."},
        "json",
    )
    assert response.status_code == 201, response.json()
    moved = response.json()["moved"]
    assert moved["interactions.Interaction:patient"] == 3
    assert moved["patients.ContactPoint:patient"] == 1  # the email; the phone was there
    other.refresh_from_db()
    assert (other.status, other.merged_into) == ("merged", survivor)
    assert {i.patient_id for i in Interaction.objects.filter(pk__in=[c.pk for c in calls])} == {
        survivor.pk
    }
    for row in (referral, follow_up, event):
        row.refresh_from_db()
        assert row.patient_id == survivor.pk
    assert survivor.consents.get().status == "opt_out"
    assert list(survivor.languages.order_by("language").values_list("language", "preferred")) == [
        ("en", True),
        ("es", False),
    ]
    assert set(survivor.contact_points.values_list("value", flat=True)) == {
        "+13125550100",
        "ana@example.org",
    }
    # In the change history, the change feed and the access log.
    assert Interaction.history.filter(
        id=calls[0].pk, history_change_reason__startswith="merged"
    ).exists()
    assert Change.objects.filter(pk__gt=before, record_type="Interaction").count() == 3
    assert Change.objects.filter(pk__gt=before, record_type="Patient", record_id=other.pk).exists()
    logged = AccessRecord.objects.get(action="merge")
    assert logged.patient_ids == f",{min(survivor.pk, other.pk)},{max(survivor.pk, other.pk)},"
    # Reads of the merged record say where it went; writes to it are refused.
    assert api.get(f"/api/patients/{other.pk}/").json()["merged_into"] == survivor.pk
    refused = api.post(
        "/api/interactions/",
        {"patient_id": other.pk, "channel": "phone", "direction": "inbound",
         "department": "care_coordination"},
        "json",
    )  # fmt: skip
    assert refused.status_code == 409 and refused.json()["merged_into"] == survivor.pk
    assert api.patch(f"/api/patients/{other.pk}/", {"given_name": "X"}, "json").status_code == 409
    again = api.post(
        f"/api/patients/{survivor.pk}/merge/", {"other_id": other.pk, "reason": "again"}, "json"
    )
    assert again.status_code == 409


def test_an_unmerge_puts_back_exactly_what_moved(api):
    survivor, other = PatientFactory(), PatientFactory()
    consent(survivor, ConsentStatus.OPT_IN)
    consent(other, ConsentStatus.OPT_OUT)
    InteractionFactory.create_batch(2, patient=other)
    InteractionFactory(patient=survivor)
    DuplicateCandidate.objects.create(
        patient=min(survivor, other, key=lambda p: p.pk),
        other=max(survivor, other, key=lambda p: p.pk),
        score=14,
        found_by="scan",
    )
    before = snapshot(survivor, other)
    merge = patient_merge(survivor=survivor, merged=other, actor=None, reason="same person")
    assert DuplicateCandidate.objects.get().status == "merged"
    later = InteractionFactory(patient=survivor)  # made after the merge: it stays
    response = api.post(
        f"/api/patients/{other.pk}/unmerge/", {"reason": "Two people after all."}, "json"
    )
    assert response.status_code == 200, response.json()
    after = snapshot(survivor, other)
    del after[("interactions.Interaction:patient", later.pk)]
    assert after == before
    other.refresh_from_db()
    assert (other.status, other.merged_into) == ("active", None)
    merge.refresh_from_db()
    assert merge.unmerged_at is not None
    assert DuplicateCandidate.objects.get().status == "distinct"
    assert (
        api.post(f"/api/patients/{other.pk}/unmerge/", {"reason": "again"}, "json").status_code
        == 409
    )


def test_a_merge_is_undone_within_30_days_only(api):
    survivor, other = PatientFactory(), PatientFactory()
    patient_merge(survivor=survivor, merged=other, actor=None, reason="same person")
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=31)):
        response = api.post(f"/api/patients/{other.pk}/unmerge/", {"reason": "too late"}, "json")
    assert response.status_code == 409 and response.json()["code"] == "unmerge_too_late"


def test_bad_merges_are_refused(api, billing):
    patient = PatientFactory()
    itself = api.post(
        f"/api/patients/{patient.pk}/merge/", {"other_id": patient.pk, "reason": "x"}, "json"
    )
    assert itself.status_code == 400
    no_reason = api.post(
        f"/api/patients/{patient.pk}/merge/", {"other_id": PatientFactory().pk}, "json"
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    stale = api.post(
        f"/api/patients/{patient.pk}/merge/",
        {"other_id": PatientFactory().pk, "reason": "same"},
        "json",
        HTTP_IF_MATCH='"9"',
    )
    assert stale.status_code == 412
    other = PatientFactory()
    denied = client_for(billing).post(
        f"/api/patients/{patient.pk}/merge/", {"other_id": other.pk, "reason": "same"}, "json"
    )
    assert denied.status_code == 403
    assert not PatientMerge.objects.exists()


KEYS = st.sampled_from(["a", "b", "c"])


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    contacts=st.tuples(st.sets(KEYS), st.sets(KEYS)),
    identifiers=st.tuples(st.sets(KEYS), st.sets(KEYS)),
    consents=st.tuples(
        st.dictionaries(KEYS, st.sampled_from(["opt_in", "opt_out"])),
        st.dictionaries(KEYS, st.sampled_from(["opt_in", "opt_out"])),
    ),
    languages=st.tuples(st.sets(KEYS), st.sets(KEYS)),
    interactions=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    follow_ups=st.tuples(st.integers(0, 2), st.integers(0, 2)),
)
def test_merge_and_unmerge_lose_double_and_misplace_nothing(
    contacts, identifiers, consents, languages, interactions, follow_ups
):
    purposes = {"a": "care_coordination", "b": "billing", "c": "surveys"}
    tongues = {"a": "es", "b": "vi", "c": "zh"}
    pair = (PatientFactory(), PatientFactory())
    for index, patient in enumerate(pair):
        for key in contacts[index]:
            ContactPointFactory(patient=patient, system="email", value=f"{key}@example.org")
        for key in identifiers[index]:
            patient.identifiers.create(system=f"urn:{key}", value=f"{key}-{patient.pk}")
        for key, status in consents[index].items():
            consent(patient, status, purpose=purposes[key])
        for n, key in enumerate(sorted(languages[index])):
            LanguageFactory(patient=patient, language=tongues[key], preferred=n == 0)
        InteractionFactory.create_batch(interactions[index], patient=patient)
        FollowUpFactory.create_batch(follow_ups[index], patient=patient)
    survivor, other = pair
    before = snapshot(survivor, other)

    merge = patient_merge(survivor=survivor, merged=other, actor=None, reason="same person")
    during = snapshot(survivor, other)
    assert during.keys() == before.keys()  # no row lost or made
    for key, (owner, _) in during.items():
        was = before[key][0]
        stayed = key[1] not in merge.moved.get(key[0], [])
        assert owner == (was if stayed else survivor.pk)
        if stayed and was == other.pk:  # kept back: the survivor had one
            assert key[0].split(":")[0] in KEYED
    # One row per key on the survivor: nothing doubled.
    for label, keys in KEYED.items():
        rows = apps.get_model(label).objects.filter(patient=survivor)
        assert rows.count() == len(set(rows.values_list(*keys)))
    assert survivor.languages.filter(preferred=True).count() <= 1
    opted_out = {
        k for k in purposes if consents[0].get(k) == "opt_out" or consents[1].get(k) == "opt_out"
    }
    assert set(survivor.consents.filter(status="opt_out").values_list("purpose", flat=True)) == {
        purposes[k] for k in opted_out
    }

    patient_unmerge(merged=Patient.objects.get(pk=other.pk), actor=None, reason="two people")
    assert snapshot(survivor, other) == before
    assert FollowUp.objects.filter(patient=other).count() == follow_ups[1]


def test_a_merge_and_its_undo_take_as_many_queries_for_1_row_as_for_20():
    counts = []
    for rows in (1, 20):
        survivor, other = PatientFactory(), PatientFactory()
        InteractionFactory.create_batch(rows, patient=other)
        FollowUpFactory.create_batch(rows, patient=other)
        with CaptureQueriesContext(connection) as merging:
            patient_merge(survivor=survivor, merged=other, actor=None, reason="same person")
        with CaptureQueriesContext(connection) as undoing:
            patient_unmerge(merged=Patient.objects.get(pk=other.pk), actor=None, reason="two")
        counts.append((len(merging), len(undoing)))
    assert counts[0] == counts[1]
