"""Time the reads staff wait on, against the demo data set, through the full request
stack (middleware, authentication, serializers), and the message send pipeline. Speed
is checked here, not in tests."""

import datetime
import gc
import random
import socket
import statistics
import subprocess
import sys
import time
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, reset_queries, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from faker import Faker

from api.management.commands.seed_scale import MRN_PREFIX
from crm.choices import Department
from messaging import channels
from messaging.choices import MessageChannel, MessageStatus, Sender, Template
from messaging.models import Message
from messaging.services import dispatch_due, message_queue
from messaging.sms_double import ProviderDouble
from patients.choices import ConsentPurpose, ContactSystem, ContactUse
from patients.duplicates import duplicate_scan
from patients.matching import REVIEW, compare, pairs_to_compare, shared_contact_pairs
from patients.models import ContactPoint, DuplicateCandidate, Patient, PatientLanguage
from patients.population import VARIANTS, Population, by_year, generate, typo
from patients.validators import FAMILY_FIRST_SCRIPT

# name -> (URL builder, p90 target in milliseconds)
SCENARIOS = {
    "patient 360": (lambda p: f"/api/patients/{p.pk}/360/", 150),
    "patient search by name": (lambda p: f"/api/patients/?q={p.family_name[:3]}", 150),
    "patient search by phone": (
        lambda p: f"/api/patients/?phone={p.contact_points.first().value}",
        150,
    ),
    "patient timeline": (lambda p: f"/api/interactions/?patient={p.pk}", 150),
    "open referrals, overdue": (
        lambda p: "/api/referrals/?status=sent&status=accepted&status=seen&overdue=true",
        150,
    ),
    "follow-ups overdue": (lambda p: "/api/follow-ups/?status=open&overdue=true", 150),
    "referral worklist (team)": (lambda p: "/api/worklists/referrals/?team=true", 250),
    "follow-up worklist (team)": (lambda p: "/api/worklists/follow-ups/?team=true", 250),
    "complaints worklist (team)": (lambda p: "/api/worklists/complaints/?team=true", 250),
    "experience metrics, one year": (
        lambda p: "/api/metrics/experience/?start=2026-01-01&end=2026-12-31",
        250,
    ),
    "referral metrics, one year": (
        lambda p: "/api/metrics/referrals/?start=2026-01-01&end=2026-12-31",
        250,
    ),
}


class Command(BaseCommand):
    help = "Measure median and 90th-percentile latency and query counts of key reads."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=30)
        parser.add_argument(
            "--check", action="store_true", help="Exit non-zero when a p90 misses its target."
        )
        parser.add_argument(
            "--sends", type=int, default=2000, help="Messages through the send pipeline."
        )
        parser.add_argument(
            "--people",
            type=int,
            default=100_000,
            help="People in the generated population the patient matcher is measured on.",
        )
        parser.add_argument(
            "--in-database",
            action="store_true",
            help="With matching: also load the population into the database and time the "
            "population scan there. Use a scratch database: the records stay.",
        )
        parser.add_argument(
            "--only",
            choices=["reads", "sends", "matching", "scale"],
            help="Run one part only. scale: the reads and writes at the size of the scale "
            "data set (manage.py seed_scale), against its targets; never run by default.",
        )

    def handle(
        self,
        *args,
        repeat: int,
        check: bool,
        sends: int,
        people: int,
        in_database: bool,
        only: str | None,
        **options,
    ):
        if only == "scale":
            missed = scale(self.stdout, repeat)
            if check and missed:
                raise CommandError(f"Targets missed: {', '.join(missed)}")
            return
        missed = [] if only in ("sends", "matching") else self._reads(repeat)
        if only in (None, "sends") and sends and not send_pipeline(self.stdout, sends):
            missed.append("send pipeline")
        if only in (None, "matching") and not matching_quality(self.stdout, people, in_database):
            missed.append("patient matching")
        if check and missed:
            raise CommandError(f"Targets missed: {', '.join(missed)}")

    def _reads(self, repeat: int) -> list[str]:
        if not Patient.objects.filter(mrn__startswith="D").exists():
            call_command("seed_demo", verbosity=0)
        user = get_user_model().objects.get(username="coordinator")
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        patients = list(Patient.objects.filter(mrn__startswith="D").order_by("pk")[:repeat])

        self.stdout.write(f"{'scenario':<28}{'median ms':>10}{'p90 ms':>9}{'queries':>9}  target")
        missed = []
        for name, (url_for, target) in SCENARIOS.items():
            timings, queries = [], set()
            for index in range(repeat):
                url = url_for(patients[index % len(patients)])
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response = client.get(url)
                    timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise CommandError(f"{name}: {url} answered {response.status_code}")
                queries.add(len(captured))
            median = statistics.median(timings)
            p90 = statistics.quantiles(timings, n=10)[-1]
            spread = "-".join(str(n) for n in sorted({min(queries), max(queries)}))
            verdict = "ok" if p90 <= target else "MISSED"
            if p90 > target:
                missed.append(name)
            self.stdout.write(
                f"{name:<28}{median:>10.1f}{p90:>9.1f}{spread:>9}  p90<={target} {verdict}"
            )
        return missed


# The patient index's bar: of the pairs it flags, this share are duplicates (precision);
# of the duplicates, it flags this share (recall).
PRECISION, RECALL = 0.95, 0.90


def matching_quality(out, people: int, in_database: bool = False) -> bool:
    """Precision and recall of the matcher at its review line on a generated population
    with known duplicates and look-alikes, blocked as the population scan blocks (birth
    year, then shared phones and emails), and how fast it goes; with ``in_database``,
    the population scan itself over the population loaded into the database."""
    population = generate(people)
    if in_database:
        return _report(out, population, scan_in_database(out, population))
    started = time.perf_counter()
    flagged: set[tuple[int, int]] = set()
    compared = 0
    for born_in_a_year in by_year(population.records):
        for i, j in pairs_to_compare(born_in_a_year):
            compared += 1
            match = compare(born_in_a_year[i], born_in_a_year[j])
            if match.score >= REVIEW:
                flagged.add(match.ids)
    for pair in shared_contact_pairs(population.records):
        if pair not in flagged:
            compared += 1
            a, b = (population.records[pk - 1] for pk in pair)
            if compare(a, b).score >= REVIEW:
                flagged.add(pair)
    seconds = time.perf_counter() - started
    records = len(population.records)
    out.write(
        f"in memory: {compared} pairs compared in {seconds:.1f} s "
        f"({records / seconds:,.0f} records/s)"
    )
    return _report(out, population, flagged)


def scan_in_database(out, population: Population) -> set[tuple[int, int]]:
    """Load the population (records and their phones and emails) in batches, run the
    population scan and give back the pairs it flagged, by the population's ids."""
    started = time.perf_counter()
    person_of_pk: dict[int, int] = {}
    for at in range(0, len(population.records), 5000):
        batch = population.records[at : at + 5000]
        with transaction.atomic():
            rows = [
                Patient(
                    mrn=f"B{person.id:09d}",
                    given_name=person.given_name,
                    family_name=person.family_name,
                    birth_date=person.birth_date,
                    administrative_sex=person.sex,
                )
                for person in batch
            ]
            for row in rows:
                row.set_search_keys()
            Patient.objects.bulk_create(rows)
            ContactPoint.objects.bulk_create(
                ContactPoint(patient=row, system=system, value=value)
                for row, person in zip(rows, batch, strict=True)
                for system, values in (("sms", person.phones), ("email", person.emails))
                for value in values
            )
            person_of_pk.update(
                (row.pk, person.id) for row, person in zip(rows, batch, strict=True)
            )
    loading = time.perf_counter() - started
    out.write(f"in the database: {len(person_of_pk)} records loaded in {loading:.0f} s")
    started = time.perf_counter()
    scan = duplicate_scan()
    seconds = time.perf_counter() - started
    out.write(
        f"  population scan: {scan.compared} pairs compared in {seconds / 60:.1f} min "
        f"({len(person_of_pk) / seconds:,.0f} records/s), {scan.found} open pairs on the worklist"
    )
    flagged = DuplicateCandidate.objects.filter(
        patient_id__in=person_of_pk, other_id__in=person_of_pk
    ).values_list("patient_id", "other_id")
    return {tuple(sorted((person_of_pk[a], person_of_pk[b]))) for a, b in flagged}


def _report(out, population: Population, flagged: set[tuple[int, int]]) -> bool:
    right = flagged & population.duplicates
    precision = len(right) / len(flagged) if flagged else 0.0
    recall = len(right) / len(population.duplicates)
    out.write(
        f"patient matching: {len(population.records)} records, "
        f"{len(population.duplicates)} duplicates, "
        f"{len(population.look_alikes)} look-alikes (twins, parent and child)\n"
        f"  at {REVIEW}: precision {precision:.4f} (>= {PRECISION}), "
        f"recall {recall:.4f} (>= {RECALL}); "
        f"{len(flagged & population.look_alikes)} look-alike pairs flagged"
    )
    for variant in VARIANTS:
        pairs = {p for p, kind in population.variants.items() if kind == variant}
        if pairs:
            out.write(f"  recall, {variant}: {len(pairs & flagged) / len(pairs):.3f}")
    return precision >= PRECISION and recall >= RECALL


# name -> (URL builder for a patient, p95 target in ms). The 360's target is relative:
# at most FLOOR_RATIO times the raw SQL of the same rows (the statements the request
# ran, replayed on the connection).
SCALE_READS = {
    "search q=, MRN": (lambda p: f"/api/patients/?q={p.mrn}", 25),
    "search q=, phone": (lambda p: f"/api/patients/?q={_first_phone(p)}", 25),
    "search q=, birth date": (lambda p: f"/api/patients/?q={p.birth_date}", 25),
    "search mrn=": (lambda p: f"/api/patients/?mrn={p.mrn.lower()}", 25),
    "search phone=": (lambda p: f"/api/patients/?phone={_first_phone(p)}", 25),
    "search birth_date=": (lambda p: f"/api/patients/?birth_date={p.birth_date}", 25),
    "search q=, name with a typo": (lambda p: f"/api/patients/?q={_misspelled(p)}", 60),
    "360, typical patient": (lambda p: f"/api/patients/{p.pk}/360/", None),
    # The worklists as the app asks for them: a coordinator's in My work, 10 items a
    # bucket; the team's on the board, 25.
    "referral worklist, mine": (lambda p: "/api/worklists/referrals/?limit=10", 50),
    "follow-up worklist, mine": (lambda p: "/api/worklists/follow-ups/?limit=10", 50),
    "referral worklist, team": (lambda p: "/api/worklists/referrals/?team=true", 200),
    "follow-up worklist, team": (lambda p: "/api/worklists/follow-ups/?team=true", 200),
    "referral metrics, a year": (
        lambda p: "/api/metrics/referrals/?start=2026-01-01&end=2026-12-31",
        500,
    ),
    "experience metrics, a year": (
        lambda p: "/api/metrics/experience/?start=2026-01-01&end=2026-12-31",
        500,
    ),
}
FLOOR_RATIO = 3
CREATE_TARGET = 20
TYPO_SAMPLE, TYPO_FOUND_SHARE = 200, 0.98


def scale(out, repeat: int) -> list[str]:
    """The reads at a million patients, each p50 and p95 through the full request stack
    as the patient's coordinator, with the raw-SQL floor of the 360; how often a name
    with one typo finds its patient in the first ten."""
    seeded = Patient.objects.filter(mrn__startswith=MRN_PREFIX, care_coordinator__isnull=False)
    first = seeded.order_by("pk").first()
    if first is None:
        raise CommandError("Load the scale data set first: manage.py seed_scale.")
    last = seeded.order_by("-pk").values_list("pk", flat=True)[0]
    rng = random.Random(5)
    sample = list(
        seeded.filter(pk__in=rng.sample(range(first.pk, last + 1), 4 * repeat))
        .select_related("care_coordinator")
        .prefetch_related("contact_points")[:repeat]
    )
    # Each coordinator signed in, all served by one request handler (its middleware,
    # URL resolver and static file index) as one server process serves them all.
    handler = Client().handler
    clients: dict[int, Client] = {}
    for patient in [first, *sample]:
        if patient.care_coordinator_id not in clients:
            clients[patient.care_coordinator_id] = Client(HTTP_HOST="localhost")
            clients[patient.care_coordinator_id].force_login(patient.care_coordinator)
            clients[patient.care_coordinator_id].handler = handler
    # What is set up stays out of the collector's full passes, as in a server process
    # (crm/gunicorn.conf.py, post_worker_init).
    gc.collect()
    gc.freeze()

    def client_of(patient: Patient) -> Client:
        return clients[patient.care_coordinator_id]

    out.write(
        f"{Patient.objects.count():,} patients; {'read':<30}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'floor':>8}{'ratio':>7}{'queries':>9}  target"
    )
    missed = []
    rows = [(name, url, target, sample) for name, (url, target) in SCALE_READS.items()]
    rows.insert(8, ("360, heavy patient", SCALE_READS["360, typical patient"][0], None, [first]))
    for name, url_for, target, patients in rows:
        timings, floors, queries = [], [], set()
        client_of(patients[0]).get(url_for(patients[0]))  # warm: the first read fills caches
        for index in range(repeat):
            patient = patients[index % len(patients)]
            client = client_of(patient)
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url_for(patient))
                timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise CommandError(f"{name}: answered {response.status_code}")
            queries.add(len(captured))
            if target is None:
                floors.append(_replayed(captured.captured_queries))
            elif index == 2 and statistics.median(timings) > 10 * target:
                break  # far off: three samples tell it
        if not _row(out, name, timings, queries, target, _p95(floors) if floors else None):
            missed.append(name)
    if not _creates(out, client_of(first), repeat):
        missed.append("patient create")
    found, named = _typos_found(client_of(sample[0]), seeded, rng)
    out.write(
        f"  a name with one typo, {TYPO_SAMPLE} sampled: the patient in the first ten "
        f"{found:.1%}, the patient or a namesake {named:.1%} (>= {TYPO_FOUND_SHARE:.0%})"
    )
    if named < TYPO_FOUND_SHARE:
        missed.append("typo-tolerant search")
    return missed


def _creates(out, client: Client, repeat: int) -> bool:
    """Registration as the app sends it, with two contact points, two languages, two
    consents and an identifier, for made-up people (removed afterwards)."""
    fake, rng = Faker(), random.Random()
    timings, queries, created = [], set(), []
    for _ in range(repeat + 1):  # the first warms
        body = {
            "given_name": fake.first_name(),
            "family_name": fake.last_name(),
            "birth_date": fake.date_of_birth(minimum_age=1, maximum_age=99).isoformat(),
            "contact_points": [
                {"system": "sms", "value": f"+1617555{rng.randrange(10_000):04d}"},
                {"system": "email", "value": f"{rng.getrandbits(40):x}@example.org"},
            ],
            "languages": [{"language": "es", "preferred": True}, {"language": "en", "rank": 2}],
            "consents": [
                {
                    "channel": "sms",
                    "purpose": "appointment_reminders",
                    "status": "opt_in",
                    "source": "phone",
                },
                {"channel": "email", "purpose": "surveys", "status": "opt_out", "source": "phone"},
            ],
            "identifiers": [{"system": "urn:benchmark", "value": f"{rng.getrandbits(64):x}"}],
            "confirm_new_person": True,  # a made-up person may share a real one's name
        }
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.post("/api/patients/", body, content_type="application/json")
            timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 201:
            raise CommandError(f"patient create: answered {response.status_code}")
        created.append(response.json()["id"])
        queries.add(len(captured))
    Patient.objects.filter(pk__in=created).delete()
    return _row(out, "patient create, with its sections", timings[1:], queries, CREATE_TARGET)


def _row(out, name: str, timings: list[float], queries: set[int], target, floor=None) -> bool:
    """One line of the table; whether p95 met the target (with a floor: that many times
    the floor)."""
    p50, p95 = statistics.median(timings), _p95(timings)
    ok = p95 <= (FLOOR_RATIO * floor if floor else target)
    spread = "-".join(str(n) for n in sorted({min(queries), max(queries)}))
    out.write(
        f"  {name:<36}{p50:>8.1f}{p95:>8.1f}"
        f"{f'{floor:.1f}' if floor else '-':>8}"
        f"{f'{p95 / floor:.1f}x' if floor else '-':>7}{spread:>9}  "
        + (f"<= {FLOOR_RATIO}x floor" if floor else f"<= {target} ms")
        + (" ok" if ok else " MISSED")
    )
    return ok


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def _replayed(captured: list[dict]) -> float:
    """Milliseconds the request's reads take as raw SQL on the same connection."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for query in captured:
            if query["sql"].lstrip().upper().startswith("SELECT"):
                cursor.execute(query["sql"])
                cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def _first_phone(patient: Patient) -> str:
    return quote(next(p.value for p in patient.contact_points.all() if p.system == "sms"))


def _misspelled(patient: Patient, rng: random.Random | None = None) -> str:
    rng = rng or random.Random(patient.pk)
    given, family = patient.given_name, patient.family_name
    if rng.random() < 0.5:
        family = typo(family, rng)
    else:
        given = typo(given, rng)
    return quote(f"{given} {family}")


def _typos_found(client: Client, seeded, rng: random.Random) -> tuple[float, float]:
    """Of sampled patients whose names are written in letters (a slip in a name of one
    or two Chinese or Korean characters is another name, not a typo), searched for
    with one typo in the given or the family name: the share found in the first ten,
    and the share whose name was (the patient, or a namesake when more than ten share
    the name: a birth date tells them apart). The sample is drawn from ``rng``: the
    same patients and typos on every run."""
    first, last = seeded.order_by("pk")[0].pk, seeded.order_by("-pk")[0].pk
    drawn = rng.sample(range(first, last + 1), min(last - first + 1, 4 * TYPO_SAMPLE))
    ids = list(
        seeded.filter(pk__in=drawn)
        .exclude(family_name__regex=FAMILY_FIRST_SCRIPT.pattern)
        .order_by("pk")
        .values_list("pk", flat=True)[:TYPO_SAMPLE]
    )
    found = named = 0
    for patient in Patient.objects.filter(pk__in=ids).order_by("pk"):
        response = client.get(f"/api/patients/?q={_misspelled(patient, rng)}&page_size=10")
        rows = response.json()["results"]
        found += patient.pk in {row["id"] for row in rows}
        named += any(
            (row["given_name"], row["family_name"]) == (patient.given_name, patient.family_name)
            for row in rows
        )
    return found / len(ids), named / len(ids)


# Messages per second one worker process renders, policy-checks and hands to the SMS
# provider (the local double, over HTTP), end to end.
SENDS_PER_SECOND = 200


def send_pipeline(out, count: int) -> bool:
    """Queue ``count`` texts to as many patients, then send them in batches as a worker
    does: each asks the contact policy, is rendered in the patient's language and handed
    over HTTP to the local provider double, which runs in a process of its own as a
    real provider would. Prints messages per second and queries per batch. Runs in a
    transaction that is rolled back: the database is left as it was."""
    double = ProviderDouble()  # for its account and token; it serves in the child
    port = _free_port()
    provider = subprocess.Popen(
        [sys.executable, "-m", "messaging.sms_double", "--port", str(port), "--no-receipts"],
        cwd=settings.BASE_DIR,
    )
    channels.sms_backend.cache_clear()
    try:
        _wait_for(port)
        with (
            override_settings(
                SMS_BACKEND="twilio",
                TWILIO_ACCOUNT_SID=double.account_sid,
                TWILIO_AUTH_TOKEN=double.auth_token,
                TWILIO_FROM_NUMBER="+15550100100",
                TWILIO_MESSAGING_SERVICE_SID="",
                TWILIO_API_BASE_URL=f"http://127.0.0.1:{port}",
            ),
            transaction.atomic(),
        ):
            patients = _benchmark_patients(count)
            started = time.perf_counter()
            for patient in patients:
                message_queue(
                    actor=None,
                    patient=patient,
                    purpose=ConsentPurpose.CARE_COORDINATION,
                    department=Department.CARE_COORDINATION,
                    channel=MessageChannel.SMS,
                    template=Template.CALLBACK_MISSED,
                    sender=Sender.INTEGRATION,
                )
            queued = time.perf_counter()
            batches = []
            while True:
                reset_queries()  # the log keeps 9,000 at most: make room for a batch
                with CaptureQueriesContext(connection) as captured:
                    counts = dispatch_due()
                if not counts:
                    break
                batches.append(len(captured.captured_queries))
            finished = time.perf_counter()
            sent = Message.objects.filter(patient__in=patients, status=MessageStatus.SENT).count()
            transaction.set_rollback(True)
    finally:
        provider.terminate()
        provider.wait(timeout=30)
        channels.sms_backend.cache_clear()
    rate = sent / (finished - queued)
    out.write(
        f"\nsend pipeline, one worker: {sent} of {count} texts rendered, policy-checked and "
        f"handed to the provider at {rate:.0f}/s (target >= {SENDS_PER_SECOND}/s); "
        f"{len(batches)} batches of up to {settings.MESSAGES_PER_BATCH}, queries per batch "
        f"{'-'.join(str(n) for n in sorted(set(batches)))}; queueing them (policy, "
        f"template, the message with its timeline entry) ran at "
        f"{count / (queued - started):.0f}/s"
    )
    return sent == count and rate >= SENDS_PER_SECOND


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int) -> None:
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise CommandError("The provider double did not start.")


def _benchmark_patients(count: int) -> list[Patient]:
    """Patients who may be texted any time, in three languages, loaded as a worker
    loads them (with consents, contact points and languages)."""
    patients = Patient.objects.bulk_create(
        Patient(
            mrn=f"BENCH{i:07d}",
            given_name="Ana",
            family_name="Benchmark",
            birth_date=datetime.date(1980, 1, 1),
            contact_window_start=datetime.time(0),
            contact_window_end=datetime.time(23, 59),
        )
        for i in range(count)
    )
    ContactPoint.objects.bulk_create(
        ContactPoint(
            patient=p, system=ContactSystem.SMS, use=ContactUse.MOBILE, value=f"+1617{i:07d}"
        )
        for i, p in enumerate(patients)
    )
    PatientLanguage.objects.bulk_create(
        PatientLanguage(patient=p, language=("vi", "es", "en")[i % 3], preferred=True)
        for i, p in enumerate(patients)
    )
    loaded = Patient.objects.filter(pk__in=[p.pk for p in patients])
    return list(loaded.prefetch_related("consents", "contact_points", "languages"))
