import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from crm.choices import Department
from crm.filters import (
    BooleanFilter,
    ChoicesFilter,
    IdFilter,
    IsoDateTimeFilter,
    ModelMultipleChoiceFilter,
)
from patients.models import Patient
from patients.selectors import patients_speaking_q
from referrals import service_levels
from referrals.choices import (
    FollowUpKind,
    FollowUpPriority,
    FollowUpStatus,
    ReferralPriority,
    ReferralStatus,
)
from referrals.models import FollowUp, Organization, Practitioner, Referral

User = get_user_model()


class OrganizationFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", max_length=200)
    npi = django_filters.CharFilter(max_length=10)
    specialty = django_filters.CharFilter(lookup_expr="iexact", max_length=100)
    in_network = BooleanFilter()
    accepting_new_patients = BooleanFilter()
    active = BooleanFilter()

    class Meta:
        model = Organization
        fields = []


class PractitionerFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(method="filter_name", max_length=200)
    npi = django_filters.CharFilter(max_length=10)
    specialty = django_filters.CharFilter(lookup_expr="iexact", max_length=100)
    language = django_filters.CharFilter(
        method="filter_language", max_length=35, label="BCP-47 tag spoken."
    )

    organization = django_filters.ModelChoiceFilter(queryset=Organization.objects.all())
    in_network = BooleanFilter()
    accepting_new_patients = BooleanFilter()
    active = BooleanFilter()

    class Meta:
        model = Practitioner
        fields = []

    def filter_name(self, queryset, name, value):
        for word in value.split():
            queryset = queryset.filter(
                Q(family_name__icontains=word) | Q(given_name__icontains=word)
            )
        return queryset

    def filter_language(self, queryset, name, value):
        # Languages are a short JSON list; match the tag as a whole JSON string.
        return queryset.filter(languages__icontains=f'"{value}"')


class ReferralFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    status = ChoicesFilter(choices=ReferralStatus.choices)
    priority = ChoicesFilter(choices=ReferralPriority.choices)
    receiving_organization = django_filters.ModelChoiceFilter(queryset=Organization.objects.all())
    receiving_practitioner = django_filters.ModelChoiceFilter(queryset=Practitioner.objects.all())
    coordinator = ModelMultipleChoiceFilter(
        queryset=User.objects.all(), label="One or more coordinators (repeat the parameter)."
    )
    specialty = django_filters.CharFilter(lookup_expr="iexact", max_length=100)
    overdue = BooleanFilter(
        method="filter_overdue", label="Current step past its service-level target."
    )
    sent_after = IsoDateTimeFilter(field_name="sent_at", lookup_expr="gte")
    sent_before = IsoDateTimeFilter(field_name="sent_at", lookup_expr="lt")
    patient_language = django_filters.CharFilter(method="filter_patient_language", max_length=35)

    class Meta:
        model = Referral
        fields = []

    def filter_overdue(self, queryset, name, value):
        condition = service_levels.overdue_q(service_levels.targets(), timezone.now())
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_patient_language(self, queryset, name, value):
        return queryset.filter(patient__in=Patient.objects.filter(patients_speaking_q(value)))


class FollowUpFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    assigned_to = ModelMultipleChoiceFilter(queryset=User.objects.all())
    queue = ChoicesFilter(choices=Department.choices)
    status = ChoicesFilter(choices=FollowUpStatus.choices)
    kind = ChoicesFilter(choices=FollowUpKind.choices)
    priority = ChoicesFilter(choices=FollowUpPriority.choices)
    referral = IdFilter(field_name="referral_id")
    due_after = IsoDateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = IsoDateTimeFilter(field_name="due_at", lookup_expr="lt")
    overdue = BooleanFilter(method="filter_overdue", label="Open and past due.")

    class Meta:
        model = FollowUp
        fields = []

    def filter_overdue(self, queryset, name, value):
        condition = {"status": FollowUpStatus.OPEN, "due_at__lt": timezone.now()}
        return queryset.filter(**condition) if value else queryset.exclude(**condition)
