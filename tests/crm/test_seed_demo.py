import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from crm.choices import Channel
from interactions.models import Interaction
from patients.models import Patient, PatientLanguage
from referrals.choices import ReferralStatus
from referrals.models import FollowUp, Referral

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seeded once for the module, in a transaction rolled back after its last test
    (each test's own changes roll back to a savepoint inside it)."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", patients=80, verbosity=0)
        yield
        transaction.set_rollback(True)


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
