import django_filters
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q

from crm.errors import InvalidInput
from crm.filters import BooleanFilter, ChoicesFilter, DateFilter, IdFilter
from patients.choices import CandidateStatus, InterpreterNeeded, PatientStatus
from patients.models import DuplicateCandidate, EmergencyAccess, Patient, PatientIdentifier
from patients.selectors import (
    patient_name_search,
    patient_search,
    patients_speaking_q,
    patients_with_phone_q,
)
from patients.validators import normalize_phone


class PatientFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q",
        max_length=200,
        label="Search as you type: name words, MRN, birth date (YYYY-MM-DD) or phone.",
    )
    name = django_filters.CharFilter(method="filter_name", max_length=200)
    mrn = django_filters.CharFilter(field_name="mrn", lookup_expr="iexact", max_length=32)
    birth_date = DateFilter()
    phone = django_filters.CharFilter(method="filter_phone", max_length=40, label="Any format.")
    language = django_filters.CharFilter(
        method="filter_language", max_length=35, label="BCP-47 tag; zh also finds zh-Hans."
    )
    identifier = django_filters.CharFilter(
        method="filter_identifier", max_length=301, label="system|value"
    )
    status = ChoicesFilter(choices=PatientStatus.choices)
    interpreter_needed = django_filters.ChoiceFilter(choices=InterpreterNeeded.choices)
    care_coordinator = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())

    class Meta:
        model = Patient
        fields = []

    def filter_name(self, queryset, name, value):
        return patient_name_search(queryset, value)

    def filter_phone(self, queryset, name, value):
        try:
            e164 = normalize_phone(value)
        except ValidationError as exc:
            raise InvalidInput(
                "Some fields are not valid.", errors={"phone": exc.messages}
            ) from None
        return queryset.filter(patients_with_phone_q(e164))

    def filter_language(self, queryset, name, value):
        return queryset.filter(patients_speaking_q(value))

    def filter_identifier(self, queryset, name, value):
        system, _, identifier = value.rpartition("|")
        matches = PatientIdentifier.objects.filter(value=identifier)
        if system:
            matches = matches.filter(system=system)
        return queryset.filter(pk__in=matches.values("patient_id"))

    def filter_q(self, queryset, name, value):
        return patient_search(queryset, value)


class EmergencyAccessFilterSet(django_filters.FilterSet):
    reviewed = BooleanFilter(
        method="filter_reviewed", label="true: reviewed grants; false: those still flagged."
    )
    patient = django_filters.NumberFilter(field_name="patient_id", min_value=1)
    user = django_filters.NumberFilter(field_name="user_id", min_value=1)

    class Meta:
        model = EmergencyAccess
        fields = []

    def filter_reviewed(self, queryset, name, value):
        return queryset.filter(reviewed_at__isnull=not value)


class DuplicateCandidateFilterSet(django_filters.FilterSet):
    status = ChoicesFilter(choices=CandidateStatus.choices)
    patient = IdFilter(method="filter_patient", label="Either record.")

    class Meta:
        model = DuplicateCandidate
        fields = []

    def filter_patient(self, queryset, name, value):
        return queryset.filter(Q(patient_id=value) | Q(other_id=value))
