"""No representation leaks what the access policy hides. A unique marker is planted in
every field a role may not read (a restricted note, a referral's clinical reason and
report, another department's complaint), in the record itself, in its events and in its
history; then every GET endpoint of the OpenAPI schema is read as every role, on every
page, unfiltered and filtered by the patient, and no marker may appear where that role
may not see it. A new endpoint or representation is covered without changing this test."""

import json
import re

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from interactions import services as experience
from referrals import services
from referrals.models import ReferralEvent
from tests.conftest import client_for
from tests.factories import InteractionFactory, PatientFactory, UserFactory
from tests.referrals.helpers import referral_in

pytestmark = pytest.mark.django_db

RESTRICTED = "MARKER-RESTRICTED-NOTE"
CLINICAL = "MARKER-CLINICAL"  # the reason, and each report field carries it too
CLINICAL_DEPARTMENT = "MARKER-DEPARTMENT-COMPLAINT"

# Who may read what (docs/domain.md, "Minimum necessary access").
MAY_READ = {
    "assigned_coordinator": {RESTRICTED, CLINICAL, CLINICAL_DEPARTMENT},
    "other_coordinator": {CLINICAL, CLINICAL_DEPARTMENT},
    "clinician": {RESTRICTED, CLINICAL, CLINICAL_DEPARTMENT},
    "billing": set(),
    "pharmacy": set(),
    "front_desk": {CLINICAL_DEPARTMENT},
    "admin": {CLINICAL_DEPARTMENT},
}
ROLE_OF = {"assigned_coordinator": "coordinator", "other_coordinator": "coordinator"}


@pytest.fixture
def planted():
    users = {
        name: UserFactory(username=name, roles=[ROLE_OF.get(name, name)]) for name in MAY_READ
    }
    coordinator = users["assigned_coordinator"]
    patient = PatientFactory(care_coordinator=coordinator)
    restricted = InteractionFactory(
        patient=patient, sensitivity="restricted", department="clinical", summary=RESTRICTED
    )
    referral = referral_in(
        "seen", coordinator, patient=patient, coordinator=coordinator, reason=f"{CLINICAL} why"
    )
    referral = services.referral_close(
        referral=referral,
        actor=coordinator,
        report_received_on=timezone.localdate(),
        report_from=f"{CLINICAL} from",
        report_summary=f"{CLINICAL} summary",
        report_recommendations=f"{CLINICAL} advice",
    )
    # An event written before events stopped copying the report: still never shown.
    ReferralEvent.objects.create(
        referral=referral,
        action="close",
        from_status="seen",
        to_status="closed",
        details={"report_summary": f"{CLINICAL} legacy"},
    )
    complaint = experience.complaint_create(
        actor=coordinator,
        patient=patient,
        channel="phone",
        category="clinical_care",
        department="clinical",
        description=CLINICAL_DEPARTMENT,
    )
    return {
        "users": users,
        "ids": {
            "patients": patient.pk,
            "interactions": restricted.pk,
            "referrals": referral.pk,
            "complaints": complaint.pk,
        },
        "patient": patient.pk,
    }


def get_paths() -> list[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(path for path, item in schema["paths"].items() if "get" in item)


def concrete(path: str, ids: dict) -> str | None:
    """The path with its id filled in from the planted records, or None when nothing
    planted is of that kind."""
    if "{" not in path:
        return path
    kind = path.split("/")[2]
    if kind not in ids:
        return None
    return re.sub(r"\{[^}]+\}", str(ids[kind]), path)


def read_all(client, path: str, params: dict) -> list[str]:
    """Every page of the answer, as text."""
    texts = []
    response = client.get(path, params)
    for _ in range(20):
        texts.append(response.content.decode())
        body = response.json() if response["Content-Type"].startswith("application/json") else {}
        following = body.get("next") if isinstance(body, dict) else None
        if response.status_code != 200 or not following:
            break
        response = client.get(following)
    return texts


@pytest.mark.parametrize("reader", list(MAY_READ))
def test_no_get_endpoint_shows_a_role_what_it_may_not_read(planted, reader):
    client = client_for(planted["users"][reader])
    forbidden = {RESTRICTED, CLINICAL, CLINICAL_DEPARTMENT} - MAY_READ[reader]
    read = 0
    for template in get_paths():
        path = concrete(template, planted["ids"])
        if path is None or path.startswith("/api/schema") or path.startswith("/api/docs"):
            continue
        for params in ({}, {"patient": planted["patient"]}):
            for text in read_all(client, path, params):
                read += 1
                leaked = sorted(marker for marker in forbidden if marker in text)
                assert not leaked, f"{reader} sees {leaked} at {path} {json.dumps(params)}"
    assert read > 40  # the crawl really read the API


@pytest.mark.parametrize("reader", ["assigned_coordinator", "clinician"])
def test_the_crawl_finds_what_a_role_may_read(planted, reader):
    """The markers are where the crawl looks: a reader allowed to see them does."""
    client = client_for(planted["users"][reader])
    seen = set()
    for template in get_paths():
        path = concrete(template, planted["ids"])
        if path is None or path.startswith("/api/schema") or path.startswith("/api/docs"):
            continue
        for text in read_all(client, path, {"patient": planted["patient"]}):
            seen |= {m for m in (RESTRICTED, CLINICAL, CLINICAL_DEPARTMENT) if m in text}
    assert seen == MAY_READ[reader]
