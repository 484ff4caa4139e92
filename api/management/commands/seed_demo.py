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

from appointments import services as appointment_services
from appointments.choices import ChangedBy
from appointments.models import ServiceType
from appointments.referral_link import REFERRAL_SERVICE_TYPE
from crm.choices import Channel, Department
from crm.errors import Conflict
from crm.roles import Role
from interactions import services as experience
from interactions.choices import ComplaintCategory, Direction, Outcome, Sensitivity, Topic
from interactions.services import interaction_create
from messaging.choices import MessageAction, MessageStatus
from messaging.models import Message, MessageEvent
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
from referrals.models import FollowUp, ServiceLevelTarget
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
    ("zh_TW", "zh-Hant", 0.03),
    ("pt_BR", "pt", 0.03),
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

# Preferred names people really go by (given name -> nickname).
NICKNAMES = {
    "William": "Bill",
    "Robert": "Bob",
    "Richard": "Rick",
    "James": "Jim",
    "Michael": "Mike",
    "Christopher": "Chris",
    "Daniel": "Dan",
    "Matthew": "Matt",
    "Anthony": "Tony",
    "Joseph": "Joe",
    "Thomas": "Tom",
    "Nicholas": "Nick",
    "Benjamin": "Ben",
    "Jonathan": "Jon",
    "Timothy": "Tim",
    "Elizabeth": "Liz",
    "Jennifer": "Jen",
    "Katherine": "Kate",
    "Kimberly": "Kim",
    "Rebecca": "Becky",
    "Margaret": "Peggy",
    "Patricia": "Pat",
    "Samantha": "Sam",
    "Victoria": "Tori",
    "Jessica": "Jess",
    "Alexandra": "Alex",
    "Deborah": "Deb",
    "Susan": "Sue",
}

# Ad-hoc work staff create by hand; reminders, confirmations and check-ins come from the
# care rules, tied to a referral.
AD_HOC_FOLLOW_UPS = [
    (FollowUpKind.CALLBACK, "Call back about the statement balance", Department.BILLING),
    (FollowUpKind.CALLBACK, "Call back: refill not at the pharmacy", Department.PHARMACY),
    (FollowUpKind.CALLBACK, "Return the patient's voicemail", ""),
    (FollowUpKind.OTHER, "Send the new-patient forms in the preferred language", ""),
    (FollowUpKind.OTHER, "Update insurance card on file", Department.FRONT_DESK),
    (FollowUpKind.CALLBACK, "Explain the lab instructions again", ""),
]

# Share of open items left past their due time: a realistic minority, not the rule.
OVERDUE_SHARE = 0.15

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


def _timeline(rng: random.Random, path: list[str], target, now: datetime, end=None):
    """When each step of a referral happened (creation first) and its appointment time.

    The last step is at ``end`` if given, else placed so that most open referrals are
    inside their service-level target and OVERDUE_SHARE are past it; finished ones ended
    some time in the past."""
    gap = {
        "send": timedelta(hours=rng.uniform(1, 30)),
        "accept": target.accept_within * rng.uniform(0.1, 0.8),
        "decline": target.accept_within * rng.uniform(0.1, 0.8),
        "schedule": target.schedule_within * rng.uniform(0.1, 0.8),
        "seen": timedelta(hours=rng.uniform(1, 4)),  # after the appointment time
        "no_show": timedelta(hours=rng.uniform(2, 24)),
        "close": target.report_within * rng.uniform(0.1, 0.9),
        "cancel": timedelta(days=rng.uniform(1, 10)),
    }
    visit_wait = timedelta(days=rng.uniform(3, 21))
    offsets = [timedelta(0)]
    appointment_offset = None
    for action in path:
        if action == "schedule":
            appointment_offset = offsets[-1] + gap[action] + visit_wait
        if action in ("seen", "no_show"):
            offsets.append(appointment_offset + gap[action])
        else:
            offsets.append(offsets[-1] + gap[action])
    window = {
        "send": target.accept_within,
        "accept": target.schedule_within,
        "seen": target.report_within,
    }.get(path[-1] if path else "")
    if end is not None:
        age = now - end
    elif path and path[-1] in ("close", "decline", "cancel"):
        age = timedelta(days=rng.uniform(1, 45))
    elif path and path[-1] == "schedule":
        # Mostly upcoming visits; some whose time passed without an outcome recorded.
        passed = rng.random() < OVERDUE_SHARE
        age = (
            visit_wait + timedelta(days=rng.uniform(1, 5))
            if passed
            else visit_wait * rng.uniform(0, 0.9)
        )
    elif window is not None:
        overdue = rng.random() < OVERDUE_SHARE
        age = window * (rng.uniform(1.1, 2.5) if overdue else rng.uniform(0.05, 0.8))
    else:
        age = timedelta(hours=rng.uniform(1, 72))
    start = now - age - offsets[-1]
    appointment = start + appointment_offset if appointment_offset is not None else None
    return [start + offset for offset in offsets], appointment


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
        self.referrals_made = 0
        now = timezone.now()
        fakers = {}
        for locale, _, _ in LANGUAGES:
            fakers[locale] = Faker(locale)
            fakers[locale].seed_instance(seed)
        admin = staff["admin"]
        coordinators = [staff["coordinator"], staff["coordinator2"]]

        organizations, practitioners = self._load_directory(rng, fakers["en_US"], admin)

        targets = {t.priority: t for t in ServiceLevelTarget.objects.all()}
        step = max(1, patient_count // 10)
        for number in range(1, patient_count + 1):
            if number % step == 0 or number == patient_count:
                self.stdout.write(f"  patients {number}/{patient_count}")
                self.stdout.flush()
            # Every language at least once, then in the clinic's proportions.
            locale, tag, _ = (
                LANGUAGES[number - 1]
                if number <= len(LANGUAGES)
                else rng.choices(LANGUAGES, weights=[w for *_, w in LANGUAGES])[0]
            )
            patient = self._create_patient(
                rng, fakers[locale], tag, number, coordinators, practitioners, staff
            )
            self._create_interactions(rng, patient, staff, now)
            for _ in range(rng.choice([0, 1, 1, 1, 2])):
                self._create_referral(
                    rng, patient, organizations, practitioners, staff, targets, now
                )
            self._create_follow_ups(rng, patient, staff, now)
            self._create_experience(rng, patient, staff, now)
            self._create_appointments(rng, patient, staff, now)
        self.stdout.write("  working through past-due follow-ups")
        self._work_follow_ups(rng, now)
        self._deliver_past_messages(now)
        self.stdout.write(f"Loaded {patient_count} synthetic patients.")

    def _deliver_past_messages(self, now):
        """Messages whose time has passed went out then, and were delivered a minute
        later (the demo's history); those still ahead (reminders of visits to come) stay
        queued for the worker."""
        past = list(Message.objects.filter(status=MessageStatus.QUEUED, send_after__lte=now))
        events = []
        for message in past:
            sent, delivered = message.send_after, message.send_after + timedelta(minutes=1)
            message.status, message.attempts = MessageStatus.DELIVERED, 1
            message.sent_at, message.delivered_at = sent, delivered
            message.provider_id = f"demo-{message.pk}"
            steps = [
                (MessageAction.CLAIM, MessageStatus.QUEUED, MessageStatus.SENDING, sent),
                (MessageAction.HAND_OFF, MessageStatus.SENDING, MessageStatus.SENT, sent),
                (MessageAction.DELIVER, MessageStatus.SENT, MessageStatus.DELIVERED, delivered),
            ]
            events += [
                MessageEvent(message=message, action=a, from_status=f, to_status=t, occurred_at=at)
                for a, f, t, at in steps
            ]
        Message.objects.bulk_update(
            past, ["status", "attempts", "sent_at", "delivered_at", "provider_id"]
        )
        MessageEvent.objects.bulk_create(events)

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
            preferred_name=NICKNAMES[given] if given in NICKNAMES and rng.random() < 0.6 else "",
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
            # Made-up people, each someone else: a chance look-alike is no duplicate.
            confirm_new_person=True,
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

    def _create_referral(self, rng, patient, organizations, practitioners, staff, targets, now):
        # Every state at least once, then in a clinic's proportions.
        states = list(STATE_WEIGHTS)
        self.referrals_made += 1
        final = (
            states[self.referrals_made - 1]
            if self.referrals_made <= len(states)
            else rng.choices(states, weights=list(STATE_WEIGHTS.values()))[0]
        )
        priority = rng.choices(list(ReferralPriority), weights=[6, 3, 1])[0]
        specialty = rng.choice(SPECIALTIES)
        walk = {
            "rng": rng,
            "patient": patient,
            "priority": priority,
            "coordinator": patient.care_coordinator or staff["coordinator"],
            "organizations": organizations,
            "practitioners": practitioners,
        }
        if final != ReferralStatus.DECLINED or rng.random() < 0.5:
            times, appointment = _timeline(rng, PATHS[final], targets[priority], now)
            self._walk(
                **walk,
                specialty=specialty,
                path=PATHS[final],
                times=times,
                appointment=appointment,
            )
            return
        # Declined, then redirected to another provider, as the declined bucket asks: the
        # new referral's story comes first, the decline just before it started.
        again = rng.choice(
            [
                ReferralStatus.SENT,
                ReferralStatus.ACCEPTED,
                ReferralStatus.SCHEDULED,
                ReferralStatus.CLOSED,
            ]
        )
        new_times, new_appointment = _timeline(rng, PATHS[again], targets[priority], now)
        declined_at = new_times[0] - timedelta(hours=rng.uniform(2, 30))
        times, _ = _timeline(rng, PATHS[final], targets[priority], now, end=declined_at)
        declined = self._walk(**walk, specialty=specialty, path=PATHS[final], times=times)
        self._walk(
            **walk,
            specialty=rng.choice([s for s in SPECIALTIES if s != specialty]),
            path=PATHS[again],
            times=new_times,
            appointment=new_appointment,
            replaces=declined,
        )

    def _walk(
        self,
        *,
        rng,
        patient,
        priority,
        coordinator,
        organizations,
        practitioners,
        specialty,
        path,
        times,
        appointment=None,
        replaces=None,
    ):
        """Create a referral at times[0] and take it through ``path`` at the later times."""
        referral = referral_services.referral_create(
            actor=coordinator,
            patient=patient,
            at=times[0],
            referring_practitioner=patient.primary_care_practitioner,
            receiving_organization=organizations[specialty],
            receiving_practitioner=rng.choice(practitioners[specialty]),
            specialty=specialty,
            priority=priority,
            reason=f"Evaluation requested by primary care ({specialty.lower()}).",
            replaces=replaces,
        )
        for action, at in zip(path, times[1:], strict=True):
            # Staff did the referral's reminders and calls before its next step came.
            self._work_follow_ups(rng, at, referral=referral)
            kwargs = {"referral": referral, "actor": coordinator, "at": at}
            if action in ("decline", "cancel"):
                kwargs["reason"] = {
                    "decline": "Receiver is not taking new patients this quarter.",
                    "cancel": "Patient chose to be seen elsewhere.",
                }[action]
            elif action == "schedule":
                kwargs["appointment_at"] = appointment
            elif action == "close":
                kwargs["report_received_on"] = timezone.localdate(at)
                kwargs["report_from"] = str(referral.receiving_practitioner)
                kwargs["report_summary"] = "Consult completed; findings reviewed with patient."
                kwargs["report_recommendations"] = "Follow up with primary care in 3 months."
            referral = referral_services.TRANSITION_SERVICES[action](**kwargs)
        return referral

    def _create_appointments(self, rng, patient, staff, now):
        """Visits from the clinic's scheduling system: past ones seen, missed or
        cancelled; coming ones booked or confirmed, tomorrow's among them."""
        if not hasattr(self, "service_types"):
            self.service_types = list(ServiceType.objects.exclude(code=REFERRAL_SERVICE_TYPE))
        actor = staff["frontdesk"]
        pushed = {"actor": actor, "by": ChangedBy.INTEGRATION}
        for n in range(rng.choice([0, 1, 1, 2])):
            day = timezone.localdate(now) + timedelta(days=rng.choice([-20, -7, -2, 1, 1, 3, 10]))
            start = timezone.make_aware(
                datetime.combine(day, time(rng.choice(range(8, 17)), rng.choice([0, 30])))
            )
            booked = min(start - timedelta(days=rng.randint(3, 40)), now)
            appointment = appointment_services.appointment_create(
                patient=patient,
                service_type=rng.choice(self.service_types),
                start=start,
                location="Main clinic, second floor",
                source="ehr",
                external_id=f"V{patient.mrn}-{n}",
                at=booked,
                **pushed,
            )
            if start < now:
                step = rng.choices(["fulfil", "no_show", "cancel"], weights=[7, 2, 1])[0]
                when = (
                    start + timedelta(hours=1) if step != "cancel" else start - timedelta(days=1)
                )
                reason = {"reason": "The patient called to cancel."} if step == "cancel" else {}
                appointment_services.TRANSITION_SERVICES[step](
                    appointment=appointment, at=when, **pushed, **reason
                )
            elif rng.random() < 0.4:
                appointment_services.appointment_confirm(
                    appointment=appointment,
                    actor=None,
                    by=ChangedBy.PATIENT,
                    at=min(booked + timedelta(days=1), now),
                    reason="The patient replied C to the reminder.",
                )

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

    def _work_follow_ups(self, rng, now, **scope):
        """Staff have worked through the follow-ups due before ``now``, mostly on time; a
        few from the last week are still open."""
        past_due = FollowUp.objects.filter(status=FollowUpStatus.OPEN, due_at__lt=now, **scope)
        recent = now - timedelta(days=7)
        for follow_up in past_due.select_related("assigned_to", "patient__care_coordinator"):
            if follow_up.due_at > recent and rng.random() < OVERDUE_SHARE * 2:
                continue
            if rng.random() < 0.2:
                done_at = follow_up.due_at + timedelta(hours=rng.uniform(1, 48))
            else:
                done_at = follow_up.due_at - timedelta(hours=rng.uniform(0, 20))
            referral_services.follow_up_complete(
                follow_up=follow_up,
                actor=follow_up.assigned_to or follow_up.patient.care_coordinator,
                outcome="Reached the patient.",
                at=min(max(done_at, follow_up.created_at), now),
            )

    def _create_follow_ups(self, rng, patient, staff, now):
        end_of_today = timezone.make_aware(
            datetime.combine(timezone.localdate(now) + timedelta(days=1), time.min)
        )
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            kind, title, queue = rng.choice(AD_HOC_FOLLOW_UPS)
            created = now - timedelta(days=rng.uniform(0.5, 12))
            due = rng.choice(
                [
                    now + (end_of_today - now) * rng.uniform(0.1, 0.9),
                    created + timedelta(days=rng.uniform(0.5, 3)),
                    now + timedelta(days=rng.uniform(1, 10)),
                ]
            )
            referral_services.follow_up_create(
                actor=patient.care_coordinator or staff["coordinator"],
                patient=patient,
                kind=kind,
                title=title,
                due_at=due,
                assigned_to=None if queue else patient.care_coordinator,
                queue=queue,
                priority=rng.choices(list(FollowUpPriority), weights=[3, 6, 1])[0],
                created_at=created,
            )
