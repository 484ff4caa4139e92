import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from api.management.commands.seed_demo import NICKNAMES
from appointments.models import Appointment
from crm.choices import Channel
from interactions.models import Interaction
from messaging.models import Message
from patients.models import Patient, PatientLanguage
from referrals.choices import FollowUpKind, FollowUpStatus, ReferralStatus
from referrals.models import FollowUp, Referral, ServiceLevelTarget
from referrals.service_levels import overdue_q

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seeded once for the module, in a transaction rolled back after its last test
    (each test's own changes roll back to a savepoint inside it)."""
    output = io.StringIO()
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", patients=80, stdout=output)
        yield output.getvalue()
        transaction.set_rollback(True)


def test_it_shows_its_progress_and_where_to_sign_in(seeded):
    lines = seeded.splitlines()
    assert lines[lines.index("  patients 8/80") + 1] == "  patients 16/80"
    assert "  patients 80/80" in lines
    assert "Sign in at /login/" in seeded


def test_it_loads_patients_in_many_languages(seeded):
    assert Patient.objects.count() == 80
    preferred = set(
        PatientLanguage.objects.filter(preferred=True).values_list("language", flat=True)
    )
    assert {"es", "zh-Hans", "vi", "ar", "tl", "ru", "ko", "ase"} <= preferred
    signers = Patient.objects.filter(languages__language="ase", languages__preferred=True)
    assert signers.exists()
    assert set(signers.values_list("interpreter_needed", flat=True)) == {"yes"}


def test_it_covers_every_channel_and_referral_state(seeded):
    assert set(Interaction.objects.values_list("channel", flat=True)) == set(Channel.values)
    assert set(Referral.objects.values_list("status", flat=True)) == set(ReferralStatus.values)
    assert Referral.objects.filter(events__isnull=True).count() == 0


def test_it_has_appointments_in_every_state_a_day_brings_and_some_tomorrow(seeded):
    statuses = set(Appointment.objects.values_list("status", flat=True))
    assert {"booked", "confirmed", "fulfilled", "noshow", "cancelled"} <= statuses
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert Appointment.objects.filter(start__date=tomorrow, source="ehr").exists()
    assert Appointment.objects.filter(source="referral").exists()


def test_it_has_follow_ups_due_today_and_overdue(seeded):
    now = timezone.now()
    open_ = FollowUp.objects.filter(status="open")
    assert open_.filter(due_at__lt=now).exists()
    assert open_.filter(due_at__date=timezone.localdate()).exists()


def test_running_it_again_adds_nothing(seeded):
    counts = (Patient.objects.count(), Interaction.objects.count(), Referral.objects.count())
    call_command("seed_demo", patients=80, verbosity=0)
    assert (
        Patient.objects.count(),
        Interaction.objects.count(),
        Referral.objects.count(),
    ) == counts


def test_it_creates_one_login_per_role(seeded, django_user_model):
    users = django_user_model.objects.annotate(n=Count("groups")).filter(n__gt=0)
    roles = set(users.values_list("groups__name", flat=True))
    assert roles == {"coordinator", "clinician", "billing", "pharmacy", "front_desk", "admin"}


def test_it_has_complaints_and_survey_answers(seeded):
    from interactions.models import Complaint, SurveyInvitation, SurveyResponse

    assert Complaint.objects.values("status").distinct().count() >= 3
    assert SurveyResponse.objects.filter(invitation__isnull=False).exists()
    assert SurveyInvitation.objects.filter(used_at__isnull=True).exists()


def test_it_looks_like_a_clinics_week_not_a_backlog(seeded):
    """Most work is on time; a realistic minority is overdue."""
    now = timezone.now()
    open_ = FollowUp.objects.filter(status=FollowUpStatus.OPEN)
    overdue = open_.filter(due_at__lt=now).count()
    assert 0 < overdue < 0.3 * open_.count()

    targets = {t.priority: t for t in ServiceLevelTarget.objects.all()}
    sent = Referral.objects.filter(status=ReferralStatus.SENT)
    late = sent.filter(overdue_q(targets, now)).count()
    assert 0 < late < 0.5 * sent.count()

    # Finished follow-ups were done over the past weeks, mostly before they were due.
    done = FollowUp.objects.filter(status=FollowUpStatus.DONE)
    assert done.dates("completed_at", "day").count() > 20
    assert done.filter(completed_at__lte=F("due_at")).count() > 0.6 * done.count()
    assert not done.filter(completed_at__lt=F("created_at")).exists()


def test_its_people_and_work_items_make_sense(seeded):
    nicknames = Patient.objects.exclude(preferred_name="").values_list(
        "given_name", "preferred_name"
    )
    assert nicknames
    assert all(NICKNAMES.get(given) == nickname for given, nickname in nicknames), nicknames
    # Visit confirmations and report requests belong to a referral; reminders and
    # check-in calls to a referral or an appointment.
    referral_kinds = [FollowUpKind.VISIT_CONFIRMATION, FollowUpKind.REPORT_REQUEST]
    assert not FollowUp.objects.filter(kind__in=referral_kinds, referral__isnull=True).exists()
    visit_kinds = [FollowUpKind.APPOINTMENT_REMINDER, FollowUpKind.POST_VISIT_CHECK_IN]
    unlinked = FollowUp.objects.filter(kind__in=visit_kinds, referral__isnull=True)
    assert not unlinked.exclude(rule_key__startswith="appointment:").exists()
    # A declined referral is redirected to another provider now and then.
    assert Referral.objects.filter(replaces__status=ReferralStatus.DECLINED).exists()


def test_messages_due_before_now_went_out_and_later_ones_wait_for_the_worker(seeded):
    now = timezone.now()
    assert Message.objects.filter(status="delivered", delivered_at__lte=now).exists()
    assert not Message.objects.filter(status="queued", send_after__lte=now).exists()
    waiting = Message.objects.filter(status="queued")
    assert waiting.exists() and set(waiting.values_list("rule", flat=True)) <= {
        "appointment_reminder",
        "referral_scheduled",
    }
