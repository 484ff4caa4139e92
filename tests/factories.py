"""Factories for synthetic test data. Names and numbers are made up."""

import datetime

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from crm.choices import Channel, Department
from interactions.choices import Direction, Topic
from interactions.models import Interaction
from patients.models import ContactPoint, Patient, PatientLanguage
from referrals.models import FollowUp, Organization, Practitioner, Referral, ReferralEvent
from referrals.validators import npi_check_digit


def valid_npi(n: int) -> str:
    first_nine = f"1{n:08d}"
    return first_nine + str(npi_check_digit(first_nine))


class UserFactory(factory.django.DjangoModelFactory):
    """A staff member; the same username gives the same user, so factories that need
    "some user" share one instead of creating (and hashing a password for) each."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or []:
            self.groups.add(Group.objects.get_or_create(name=role)[0])


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    mrn = factory.Sequence(lambda n: f"T{n:08d}")
    family_name = factory.Faker("last_name")
    given_name = factory.Faker("first_name")
    birth_date = datetime.date(1970, 5, 17)


class ContactPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactPoint

    patient = factory.SubFactory(PatientFactory)
    system = "phone"
    value = factory.Sequence(lambda n: f"+1617555{n % 100 + 100:04d}")


class LanguageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatientLanguage

    patient = factory.SubFactory(PatientFactory)
    language = "es"
    preferred = True


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Specialty Clinic {n}")
    npi = factory.Sequence(lambda n: valid_npi(50_000 + n))
    specialty = "Cardiology"


class PractitionerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practitioner

    npi = factory.Sequence(lambda n: valid_npi(n))
    family_name = factory.Faker("last_name")
    given_name = factory.Faker("first_name")
    specialty = "Cardiology"
    organization = factory.SubFactory(OrganizationFactory)


class ReferralFactory(factory.django.DjangoModelFactory):
    """A draft referral; move it with the services, or pass status and its fields."""

    class Meta:
        model = Referral
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory)
    referring_practitioner = factory.SubFactory(PractitionerFactory, specialty="Family medicine")
    receiving_organization = factory.SubFactory(OrganizationFactory)
    receiving_practitioner = factory.SubFactory(
        PractitionerFactory, organization=factory.SelfAttribute("..receiving_organization")
    )
    coordinator = factory.SubFactory(UserFactory, username="referral-coordinator")
    specialty = "Cardiology"
    reason = "Chest pain on exertion."

    @factory.post_generation
    def created_event(self, create, extracted, **kwargs):
        if create:
            ReferralEvent.objects.create(
                referral=self, action="create", to_status="draft", occurred_at=self.created_at
            )


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    patient = factory.SubFactory(PatientFactory)
    channel = Channel.PHONE
    direction = Direction.INBOUND
    department = Department.CONTACT_CENTER
    topic = Topic.GENERAL
    occurred_at = factory.LazyFunction(timezone.now)
    summary = "Asked about clinic hours."


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUp

    patient = factory.SubFactory(PatientFactory)
    title = "Call back"
    due_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=1))
    queue = Department.FRONT_DESK
