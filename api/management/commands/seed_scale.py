"""Load a data set the size of a clinic network's: by default 1,000,000 patients with
their contact points, languages, consents and identifiers, about ten contacts each with
a long tail (the first patient has 5,000), two referrals each on average in every state
with the events that led there, the follow-ups the care rules would have left,
complaints, survey answers and appointments (each booked referral's visit, and a few
clinic visits a patient, past and ahead), spread over coordinators with realistic
caseloads.

It is for measuring (``manage.py benchmark``), so it writes rows directly, not through
the services: COPY on PostgreSQL, batched inserts on SQLite (capped, see
``SQLITE_MOST``). Rows get their ids here, so children need no read back; the id
sequences are moved past them at the end. Seeded rows are not in the change feed (an
export is an integration's first load) and have no history rows or, for appointments,
workflow events. Made up from a fixed seed with Faker's names; nothing describes a real
person.
"""

import datetime
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.utils import timezone
from faker import Faker

from api.management.commands.seed_demo import (
    AREA_CODES,
    LANGUAGES,
    SPECIALTIES,
    SUMMARIES,
    TOPIC_DEPARTMENT,
)
from appointments.choices import AppointmentStatus
from appointments.models import Appointment, ServiceType
from crm.choices import Channel, Department
from crm.db import indexes_built_after, insert_rows, triggers_off
from crm.roles import Role
from interactions import tallies as contact_tallies
from interactions.choices import ComplaintCategory, Direction, Outcome, Topic
from interactions.models import Complaint, ComplaintEvent, Interaction, SurveyResponse
from patients.choices import ConsentPurpose, ContactSystem, ContactUse, InterpreterNeeded
from patients.matching import phonetic_key
from patients.models import (
    CommunicationConsent,
    ContactPoint,
    Patient,
    PatientIdentifier,
    PatientLanguage,
)
from patients.validators import name_search_key
from referrals import tallies as referral_tallies
from referrals.choices import PRIORITY_RANK, FollowUpKind, ReferralStatus
from referrals.models import FollowUp, Organization, Practitioner, Referral, ReferralEvent
from referrals.validators import npi_check_digit

MRN_PREFIX = "S"
IDENTIFIER_SYSTEM = "urn:example:scale-ehr"
SQLITE_MOST = 50_000
# The heaviest record: a patient seen for years by many services.
HEAVY_INTERACTIONS, HEAVY_REFERRALS = 5_000, 500
PATIENTS_PER_COORDINATOR = 5_500
# Providers referred to: organizations, some out of network, each with practitioners
# (a few of them out of network at an organization that is not).
ORGANIZATIONS, PRACTITIONERS_PER_ORGANIZATION, OUT_OF_NETWORK = 200, 3, 0.15
NAMES_PER_LOCALE = 1_500
YEARS_OF_HISTORY = 3
REPLIED = 0.7  # of inbound contacts, answered on their thread (after 6 hours on average)
# Clinic visits over the years of history (mean a patient; the first one has the most),
# how a past one ended (share), and the patients with one booked in the next 60 days.
CLINIC_VISITS, HEAVY_VISITS = 2, 150
VISIT_OUTCOMES = {
    AppointmentStatus.FULFILLED: 0.88,
    AppointmentStatus.NO_SHOW: 0.05,
    AppointmentStatus.CANCELLED: 0.07,
}
VISIT_AHEAD = 0.1
# A referral's visit in each state of the referral that has one.
REFERRAL_VISIT = {
    ReferralStatus.SCHEDULED: AppointmentStatus.BOOKED,
    ReferralStatus.SEEN: AppointmentStatus.FULFILLED,
    ReferralStatus.CLOSED: AppointmentStatus.FULFILLED,
    ReferralStatus.NO_SHOW: AppointmentStatus.NO_SHOW,
}

# Where referrals end up (share), and the path that led there.
REFERRAL_STATES = [
    (ReferralStatus.CLOSED, 0.55, ["create", "send", "accept", "schedule", "seen", "close"]),
    (ReferralStatus.CANCELLED, 0.08, ["create", "send", "cancel"]),
    (ReferralStatus.DECLINED, 0.04, ["create", "send", "decline"]),
    (ReferralStatus.DRAFT, 0.02, ["create"]),
    (ReferralStatus.SENT, 0.08, ["create", "send"]),
    (ReferralStatus.ACCEPTED, 0.05, ["create", "send", "accept"]),
    (ReferralStatus.SCHEDULED, 0.08, ["create", "send", "accept", "schedule"]),
    (ReferralStatus.NO_SHOW, 0.02, ["create", "send", "accept", "schedule", "no_show"]),
    (ReferralStatus.SEEN, 0.08, ["create", "send", "accept", "schedule", "seen"]),
]
REFERRAL_PATHS = {state: path for state, _, path in REFERRAL_STATES}
STATUS_AFTER = {
    "create": ReferralStatus.DRAFT,
    "send": ReferralStatus.SENT,
    "accept": ReferralStatus.ACCEPTED,
    "schedule": ReferralStatus.SCHEDULED,
    "seen": ReferralStatus.SEEN,
    "close": ReferralStatus.CLOSED,
    "cancel": ReferralStatus.CANCELLED,
    "decline": ReferralStatus.DECLINED,
    "no_show": ReferralStatus.NO_SHOW,
}
# The follow-up the care rules leave for an open referral in each state.
OPEN_FOLLOW_UP = {
    ReferralStatus.SENT: (FollowUpKind.CALLBACK, "Confirm the provider received the referral"),
    ReferralStatus.ACCEPTED: (FollowUpKind.CALLBACK, "Check the appointment was booked"),
    ReferralStatus.SCHEDULED: (FollowUpKind.APPOINTMENT_REMINDER, "Remind of the appointment"),
    ReferralStatus.NO_SHOW: (FollowUpKind.REBOOK, "Rebook the missed appointment"),
    ReferralStatus.SEEN: (FollowUpKind.REPORT_REQUEST, "Request the consult report"),
    ReferralStatus.DECLINED: (FollowUpKind.FIND_PROVIDER, "Find another provider"),
}
# Mean days from the step before to each step of a referral's path.
STEP_DAYS = {"accept": 3, "schedule": 4, "seen": 21, "close": 10, "no_show": 21}
COMPLAINT_PATHS = [
    ("new", ["create"]),
    ("acknowledged", ["create", "acknowledge"]),
    ("investigating", ["create", "acknowledge", "investigate"]),
    ("resolved", ["create", "acknowledge", "investigate", "resolve"]),
    ("closed", ["create", "acknowledge", "investigate", "resolve", "close"]),
]
COMPLAINT_STATUS_AFTER = {
    "create": "new",
    "acknowledge": "acknowledged",
    "investigate": "investigating",
    "resolve": "resolved",
    "close": "closed",
}


@dataclass
class Names:
    """Name pools drawn once from Faker per locale: drawing a million names one Faker
    call at a time would take longer than writing the whole data set."""

    female: list[str]
    male: list[str]
    family: list[str]


class Command(BaseCommand):
    help = "Load the scale data set (1,000,000 patients by default) for the benchmark."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=1_000_000)
        parser.add_argument("--seed", type=int, default=11)

    def handle(self, *args, patients: int, seed: int, **options):
        if patients < 1:
            raise CommandError("--patients must be at least 1.")
        if connection.vendor != "postgresql" and patients > SQLITE_MOST:
            raise CommandError(
                f"On SQLite the scale data set holds at most {SQLITE_MOST:,} patients; "
                "use PostgreSQL (DATABASE_URL) for more."
            )
        if Patient.objects.filter(mrn__startswith=MRN_PREFIX).exists():
            self.stdout.write("The scale data set is already loaded; nothing added.")
            return
        started = time.perf_counter()
        seeder = Seeder(
            random.Random(seed), self._coordinators(patients), seed, self._providers(seed)
        )
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:  # for the indexes built after a load
                    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for model, columns, rows in seeder.tables(patients):
                table_started = time.perf_counter()
                written = write(model, columns, rows)
                self.stdout.write(
                    f"{model._meta.db_table:<34}{written:>12,} rows "
                    f"{time.perf_counter() - table_started:>8.1f} s"
                )
            move_sequences(seeder.models_written)
            # What the triggers keep as rows are written: the worklists' and the metrics'
            # tallies.
            referral_tallies.rebuild()
            contact_tallies.rebuild()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Statistics for the planner, and the visibility map that index-only
                # scans need, as autovacuum would leave them later. VACUUM cannot run
                # in a caller's transaction (a test's): there, the statistics only.
                vacuum = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
                cursor.execute(vacuum)
        self.stdout.write(f"Loaded in {(time.perf_counter() - started) / 60:.1f} min.")

    def _coordinators(self, patients: int) -> list[int]:
        """Coordinators named scale-coordinator-N (no password: an admin sets one)."""
        User = get_user_model()
        group = Group.objects.get(name=Role.COORDINATOR)
        ids = []
        for number in range(1, max(1, patients // PATIENTS_PER_COORDINATOR) + 1):
            user, _ = User.objects.get_or_create(
                username=f"scale-coordinator-{number}",
                defaults={"first_name": "Coordinator", "last_name": str(number)},
            )
            user.groups.add(group)
            ids.append(user.pk)
        return ids

    def _providers(self, seed: int) -> list[tuple[int, int | None]]:
        """The organizations and practitioners referrals go to, as (organization,
        practitioner or None) pairs; NPIs from 2 (the demo's start with 1)."""
        rng = random.Random(seed)
        receivers: list[tuple[int, int | None]] = []
        for number in range(ORGANIZATIONS):
            specialty = SPECIALTIES[number % len(SPECIALTIES)]
            organization, _ = Organization.objects.get_or_create(
                name=f"Scale {specialty} Group {number + 1}",
                defaults={"specialty": specialty, "in_network": rng.random() >= OUT_OF_NETWORK},
            )
            receivers.append((organization.pk, None))
            for place in range(PRACTITIONERS_PER_ORGANIZATION):
                first_nine = f"2{number * PRACTITIONERS_PER_ORGANIZATION + place:08d}"
                in_network = organization.in_network and rng.random() >= OUT_OF_NETWORK / 3
                practitioner, _ = Practitioner.objects.get_or_create(
                    npi=first_nine + str(npi_check_digit(first_nine)),
                    defaults={
                        "family_name": f"Provider {number + 1}-{place + 1}",
                        "given_name": "Scale",
                        "specialty": specialty,
                        "organization": organization,
                        "in_network": in_network,
                    },
                )
                receivers.append((organization.pk, practitioner.pk))
        return receivers


class Seeder:
    """Rows of each table, made with ids given here so that children point at their
    parents without reading them back."""

    def __init__(
        self,
        rng: random.Random,
        coordinators: list[int],
        seed: int,
        receivers: list[tuple[int, int | None]],
    ):
        self.rng = rng
        self.coordinators = coordinators
        self.receivers = receivers
        self.receiver_rng = random.Random(seed)  # the other tables' draws stay as they were
        self.now = timezone.now()
        self.models_written: list[type[models.Model]] = []
        self.names = {}
        for locale, _, _ in LANGUAGES:
            fake = Faker(locale)
            fake.seed_instance(seed)
            self.names[locale] = Names(
                female=list({fake.first_name_female() for _ in range(NAMES_PER_LOCALE)}),
                male=list({fake.first_name_male() for _ in range(NAMES_PER_LOCALE)}),
                family=list({fake.last_name() for _ in range(NAMES_PER_LOCALE)}),
            )
        self.sound = {
            name: phonetic_key(name)
            for names in self.names.values()
            for name in (*names.family, *names.female, *names.male)
        }
        # What the later tables need of each patient: (coordinator, language).
        self.patients: list[tuple[int | None, str]] = []
        # (id, patient, status, when each step of its path happened)
        self.referrals: list[tuple[int, int, str, list[datetime.datetime]]] = []
        self.complaints: list[tuple[int, list[str], datetime.datetime]] = []
        # (referral, patient, status, specialty, booked, visit, practitioner, organization)
        self.referral_visits: list[tuple] = []
        # Read now: during a table's COPY its connection serves nothing else.
        self.service_types = {row.code: row for row in ServiceType.objects.all()}
        self.first_patient = 0

    def first_id(self, model: type[models.Model]) -> int:
        """The id of the first row written to ``model``'s table (read before its COPY
        starts: the connection serves nothing else during one)."""
        self.models_written.append(model)
        return (model._default_manager.aggregate(last=models.Max("pk"))["last"] or 0) + 1

    def before_now(self, days: float) -> datetime.datetime:
        return self.now - datetime.timedelta(days=self.rng.uniform(0, days))

    def tables(self, count: int) -> Iterator[tuple[type[models.Model], Sequence[str], Iterable]]:
        """Each table's rows, parents first; a table's rows are made while they are
        written."""
        self.first_patient = self.first_id(Patient)
        yield Patient, PATIENT_COLUMNS, self.patient_rows(count)
        for model, columns, rows in (
            (ContactPoint, CONTACT_COLUMNS, self.contact_rows),
            (PatientLanguage, LANGUAGE_COLUMNS, self.language_rows),
            (CommunicationConsent, CONSENT_COLUMNS, self.consent_rows),
            (PatientIdentifier, IDENTIFIER_COLUMNS, self.identifier_rows),
            (Interaction, INTERACTION_COLUMNS, self.interaction_rows),
            (Referral, REFERRAL_COLUMNS, self.referral_rows),
            (ReferralEvent, REFERRAL_EVENT_COLUMNS, self.referral_event_rows),
            (FollowUp, FOLLOW_UP_COLUMNS, self.follow_up_rows),
            (Complaint, COMPLAINT_COLUMNS, self.complaint_rows),
            (ComplaintEvent, COMPLAINT_EVENT_COLUMNS, self.complaint_event_rows),
            (SurveyResponse, SURVEY_COLUMNS, self.survey_rows),
            (Appointment, APPOINTMENT_COLUMNS, self.appointment_rows),
        ):
            yield model, columns, rows(self.first_id(model))

    def patient_rows(self, count: int) -> Iterator[tuple]:
        rng = self.rng
        locales = [locale for locale, _, _ in LANGUAGES]
        weights = [share for _, _, share in LANGUAGES]
        tags = {locale: tag for locale, tag, _ in LANGUAGES}
        for pk in range(self.first_patient, self.first_patient + count):
            locale = rng.choices(locales, weights)[0]
            names = self.names[locale]
            sex = rng.choice(("female", "male"))
            given = rng.choice(names.female if sex == "female" else names.male)
            family = rng.choice(names.family)
            # Most patients have a coordinator; the heavy record (the first) has one.
            coordinated = pk == self.first_patient or rng.random() < 0.9
            coordinator = rng.choice(self.coordinators) if coordinated else None
            language = tags[locale]
            interpreter = InterpreterNeeded.NO if language == "en" else InterpreterNeeded.YES
            self.patients.append((coordinator, language))
            created = self.before_now(365 * YEARS_OF_HISTORY)
            yield (
                pk,
                f"{MRN_PREFIX}{pk:09d}",
                family,
                given,
                "",
                "",
                name_search_key(given, "", "", family),
                self.sound[family],
                self.sound[given],
                datetime.date(rng.randint(1930, 2024), rng.randint(1, 12), rng.randint(1, 28)),
                sex,
                "active",
                interpreter,
                "[]",
                "",
                rng.choice((Channel.SMS, Channel.PHONE, Channel.EMAIL)),
                "",
                False,
                1,
                created,
                created,
                coordinator,
                rng.random() < 0.03,
            )

    def contact_rows(self, pk: int) -> Iterator[tuple]:
        rng = self.rng
        for offset in range(len(self.patients)):
            patient = self.first_patient + offset
            yield (pk, ContactSystem.SMS, _phone(patient), ContactUse.MOBILE, 1, patient)
            pk += 1
            if rng.random() < 0.5:
                email = f"p{patient}@example.org"
                yield (pk, ContactSystem.EMAIL, email, ContactUse.HOME, 2, patient)
                pk += 1

    def language_rows(self, pk: int) -> Iterator[tuple]:
        for offset, (_, language) in enumerate(self.patients):
            yield (pk, language, "spoken", True, 1, self.first_patient + offset)
            pk += 1
            if language != "en" and self.rng.random() < 0.3:
                yield (pk, "en", "written", False, 2, self.first_patient + offset)
                pk += 1

    def consent_rows(self, pk: int) -> Iterator[tuple]:
        for offset in range(len(self.patients)):
            captured = self.before_now(365 * YEARS_OF_HISTORY)
            for channel, purpose, status in (
                (Channel.SMS, ConsentPurpose.CARE_COORDINATION, "opt_in"),
                (Channel.SMS, ConsentPurpose.MARKETING, self.rng.choice(("opt_in", "opt_out"))),
            ):
                yield (
                    pk,
                    channel,
                    purpose,
                    status,
                    captured,
                    "in_person",
                    None,
                    self.first_patient + offset,
                )
                pk += 1

    def identifier_rows(self, pk: int) -> Iterator[tuple]:
        for offset in range(len(self.patients)):
            yield (
                pk + offset,
                IDENTIFIER_SYSTEM,
                f"E{self.first_patient + offset}",
                self.first_patient + offset,
            )

    def _how_many(self, offset: int, mean: float, heavy: int) -> int:
        """Most patients have a few, some many (a Pareto tail), the first one ``heavy``."""
        if offset == 0:
            return heavy
        scale = mean / 3  # the mean of a Pareto distribution with shape 1.5 is 3 * scale
        return min(heavy, round(self.rng.paretovariate(1.5) * scale))

    def interaction_rows(self, pk: int) -> Iterator[tuple]:
        """A patient's contacts; most inbound ones are answered on their thread by the
        next contact, hours later, and keep that reply's time."""
        rng = self.rng
        topics = list(Topic)
        channels = list(Channel)
        outcomes = list(Outcome)
        directions = (Direction.INBOUND, Direction.OUTBOUND)
        for offset, (coordinator, language) in enumerate(self.patients):
            waiting: list | None = None  # the inbound contact just made, while unanswered
            for _ in range(self._how_many(offset, 10, HEAVY_INTERACTIONS)):
                if waiting is not None and rng.random() < REPLIED:
                    at = min(
                        self.now, waiting[5] + datetime.timedelta(hours=rng.expovariate(1 / 6))
                    )
                    channel, direction, topic = waiting[1], Direction.OUTBOUND, waiting[4]
                    parent = waiting[0]
                    waiting[-1] = at  # its first reply
                else:
                    at = self.before_now(365 * YEARS_OF_HISTORY)
                    channel, direction = rng.choice(channels), rng.choice(directions)
                    topic, parent = rng.choice(topics), None
                if waiting is not None:
                    yield tuple(waiting)
                interpreter = language not in ("en", "ase") and rng.random() < 0.5
                row = [
                    pk,
                    channel,
                    direction,
                    TOPIC_DEPARTMENT[topic],
                    topic,
                    at,
                    rng.randint(30, 1800),
                    SUMMARIES[topic],
                    rng.choice(outcomes),
                    language,
                    interpreter,
                    language if interpreter else "",
                    "restricted"
                    if topic == Topic.TEST_RESULTS and rng.random() < 0.3
                    else "normal",
                    1,
                    at,
                    at,
                    self.first_patient + offset,
                    coordinator,
                    parent,
                    None,
                ]
                pk += 1
                waiting = row if direction == Direction.INBOUND else None
                if waiting is None:
                    yield tuple(row)
            if waiting is not None:
                yield tuple(waiting)

    def referral_rows(self, pk: int) -> Iterator[tuple]:
        rng = self.rng
        states = [state for state, _, _ in REFERRAL_STATES]
        weights = [share for _, share, _ in REFERRAL_STATES]
        for offset, (coordinator, _) in enumerate(self.patients):
            for _ in range(self._how_many(offset, 2, HEAVY_REFERRALS)):
                status = rng.choices(states, weights)[0]
                closed = status in (ReferralStatus.CLOSED, ReferralStatus.CANCELLED)
                # Open referrals are recent; closed ones spread over the years.
                created = self.before_now(365 * YEARS_OF_HISTORY if closed else 90)
                times = self._step_times(REFERRAL_PATHS[status], created)
                at = dict(zip(REFERRAL_PATHS[status], times, strict=True))
                changed = times[-1]
                sent = at.get("send")
                # A visit is when it was seen or missed; a scheduled one is ahead.
                appointment = at.get("seen") or at.get("no_show")
                if status == ReferralStatus.SCHEDULED:
                    appointment = self.now + datetime.timedelta(days=rng.uniform(1, 45))
                self.referrals.append((pk, self.first_patient + offset, status, times))
                priority = rng.choices(("routine", "urgent", "stat"), (0.8, 0.17, 0.03))[0]
                organization, practitioner = self.receiver_rng.choice(self.receivers)
                specialty = rng.choice(SPECIALTIES)
                if appointment is not None:
                    visit = (at["schedule"], appointment, practitioner, organization)
                    self.referral_visits.append(
                        (pk, self.first_patient + offset, status, specialty, *visit)
                    )
                # The state times and counts the workflow keeps are those of the path.
                yield (
                    pk,
                    specialty,
                    priority,
                    PRIORITY_RANK[priority],
                    status,
                    "Specialist assessment requested by the primary care physician.",
                    appointment,
                    changed.date() if status == "closed" else None,
                    "Consulting specialist" if status == "closed" else "",
                    "Seen; findings in the attached report." if status == "closed" else "",
                    "",
                    sent,
                    changed,
                    at.get("accept"),
                    at.get("schedule"),
                    at.get("seen"),
                    at.get("close"),
                    int("seen" in at),
                    int("no_show" in at),
                    1,
                    created,
                    changed,
                    coordinator,
                    coordinator,
                    self.first_patient + offset,
                    organization,
                    practitioner,
                )
                pk += 1

    def _step_times(self, path: list[str], created: datetime.datetime) -> list[datetime.datetime]:
        """When each step of a referral's path happened: sent two hours after it was
        made, each later step days after the one before (a few days to accept, weeks to
        the visit, a week or two for the report), none after now."""
        times = [created, created + datetime.timedelta(hours=2)][: len(path)]
        for action in path[2:]:
            days = self.rng.expovariate(1 / STEP_DAYS.get(action, 2))
            times.append(times[-1] + datetime.timedelta(days=days))
        return [min(moment, self.now) for moment in times]

    def referral_event_rows(self, pk: int) -> Iterator[tuple]:
        for referral, _, status, times in self.referrals:
            previous = ""
            for action, at in zip(REFERRAL_PATHS[status], times, strict=True):
                to_status = STATUS_AFTER[action]
                yield (pk, action, previous, to_status, at, "", "{}", referral)
                previous = to_status
                pk += 1

    def follow_up_rows(self, pk: int) -> Iterator[tuple]:
        rng = self.rng
        for referral, patient, status, times in self.referrals:
            created = times[0]
            coordinator = self.patients[patient - self.first_patient][0]
            if status in OPEN_FOLLOW_UP:
                kind, title = OPEN_FOLLOW_UP[status]
                open_ = rng.random() < 0.8
                done_at = None if open_ else min(self.now, created + datetime.timedelta(days=3))
            elif rng.random() < 0.3:
                kind, title = FollowUpKind.POST_VISIT_CHECK_IN, "Post-visit check-in call"
                open_, done_at = False, min(self.now, created + datetime.timedelta(days=20))
            else:
                continue
            due = created + datetime.timedelta(days=rng.uniform(1, 14))
            queue = "" if coordinator else Department.CARE_COORDINATION
            yield (
                pk,
                kind,
                title,
                "",
                due,
                queue,
                "medium",
                "open" if open_ else "done",
                "" if open_ else "Done.",
                done_at,
                1,
                created,
                done_at or created,
                coordinator,
                None if open_ else coordinator,
                patient,
                referral,
                "" if kind == FollowUpKind.CALLBACK else kind,
                f"{referral}:{status}",
                "",
                "",
            )
            pk += 1

    def complaint_rows(self, pk: int) -> Iterator[tuple]:
        rng = self.rng
        categories = list(ComplaintCategory)
        for offset in range(len(self.patients)):
            if rng.random() >= 0.02:
                continue
            status, path = rng.choices(COMPLAINT_PATHS, (0.05, 0.05, 0.1, 0.2, 0.6))[0]
            received = self.before_now(365 * YEARS_OF_HISTORY if status == "closed" else 30)
            resolved = status in ("resolved", "closed")
            resolved_at = (
                min(self.now, received + datetime.timedelta(days=5)) if resolved else None
            )
            self.complaints.append((pk, path, received))
            yield (
                pk,
                rng.choice((Channel.PHONE, Channel.EMAIL, Channel.IN_PERSON, Channel.PORTAL)),
                rng.choice(categories),
                rng.choice(list(TOPIC_DEPARTMENT.values())),
                rng.choices(("medium", "high", "urgent"), (0.7, 0.25, 0.05))[0],
                status,
                Department.CONTACT_CENTER,
                "The patient waited on hold and was transferred twice.",
                received,
                received + datetime.timedelta(hours=4) if status != "new" else None,
                resolved_at,
                "Apologized and arranged a call back from the manager." if resolved else "",
                True if resolved else None,
                1,
                received,
                resolved_at or received,
                self.first_patient + offset,
            )
            pk += 1

    def complaint_event_rows(self, pk: int) -> Iterator[tuple]:
        for complaint, path, received in self.complaints:
            previous = ""
            for step, action in enumerate(path):
                to_status = COMPLAINT_STATUS_AFTER[action]
                at = min(self.now, received + datetime.timedelta(hours=4 * step))
                yield (pk, action, previous, to_status, at, "", "{}", complaint)
                previous = to_status
                pk += 1

    def survey_rows(self, pk: int) -> Iterator[tuple]:
        rng = self.rng
        for offset, (_, language) in enumerate(self.patients):
            if rng.random() >= 0.1:
                continue
            nps = min(10, max(0, round(rng.gauss(8, 2))))
            yield (
                pk,
                rng.choice(list(TOPIC_DEPARTMENT.values())),
                rng.choice((Channel.SMS, Channel.EMAIL)),
                nps,
                min(5, max(1, round(nps / 2))),
                "",
                language,
                self.before_now(365),
                self.first_patient + offset,
            )
            pk += 1

    def appointment_rows(self, pk: int) -> Iterator[tuple]:
        """Each booked referral's visit at the provider it went to, as its state says
        (ahead, seen or missed); then each patient's clinic visits over the years, most
        of them kept, and for some one booked ahead."""
        services = self.service_types
        visit = services["specialist-visit"]
        for referral, patient, state, specialty, booked, start, *provider in self.referral_visits:
            status = REFERRAL_VISIT[state]
            if status == AppointmentStatus.BOOKED and self.rng.random() < 0.4:
                status = AppointmentStatus.CONFIRMED
            where = (*provider, specialty, "referral", referral)
            yield self._appointment(pk, patient, visit, start, status, booked, where)
            pk += 1
        clinic = (None, None, "Primary care", "crm", None)
        outcomes, shares = list(VISIT_OUTCOMES), list(VISIT_OUTCOMES.values())
        for offset in range(len(self.patients)):
            patient = self.first_patient + offset
            visits = max(1, self._how_many(offset, CLINIC_VISITS, HEAVY_VISITS))
            starts = sorted(self.before_now(365 * YEARS_OF_HISTORY) for _ in range(visits))
            for number, start in enumerate(starts):
                status = self.rng.choices(outcomes, shares)[0]
                booked = start - datetime.timedelta(days=self.rng.uniform(1, 30))
                service = services["new-patient" if number == 0 else "follow-up"]
                yield self._appointment(pk, patient, service, start, status, booked, clinic)
                pk += 1
            if self.rng.random() < VISIT_AHEAD:
                start = self.now + datetime.timedelta(days=self.rng.uniform(0.5, 60))
                status = self.rng.choice((AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED))
                service = services["follow-up"]
                booked = self.before_now(30)
                yield self._appointment(pk, patient, service, start, status, booked, clinic)
                pk += 1

    def _appointment(
        self,
        pk: int,
        patient: int,
        service: ServiceType,
        start: datetime.datetime,
        status: str,
        booked: datetime.datetime,
        where: tuple,
    ) -> tuple:
        """An appointment's row: a past visit's status changed when it ended, a confirmed
        one's a day after it was booked. ``where``: practitioner, organization,
        department, source and referral."""
        end = start + datetime.timedelta(minutes=service.minutes)
        booked = min(booked, start)
        confirmed = min(booked + datetime.timedelta(days=1), start)
        if status == AppointmentStatus.BOOKED:
            changed = booked
        elif status == AppointmentStatus.CONFIRMED:
            changed = confirmed
        else:
            changed = min(end, self.now)
        return (
            pk,
            patient,
            service.pk,
            "",
            start,
            end,
            "",
            status,
            changed,
            booked,
            None if status == AppointmentStatus.BOOKED else confirmed,
            "",
            1,
            booked,
            changed,
            *where,
        )


def restricted(topic: str, rng: random.Random) -> str:
    """Some test-result contacts are restricted, as staff mark them."""
    return "restricted" if topic == Topic.TEST_RESULTS and rng.random() < 0.3 else "normal"


def _phone(patient: int) -> str:
    """A mobile number per patient, unique, valid, in E.164."""
    return (
        f"+1{AREA_CODES[patient % 8]}{200 + (patient // 10_000) % 800:03d}{patient % 10_000:04d}"
    )


def _columns(names: str) -> list[str]:
    return names.split()


PATIENT_COLUMNS = _columns(
    "id mrn family_name given_name middle_name preferred_name name_search family_key "
    "given_key birth_date administrative_sex status interpreter_needed accessibility_needs "
    "accessibility_notes preferred_channel time_zone do_not_contact version created_at "
    "updated_at care_coordinator_id high_risk"
)
CONTACT_COLUMNS = _columns("id system value use rank patient_id")
LANGUAGE_COLUMNS = _columns("id language mode preferred rank patient_id")
CONSENT_COLUMNS = _columns(
    "id channel purpose status captured_at source effective_from patient_id"
)
IDENTIFIER_COLUMNS = _columns("id system value patient_id")
INTERACTION_COLUMNS = _columns(
    "id channel direction department topic occurred_at duration_seconds summary outcome "
    "language interpreter_used interpreter_language sensitivity version created_at "
    "updated_at patient_id staff_id parent_id first_reply_at"
)
REFERRAL_COLUMNS = _columns(
    "id specialty priority priority_rank status reason appointment_at report_received_on "
    "report_from report_summary report_recommendations sent_at status_changed_at "
    "accepted_at scheduled_at seen_at closed_at visits no_shows version created_at updated_at "
    "coordinator_id created_by_id patient_id receiving_organization_id receiving_practitioner_id"
)
REFERRAL_EVENT_COLUMNS = _columns(
    "id action from_status to_status occurred_at reason details referral_id"
)
FOLLOW_UP_COLUMNS = _columns(
    "id kind title note due_at queue priority status outcome completed_at version created_at "
    "updated_at assigned_to_id completed_by_id patient_id referral_id rule rule_key "
    "contact_channel contact_language"
)
COMPLAINT_COLUMNS = _columns(
    "id channel category department priority status queue description received_at "
    "first_response_at resolved_at resolution_note patient_informed version created_at "
    "updated_at patient_id"
)
COMPLAINT_EVENT_COLUMNS = _columns(
    "id action from_status to_status occurred_at reason details complaint_id"
)
SURVEY_COLUMNS = _columns(
    "id department channel nps_score csat_score comment language received_at patient_id"
)
APPOINTMENT_COLUMNS = _columns(
    "id patient_id service_type_id location start end time_zone status status_changed_at "
    "booked_at confirmed_at external_id version created_at updated_at practitioner_id "
    "organization_id department source referral_id"
)


def write(model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Write ``rows`` (tuples in ``columns`` order) into the model's table, with the
    table's own triggers (the change feed's) off and its plain indexes built after the
    load on PostgreSQL."""
    table = model._meta.db_table
    with (
        connection.cursor() as cursor,
        triggers_off(cursor, table),
        indexes_built_after(cursor, table),
    ):
        return insert_rows(cursor, table, columns, rows)


def move_sequences(written: list[type[models.Model]]) -> None:
    """Past the ids given here, so the next row the application writes gets a new one."""
    if connection.vendor != "postgresql":
        return  # SQLite takes max(rowid) + 1
    with connection.cursor() as cursor:
        for model in written:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {connection.ops.quote_name(table)}))",
                [table],
            )
