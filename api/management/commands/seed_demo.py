"""Load the synthetic demo data set and one login per staff role. Safe to run again.

Everything here is made up with Faker from a fixed seed: no real person is described.
"""

import random
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from faker import Faker

from crm.choices import Channel, Department
from crm.errors import Conflict
from crm.roles import Role
from interactions import services as experience
from interactions.choices import ComplaintCategory, Direction, Outcome, Sensitivity, Topic
from interactions.services import interaction_create
from patients.choices import (
    AccessibilityNeed,
    AdministrativeSex,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    ContactSystem,
    ContactUse,
    InterpreterNeeded,
    LanguageMode,
)
from patients.contact import contact_policy
from patients.models import Patient
from patients.services import patient_create
from referrals import services as referral_services
from referrals.choices import (
    FollowUpKind,
    FollowUpPriority,
    FollowUpStatus,
    ReferralPriority,
    ReferralStatus,
)
from referrals.models import FollowUp
from referrals.validators import npi_check_digit

DEMO_PASSWORD = "demo-pass-2026"
DEMO_MRN_PREFIX = "D"
PATIENT_COUNT = 240

# (faker locale, BCP-47 tag, share of patients)
LANGUAGES = [
    ("en_US", "en", 0.30),
    ("es_MX", "es", 0.20),
    ("zh_CN", "zh-Hans", 0.08),
    ("vi_VN", "vi", 0.07),
    ("ar_SA", "ar", 0.07),
    ("fil_PH", "tl", 0.07),
    ("ru_RU", "ru", 0.07),
    ("ko_KR", "ko", 0.07),
    ("en_US", "ase", 0.07),  # American Sign Language users
]

STAFF = [
    ("coordinator", "Casey", "Morgan", Role.COORDINATOR),
    ("coordinator2", "Jordan", "Reyes", Role.COORDINATOR),
    ("clinician", "Priya", "Natarajan", Role.CLINICIAN),
    ("billing", "Sam", "Okafor", Role.BILLING),
    ("pharmacy", "Lee", "Alvarez", Role.PHARMACY),
    ("frontdesk", "Alex", "Kim", Role.FRONT_DESK),
    ("admin", "Robin", "Fischer", Role.ADMIN),
]

SPECIALTIES = [
    "Cardiology",
    "Dermatology",
    "Orthopedics",
    "Gastroenterology",
    "Behavioral health",
    "Endocrinology",
    "Neurology",
    "Ophthalmology",
]

AREA_CODES = ["617", "212", "415", "312", "206", "713", "305", "404"]

SUMMARIES = {
    Topic.SCHEDULING: "Patient asked to move the appointment to a morning slot.",
    Topic.BILLING: "Question about a statement balance; explained the copay.",
    Topic.PHARMACY: "Refill request for a maintenance prescription.",
    Topic.TEST_RESULTS: "Called to ask whether lab results are in.",
    Topic.REFERRAL: "Discussed the specialist referral and next steps.",
    Topic.COMPLAINT: "Unhappy with the wait time at the last visit.",
    Topic.EDUCATION: "Sent diet and exercise material in the preferred language.",
    Topic.GENERAL: "General question about clinic hours.",
}

TOPIC_DEPARTMENT = {
    Topic.SCHEDULING: Department.FRONT_DESK,
    Topic.BILLING: Department.BILLING,
    Topic.PHARMACY: Department.PHARMACY,
    Topic.TEST_RESULTS: Department.CLINICAL,
    Topic.REFERRAL: Department.CARE_COORDINATION,
    Topic.COMPLAINT: Department.CONTACT_CENTER,
    Topic.EDUCATION: Department.CLINICAL,
    Topic.GENERAL: Department.CONTACT_CENTER,
}

# The path each referral walks, by the state it should end in.
PATHS = {
    ReferralStatus.DRAFT: [],
    ReferralStatus.SENT: ["send"],
    ReferralStatus.ACCEPTED: ["send", "accept"],
    ReferralStatus.DECLINED: ["send", "decline"],
    ReferralStatus.SCHEDULED: ["send", "accept", "schedule"],
    ReferralStatus.NO_SHOW: ["send", "accept", "schedule", "no_show"],
    ReferralStatus.SEEN: ["send", "accept", "schedule", "seen"],
    ReferralStatus.CLOSED: ["send", "accept", "schedule", "seen", "close"],
    ReferralStatus.CANCELLED: ["send", "cancel"],
}
STATE_WEIGHTS = {
    ReferralStatus.DRAFT: 1,
    ReferralStatus.SENT: 3,
    ReferralStatus.ACCEPTED: 3,
    ReferralStatus.DECLINED: 1,
    ReferralStatus.SCHEDULED: 3,
    ReferralStatus.NO_SHOW: 1,
    ReferralStatus.SEEN: 2,
    ReferralStatus.CLOSED: 4,
    ReferralStatus.CANCELLED: 1,
}


def _npi(rng: random.Random) -> str:
    first_nine = "1" + "".join(str(rng.randrange(10)) for _ in range(8))
    return first_nine + str(npi_check_digit(first_nine))


def _phone(rng: random.Random) -> str:
    # 555-0100..0199 are reserved for fiction in the North American plan.
    return f"({rng.choice(AREA_CODES)}) 555-01{rng.randrange(100):02d}"


class Command(BaseCommand):
    help = "Load the synthetic demo data set and demo logins (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=PATIENT_COUNT)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, **options):
        staff = self._ensure_staff()
        if Patient.objects.filter(mrn__startswith=DEMO_MRN_PREFIX).exists():
            self.stdout.write("Demo data already loaded; nothing added.")
        else:
            with transaction.atomic():
                self._load(staff, options["patients"], options["seed"])
        self._print_logins()

    def _ensure_staff(self) -> dict[str, object]:
        User = get_user_model()
        users = {}
        for username, first, last, role in STAFF:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.is_staff = role == Role.ADMIN
                user.is_superuser = role == Role.ADMIN
                user.save()
            user.groups.add(Group.objects.get(name=role))
            users[username] = user
        return users

    def _print_logins(self) -> None:
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
        for username, _, _, role in STAFF:
            self.stdout.write(f"  {username:<13} {Role(role).label}")
        self.stdout.write(
            "Sign in at /login/ on the running server (make run: http://127.0.0.1:8000/login/).\n"
        )

    def _load(self, staff: dict, patient_count: int, seed: int) -> None:
        rng = random.Random(seed)
        now = timezone.now()
        fakers = {}
        for locale, _, _ in LANGUAGES:
            fakers[locale] = Faker(locale)
            fakers[locale].seed_instance(seed)
        admin = staff["admin"]
        coordinators = [staff["coordinator"], staff["coordinator2"]]

        organizations, practitioners = self._load_directory(rng, fakers["en_US"], admin)

        for number in range(1, patient_count + 1):
            locale, tag, _ = rng.choices(LANGUAGES, weights=[w for *_, w in LANGUAGES])[0]
            patient = self._create_patient(
                rng, fakers[locale], tag, number, coordinators, practitioners, staff
            )
            self._create_interactions(rng, patient, staff, now)
            for _ in range(rng.choice([0, 1, 1, 1, 2])):
                self._create_referral(rng, patient, organizations, practitioners, staff, now)
            self._create_follow_ups(rng, patient, staff, now)
            self._create_experience(rng, patient, staff, now)
        self._work_follow_ups(rng, now)
        self.stdout.write(f"Loaded {patient_count} synthetic patients.")

    def _load_directory(self, rng, fake, actor):
        organizations = {}
        practitioners = {}
        for specialty in SPECIALTIES:
            organization = referral_services.organization_create(
                actor=actor,
                name=f"{fake.last_name()} {specialty} Associates",
                npi=_npi(rng),
                specialty=specialty,
                in_network=rng.random() < 0.8,
                accepting_new_patients=rng.random() < 0.9,
                phone=_phone(rng),
                address=fake.address().replace("\n", ", ")[:300],
            )
            organizations[specialty] = organization
            practitioners[specialty] = [
                referral_services.practitioner_create(
                    actor=actor,
                    npi=_npi(rng),
                    family_name=fake.last_name(),
                    given_name=fake.first_name(),
                    specialty=specialty,
                    organization=organization,
                    in_network=organization.in_network,
                    languages=["en", *rng.sample(["es", "zh-Hans", "vi", "ar", "ru"], 1)],
                )
                for _ in range(2)
            ]
        practitioners["Family medicine"] = [
            referral_services.practitioner_create(
                actor=actor,
                npi=_npi(rng),
                family_name=fake.last_name(),
                given_name=fake.first_name(),
                specialty="Family medicine",
                languages=["en", "es"],
            )
            for _ in range(3)
        ]
        return organizations, practitioners

    def _create_patient(self, rng, fake, tag, number, coordinators, practitioners, staff):
        sex = rng.choice([AdministrativeSex.FEMALE, AdministrativeSex.MALE])
        given = (
            fake.first_name_female()
            if sex == AdministrativeSex.FEMALE
            else (fake.first_name_male())
        )
        languages = [{"language": tag, "mode": LanguageMode.SPOKEN, "preferred": True, "rank": 1}]
        accessibility = []
        if tag == "ase":
            interpreter = InterpreterNeeded.YES
            accessibility = [AccessibilityNeed.SIGN_LANGUAGE_INTERPRETER]
            languages.append(
                {"language": "en", "mode": LanguageMode.WRITTEN, "preferred": False, "rank": 2}
            )
        elif tag == "en":
            interpreter = rng.choice(
                [InterpreterNeeded.NO, InterpreterNeeded.NO, InterpreterNeeded.UNKNOWN]
            )
        else:
            interpreter = rng.choice(
                [InterpreterNeeded.YES, InterpreterNeeded.YES, InterpreterNeeded.NO]
            )
            if interpreter == InterpreterNeeded.NO:
                languages.append(
                    {"language": "en", "mode": LanguageMode.SPOKEN, "preferred": False, "rank": 2}
                )
        if rng.random() < 0.08:
            accessibility.append(
                rng.choice(
                    [
                        AccessibilityNeed.LARGE_PRINT,
                        AccessibilityNeed.TTY_RELAY,
                        AccessibilityNeed.COGNITIVE_SUPPORT,
                    ]
                )
            )
        contact_points = [
            {
                "system": ContactSystem.PHONE,
                "value": _phone(rng),
                "use": ContactUse.MOBILE,
                "rank": 1,
            },
        ]
        if rng.random() < 0.6:
            contact_points.append(
                {
                    "system": ContactSystem.EMAIL,
                    "value": f"patient{number}@example.org",
                    "use": ContactUse.HOME,
                    "rank": 2,
                }
            )
        consents = [
            {
                "channel": Channel.SMS,
                "purpose": ConsentPurpose.APPOINTMENT_REMINDERS,
                "status": ConsentStatus.OPT_IN,
                "source": ConsentSource.PORTAL,
            },
            {
                "channel": Channel.EMAIL,
                "purpose": ConsentPurpose.MARKETING,
                "status": rng.choice([ConsentStatus.OPT_IN, ConsentStatus.OPT_OUT]),
                "source": ConsentSource.PAPER_FORM,
            },
        ]
        if rng.random() < 0.15:
            consents.append(
                {
                    "channel": Channel.SMS,
                    "purpose": ConsentPurpose.SURVEYS,
                    "status": ConsentStatus.OPT_OUT,
                    "source": ConsentSource.PHONE,
                }
            )
        window = rng.choice(
            [None, (time(9), time(12)), (time(13), time(17)), (time(17), time(19))]
        )
        return patient_create(
            actor=staff["frontdesk"],
            mrn=f"{DEMO_MRN_PREFIX}{number:06d}",
            family_name=fake.last_name(),
            given_name=given,
            preferred_name=rng.choice(["", "", "", given[:3]]) if tag == "en" else "",
            birth_date=fake.date_of_birth(minimum_age=1, maximum_age=95),
            administrative_sex=sex,
            interpreter_needed=interpreter,
            accessibility_needs=accessibility,
            preferred_channel=rng.choice(
                [Channel.PHONE, Channel.SMS, Channel.PORTAL, Channel.EMAIL]
            ),
            contact_window_start=window[0] if window else None,
            contact_window_end=window[1] if window else None,
            time_zone=rng.choice(["America/New_York", "America/Chicago", "America/Los_Angeles"]),
            do_not_contact=rng.random() < 0.03,
            care_coordinator=rng.choice(coordinators),
            primary_care_practitioner=rng.choice(practitioners["Family medicine"]),
            identifiers=[{"system": "urn:demo:ehr", "value": f"EHR-{number:06d}"}],
            contact_points=contact_points,
            languages=languages,
            consents=consents,
        )

    def _create_interactions(self, rng, patient, staff, now):
        channels = list(Channel)
        previous = None
        for _ in range(rng.randint(2, 8)):
            topic = rng.choice(list(Topic))
            department = TOPIC_DEPARTMENT[topic]
            direction = rng.choice([Direction.INBOUND, Direction.OUTBOUND])
            restricted = topic == Topic.TEST_RESULTS and rng.random() < 0.3
            author = {
                Department.BILLING: staff["billing"],
                Department.PHARMACY: staff["pharmacy"],
                Department.CLINICAL: staff["clinician"],
                Department.FRONT_DESK: staff["frontdesk"],
            }.get(department, patient.care_coordinator or staff["coordinator"])
            interpreter = patient.interpreter_needed == InterpreterNeeded.YES
            language = patient.languages.first().language
            try:
                previous = interaction_create(
                    actor=author,
                    patient=patient,
                    channel=rng.choice(channels),
                    direction=direction,
                    department=department,
                    topic=topic,
                    occurred_at=now - timedelta(days=rng.uniform(0, 120)),
                    duration_seconds=rng.randint(60, 1200),
                    summary=(
                        "Behavioral health check-in; details in the clinical record."
                        if restricted
                        else SUMMARIES[topic]
                    ),
                    outcome=rng.choice(list(Outcome)),
                    language=language,
                    interpreter_used=interpreter,
                    interpreter_language=language if interpreter else "",
                    sensitivity=Sensitivity.RESTRICTED if restricted else Sensitivity.NORMAL,
                    parent=previous if previous and rng.random() < 0.2 else None,
                )
            except Conflict:
                continue  # the patient opted out of that contact: real staff would not log it

    def _create_referral(self, rng, patient, organizations, practitioners, staff, now):
        specialty = rng.choice(SPECIALTIES)
        target = rng.choices(list(STATE_WEIGHTS), weights=list(STATE_WEIGHTS.values()))[0]
        priority = rng.choices(list(ReferralPriority), weights=[6, 3, 1])[0]
        coordinator = patient.care_coordinator or staff["coordinator"]
        clock = now - timedelta(days=rng.uniform(1, 60))
        referral = referral_services.referral_create(
            actor=coordinator,
            patient=patient,
            at=clock,
            referring_practitioner=patient.primary_care_practitioner,
            receiving_organization=organizations[specialty],
            receiving_practitioner=rng.choice(practitioners[specialty]),
            specialty=specialty,
            priority=priority,
            reason=f"Evaluation requested by primary care ({specialty.lower()}).",
        )
        for action in PATHS[target]:
            clock = min(clock + timedelta(hours=rng.uniform(2, 24 * 6)), now)
            kwargs = {"referral": referral, "actor": coordinator, "at": clock}
            if action in ("decline", "cancel"):
                kwargs["reason"] = {
                    "decline": "Receiver is not taking new patients this quarter.",
                    "cancel": "Patient chose to be seen elsewhere.",
                }[action]
            elif action == "schedule":
                visit_offset = (
                    rng.uniform(-10, 20)
                    if target == ReferralStatus.SCHEDULED
                    else (rng.uniform(1, 5))
                )
                appointment = clock + timedelta(days=visit_offset)
                if target != ReferralStatus.SCHEDULED:
                    # Its outcome is recorded next: the visit has already happened.
                    appointment = min(appointment, now - timedelta(hours=1))
                elif appointment < referral.sent_at:
                    appointment = referral.sent_at + timedelta(days=1)
                kwargs["appointment_at"] = max(appointment, referral.sent_at)
            elif action in ("seen", "no_show"):
                clock = min(max(clock, referral.appointment_at), now)
                kwargs["at"] = clock
            elif action == "close":
                kwargs["report_received_on"] = timezone.localdate(clock)
                kwargs["report_from"] = str(referral.receiving_practitioner)
                kwargs["report_summary"] = "Consult completed; findings reviewed with patient."
                kwargs["report_recommendations"] = "Follow up with primary care in 3 months."
            referral = referral_services.TRANSITION_SERVICES[action](**kwargs)

    def _create_experience(self, rng, patient, staff, now):
        """Survey links (most answered), and now and then a complaint or a bad review."""
        actor = staff["frontdesk"]
        for _ in range(rng.choice([0, 1, 1, 2])):
            sent = now - timedelta(days=rng.uniform(1, 120))
            channel = rng.choice([Channel.SMS, Channel.EMAIL, Channel.PORTAL])
            if not contact_policy(
                patient, purpose=ConsentPurpose.SURVEYS, channel=channel, at=sent
            ).allowed:
                continue
            _, token = experience.survey_invite(
                actor=actor,
                patient=patient,
                channel=channel,
                department=rng.choice(list(TOPIC_DEPARTMENT.values())),
                at=sent,
            )
            if rng.random() < 0.6:
                nps = rng.choices(range(11), weights=[1, 1, 1, 1, 2, 2, 3, 6, 10, 14, 16])[0]
                experience.survey_answer(
                    token=token,
                    nps_score=nps,
                    csat_score=rng.choice([None, max(1, min(5, round(nps / 2)))]),
                    comment=rng.choice(["", "", "Friendly staff.", "Long wait on the phone."]),
                    now=min(sent + timedelta(hours=rng.uniform(1, 72)), now),
                )
        if rng.random() < 0.15:
            self._create_complaint(rng, patient, staff, now)

    def _create_complaint(self, rng, patient, staff, now):
        received = now - timedelta(days=rng.uniform(0.2, 90))
        channel = rng.choice([Channel.PHONE, Channel.PORTAL, Channel.EMAIL, Channel.SOCIAL])
        category = rng.choice(list(ComplaintCategory))
        owner = staff["coordinator"] if rng.random() < 0.3 else None
        complaint = experience.complaint_create(
            actor=staff["frontdesk"],
            patient=patient,
            channel=channel,
            category=category,
            department=rng.choice(list(TOPIC_DEPARTMENT.values())),
            owner=owner,
            description=f"Patient unhappy about {ComplaintCategory(category).label.lower()}.",
            at=received,
        )
        clock = received
        steps = rng.choice(
            [
                [],
                ["acknowledge"],
                ["acknowledge", "investigate"],
                ["acknowledge", "resolve"],
                ["investigate", "resolve", "close"],
            ]
        )
        for step in steps:
            clock = min(clock + timedelta(hours=rng.uniform(1, 120)), now)
            extra = (
                {"resolution_note": "Apologised and fixed the cause.", "patient_informed": True}
                if step == "resolve"
                else {}
            )
            complaint = experience.COMPLAINT_TRANSITION_SERVICES[step](
                complaint=complaint, actor=staff["coordinator"], at=clock, **extra
            )
        if (
            channel == Channel.SOCIAL
            and contact_policy(
                patient, purpose=ConsentPurpose.CARE_COORDINATION, channel=channel, at=now
            ).allowed
        ):
            experience.interaction_create(
                actor=staff["frontdesk"],
                patient=patient,
                channel=Channel.SOCIAL,
                direction=Direction.OUTBOUND,
                department=Department.CONTACT_CENTER,
                topic=Topic.COMPLAINT,
                complaint=complaint,
                occurred_at=min(received + timedelta(hours=3), now),
                summary="We are sorry to read this. Please call our patient line so we can help.",
            )

    def _work_follow_ups(self, rng, now):
        """Staff have worked through most past-due follow-ups, some of them late."""
        past_due = FollowUp.objects.filter(status=FollowUpStatus.OPEN, due_at__lt=now)
        for follow_up in past_due.select_related("assigned_to"):
            if rng.random() < 0.3:
                continue
            if rng.random() < 0.25:
                done_at = follow_up.due_at + timedelta(hours=rng.uniform(1, 48))
            else:
                done_at = follow_up.due_at - timedelta(hours=rng.uniform(0, 20))
            referral_services.follow_up_complete(
                follow_up=follow_up,
                actor=follow_up.assigned_to,
                outcome="Reached the patient.",
                at=min(max(done_at, follow_up.created_at), now),
            )

    def _create_follow_ups(self, rng, patient, staff, now):
        end_of_today = timezone.make_aware(
            datetime.combine(timezone.localdate(now) + timedelta(days=1), time.min)
        )
        later_today = now + (end_of_today - now) / 2
        for due in rng.sample(
            [
                later_today,
                now - timedelta(days=rng.randint(1, 10)),
                now + timedelta(days=rng.randint(1, 14)),
            ],
            k=rng.choice([0, 1, 1, 2]),
        ):
            kind = rng.choice(
                [
                    FollowUpKind.CALLBACK,
                    FollowUpKind.POST_VISIT_CHECK_IN,
                    FollowUpKind.APPOINTMENT_REMINDER,
                ]
            )
            queue_item = rng.random() < 0.3
            referral_services.follow_up_create(
                actor=patient.care_coordinator or staff["coordinator"],
                patient=patient,
                kind=kind,
                title=FollowUpKind(kind).label,
                due_at=due,
                assigned_to=None if queue_item else patient.care_coordinator,
                queue=rng.choice([Department.BILLING, Department.PHARMACY, Department.FRONT_DESK])
                if queue_item
                else "",
                priority=rng.choice(list(FollowUpPriority)),
            )
