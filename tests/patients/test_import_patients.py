"""The bulk import (an EHR's first load): good lines are written with their child rows,
history and access records; bad ones are reported by line and field while the rest go
in; importing again adds nothing; each batch is one transaction of a fixed number of
queries, on SQLite and PostgreSQL alike."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import AccessRecord
from integrations.models import Change
from patients import bulk_import
from patients.management.commands.import_patients import generated_patients
from patients.models import (
    CommunicationConsent,
    ContactPoint,
    Patient,
    PatientIdentifier,
    PatientLanguage,
)
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

EHR = "urn:oid:2.16.840.1.113883.3.42"


def line(value: str, **fields) -> dict:
    """A good patient whose identifier is ``value``."""
    return {
        "family_name": "Reyes",
        "given_name": "Sofía",
        "birth_date": "1991-08-30",
        "administrative_sex": "female",
        "interpreter_needed": "yes",
        "preferred_channel": "sms",
        "time_zone": "America/Chicago",
        "identifiers": [{"system": EHR, "value": value}],
        "contact_points": [
            {"system": "sms", "value": "(312) 555-0142", "use": "mobile", "rank": 1},
            {"system": "email", "value": "Sofia.Reyes@Example.org", "rank": 2},
        ],
        "languages": [
            {"language": "es-mx", "preferred": True},
            {"language": "en", "mode": "written", "rank": 2},
        ],
        "consents": [
            {
                "channel": "sms",
                "purpose": "care_coordination",
                "status": "opt_in",
                "source": "phone",
            },
            {"channel": "sms", "purpose": "marketing", "status": "opt_out", "source": "phone"},
        ],
        **fields,
    }


def write(tmp_path, rows, name="patients.ndjson"):
    path = tmp_path / name
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


def run(path, *args, user="alice", jobs="1"):
    out, err = StringIO(), StringIO()
    call_command(
        "import_patients", str(path), "--user", user, "--jobs", jobs, *args, stdout=out, stderr=err
    )
    return out.getvalue(), err.getvalue()


def test_good_lines_are_imported_with_their_child_rows_history_and_access_record(
    tmp_path, coordinator
):
    path = write(tmp_path, [line("E-1"), line("E-2", mrn="X-77", given_name="Ana")])

    out, err = run(path)

    assert err == ""
    assert "Imported 2, already present 0, refused 0" in out
    assert "patients/s" in out and "POST /api/duplicates/scan/" in out
    sofia = Patient.objects.get(identifiers__value="E-1")
    assert sofia.mrn.startswith("M") and len(sofia.mrn) == 10
    assert Patient.objects.get(identifiers__value="E-2").mrn == "X-77"
    assert (sofia.given_name, sofia.birth_date.isoformat(), sofia.version) == (
        "Sofía",
        "1991-08-30",
        1,
    )
    assert (sofia.interpreter_needed, sofia.time_zone) == ("yes", "America/Chicago")
    assert sofia.created_at == sofia.updated_at
    searched = (sofia.name_search, sofia.family_key, sofia.given_key)
    sofia.set_search_keys()
    assert searched == (sofia.name_search, sofia.family_key, sofia.given_key)  # as save()
    assert [(c.system, c.value, c.rank) for c in sofia.contact_points.order_by("rank")] == [
        ("sms", "+13125550142", 1),
        ("email", "sofia.reyes@example.org", 2),
    ]
    assert [(lang.language, lang.mode) for lang in sofia.languages.order_by("rank")] == [
        ("es-MX", "spoken"),
        ("en", "written"),
    ]
    consent = sofia.consents.get(purpose="marketing")
    assert (consent.status, consent.captured_by) == ("opt_out", coordinator)

    # One "+" history row per row written, by the importing user.
    for model, count in [
        (Patient, 2),
        (PatientIdentifier, 2),
        (ContactPoint, 4),
        (PatientLanguage, 4),
        (CommunicationConsent, 4),
    ]:
        history = model.history.model.objects.all()
        assert history.count() == count == model.objects.count(), model
        assert {(h.history_type, h.history_user_id, h.history_change_reason) for h in history} == {
            ("+", coordinator.pk, "imported")
        }
    assert sofia.history.get().mrn == sofia.mrn

    record = AccessRecord.objects.get()
    assert record.patients == sorted(Patient.objects.values_list("pk", flat=True))
    assert (record.user_id, record.username, record.action, record.outcome) == (
        coordinator.pk,
        "alice",
        "import",
        "allowed",
    )
    assert record.endpoint == "manage.py import_patients patients.ndjson"

    # The change feed's triggers saw them, as integrations read it.
    assert Change.objects.filter(record_type="Patient", action="create").count() == 2
    assert set(Change.objects.values_list("patient_id", flat=True)) == set(record.patients)

    # The application goes on writing after them.
    later = PatientFactory()
    assert later.pk > max(record.patients)
    assert later.contact_points.count() == 0


BAD_LINES = [
    ("{not json", "json", "Not valid JSON"),
    ('["a", "list"]', "json", "Expected a JSON object"),
    (line("B-1", given_name=None), "given_name", "may not be null"),
    ({k: v for k, v in line("B-2").items() if k != "family_name"}, "family_name", "required"),
    (line("B-3", birth_date="30/08/1991"), "birth_date", "wrong format"),
    (line("B-4", birth_date="2991-08-30"), "birth_date", "cannot be in the future"),
    (
        line("B-5", contact_points=[{"system": "sms", "value": "555-12"}]),
        "contact_points[0].value",
        "Enter a valid phone number.",
    ),
    (line("B-6", administrative_sex="f"), "administrative_sex", '"f" is not a valid choice.'),
    (
        line("B-7", consents=[{"channel": "sms", "purpose": "spam", "status": "opt_in"}]),
        "consents[0].purpose",
        "not a valid choice",
    ),
    (line("B-8", family_name="R" * 101), "family_name", "no more than 100 characters"),
    (line("B-9", given_name="So\x00fía"), "given_name", "Null characters are not allowed."),
    (line("B-10", languages=[{"language": "xx-!!"}]), "languages[0].language", "BCP-47"),
    (line("B-11", time_zone="Mars/Olympus"), "time_zone", "not an IANA time zone"),
    (line("B-12", identifiers=[]), "identifiers", "at least one identifier"),
    (line("B-13", shoe_size=42), "shoe_size", "Not a field the import takes."),
    (
        line("B-14", contact_points=[{"system": "sms", "value": "+13125550142"}] * 2),
        "contact_points[1].value",
        "Repeats item 1.",
    ),
]


def test_bad_lines_are_reported_by_line_and_field_and_the_rest_imported(tmp_path, coordinator):
    rows = [line("G-1")] + [bad for bad, _, _ in BAD_LINES] + [line("G-2")]
    path = write(tmp_path, rows)

    out, err = run(path)

    assert f"Imported 2, already present 0, refused {len(BAD_LINES)}" in out
    reported = err.splitlines()
    for number, (_, name, message) in enumerate(BAD_LINES, start=2):
        assert any(
            text.startswith(f"line {number}: {name}: ") and message in text for text in reported
        ), (number, name, reported)
    assert set(PatientIdentifier.objects.values_list("value", flat=True)) == {"G-1", "G-2"}
    assert "\x00" not in err


def test_refused_lines_go_to_the_errors_file_as_ndjson(tmp_path, coordinator):
    path = write(tmp_path, [line("G-1"), line("B-1", birth_date="yesterday")])
    errors = tmp_path / "errors.ndjson"

    out, err = run(path, "--errors", str(errors))

    assert err == "" and "refused 1" in out and str(errors) in out
    assert [json.loads(text) for text in errors.read_text().splitlines()] == [
        {"line": 2, "errors": {"birth_date": [bulk_import.WRONG_DATE]}}
    ]


def test_importing_the_same_file_again_adds_nothing(tmp_path, coordinator):
    path = write(tmp_path, [line("E-1"), line("E-2"), line("B-1", birth_date="")])
    run(path)
    counts = [m.objects.count() for m in (Patient, ContactPoint, Patient.history.model)]

    out, _ = run(path)

    assert "Imported 0, already present 2, refused 1" in out
    assert [m.objects.count() for m in (Patient, ContactPoint, Patient.history.model)] == counts
    assert AccessRecord.objects.count() == 1  # nothing written, nothing logged


def test_a_patient_registered_with_the_identifier_is_already_present(tmp_path, coordinator):
    patient = PatientFactory()
    PatientIdentifier.objects.create(patient=patient, system=EHR, value="E-1")

    out, _ = run(write(tmp_path, [line("E-1"), line("E-2")]))

    assert "Imported 1, already present 1, refused 0" in out
    assert Patient.objects.count() == 2


def test_an_identifier_repeated_in_one_file_is_refused(tmp_path, coordinator):
    path = write(tmp_path, [line("E-1"), line("E-1", given_name="Other"), line("E-2", mrn="X1")])
    path2 = write(tmp_path, [line("E-3", mrn="X1")], name="more.ndjson")

    out, err = run(path)
    out2, err2 = run(path2)

    assert "Imported 2, already present 0, refused 1" in out
    assert err.splitlines() == ["line 2: identifiers[0].value: Repeats line 1."]
    assert Patient.objects.get(identifiers__value="E-1").given_name == "Sofía"
    # An MRN another patient has is refused too.
    assert "Imported 0, already present 0, refused 1" in out2
    assert err2.splitlines() == ["line 1: mrn: A patient with this MRN already exists."]


def test_each_batch_is_one_transaction_and_importing_again_finishes_the_file(
    tmp_path, coordinator, monkeypatch
):
    path = write(tmp_path, [line(f"E-{n}") for n in range(5)])
    real_create = AccessRecord.objects.create
    calls = []

    def fail_second_batch(**fields):
        calls.append(fields)
        if len(calls) == 2:
            raise RuntimeError("the machine went down")
        return real_create(**fields)

    monkeypatch.setattr(AccessRecord.objects, "create", fail_second_batch)
    with pytest.raises(RuntimeError):
        run(path, "--batch-size", "2")
    assert Patient.objects.count() == 2  # the first batch, whole; nothing of the second
    assert ContactPoint.objects.count() == 4 and Patient.history.count() == 2
    monkeypatch.undo()

    out, _ = run(path, "--batch-size", "2")

    assert "Imported 3, already present 2, refused 0" in out
    assert Patient.objects.count() == 5 and AccessRecord.objects.count() == 3


def test_a_batch_refused_by_a_concurrent_writers_row_is_written_again(
    tmp_path, coordinator, monkeypatch
):
    """Another import committed the MRN this batch drew after the batch checked it: the
    unique constraint refuses the batch, which is written again with new MRNs."""
    PatientFactory(mrn="M000000007")
    real_taken = bulk_import._mrns_taken
    checks = []

    def blind_at_first(mrns):
        checks.append(mrns)
        return set() if len(checks) == 1 else real_taken(mrns)

    monkeypatch.setattr(bulk_import, "_mrns_taken", blind_at_first)
    draws = iter([7, 8])
    monkeypatch.setattr(bulk_import.secrets, "randbelow", lambda n: next(draws))

    out, err = run(write(tmp_path, [line("E-1")]))

    assert "Imported 1, already present 0, refused 0" in out and err == ""
    assert Patient.objects.get(identifiers__value="E-1").mrn == "M000000008"
    assert Patient.history.filter(mrn="M000000008").count() == 1
    assert AccessRecord.objects.count() == 1


def test_the_queries_of_a_batch_do_not_grow_with_its_lines(tmp_path, coordinator):
    """On PostgreSQL the COPY statements (one per table and history table) are not
    captured; there are as many whatever the lines."""
    few = write(tmp_path, generated_patients(10, seed=1), name="few.ndjson")
    many = write(tmp_path, generated_patients(50, seed=2), name="many.ndjson")

    with CaptureQueriesContext(connection) as first:
        run(few)
    with CaptureQueriesContext(connection) as second:
        run(many)

    assert Patient.objects.count() == 60
    assert len(first) == len(second)


def test_a_generated_file_imports_whole(tmp_path, coordinator):
    path = tmp_path / "sample.ndjson"
    out = StringIO()
    call_command("import_patients", str(path), "--generate", "40", stdout=out)
    assert "Wrote 40" in out.getvalue()

    out, err = run(path)

    assert err == "" and "Imported 40, already present 0, refused 0" in out
    assert PatientIdentifier.objects.count() == 40
    assert CommunicationConsent.objects.count() == 80
    assert ContactPoint.objects.filter(system="sms", value__startswith="+1").count() == 40


def test_the_importing_user_must_exist(tmp_path, coordinator):
    path = write(tmp_path, [line("E-1")])
    with pytest.raises(CommandError, match="No active user"):
        run(path, user="nobody")
    with pytest.raises(CommandError, match="--user"):
        call_command("import_patients", str(path), stdout=StringIO())
    assert Patient.objects.count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="workers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_worker_processes_import_the_batches_side_by_side(tmp_path):
    """Committed for real (the workers have their own connections), in batches of 4."""
    UserFactory(username="alice")
    rows = [line(f"E-{n}") for n in range(30)]
    rows[5] = line("E-1")  # repeats line 2, in another batch
    rows[20] = line("B-1", birth_date="1991-02-30")
    path = write(tmp_path, rows)

    out, err = run(path, "--batch-size", "4", jobs="2")

    assert "Imported 28, already present 0, refused 2" in out
    assert err.splitlines() == [
        "line 6: identifiers[0].value: Repeats line 2.",
        f"line 21: birth_date: {bulk_import.WRONG_DATE}",
    ]
    assert Patient.objects.count() == 28 == Patient.history.count()
    assert ContactPoint.objects.count() == 56 == ContactPoint.history.count()
    records = AccessRecord.objects.all()
    assert len(records) == 8 and len({r.request_id for r in records}) == 1
    assert sorted(pk for r in records for pk in r.patients) == sorted(
        Patient.objects.values_list("pk", flat=True)
    )

    out, _ = run(path, jobs="2")

    assert "Imported 0, already present 28, refused 2" in out
    assert Patient.objects.count() == 28
