import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from crm.choices import Channel, Department
from crm.filters import (
    BooleanFilter,
    ChoicesFilter,
    IdFilter,
    IsoDateTimeFilter,
    ModelMultipleChoiceFilter,
)
from interactions import service_levels
from interactions.choices import (
    ComplaintCategory,
    ComplaintPriority,
    ComplaintStatus,
    Direction,
    Outcome,
    Sensitivity,
    Topic,
)
from interactions.models import Complaint, Interaction, SurveyInvitation, SurveyResponse
from patients.models import Patient


class InteractionFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    channel = ChoicesFilter(choices=Channel.choices)
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    department = ChoicesFilter(choices=Department.choices)
    topic = ChoicesFilter(choices=Topic.choices)
    outcome = ChoicesFilter(choices=Outcome.choices)
    sensitivity = django_filters.ChoiceFilter(choices=Sensitivity.choices)
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    staff = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    referral = IdFilter(field_name="referral_id")
    parent = IdFilter(field_name="parent_id")

    class Meta:
        model = Interaction
        fields = []


class ComplaintFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    status = ChoicesFilter(choices=ComplaintStatus.choices)
    category = ChoicesFilter(choices=ComplaintCategory.choices)
    department = ChoicesFilter(choices=Department.choices)
    channel = ChoicesFilter(choices=Channel.choices)
    priority = ChoicesFilter(choices=ComplaintPriority.choices)
    owner = ModelMultipleChoiceFilter(queryset=get_user_model().objects.all())
    queue = ChoicesFilter(choices=Department.choices)
    received_after = IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")
    overdue = BooleanFilter(
        method="filter_overdue", label="Past its first-response or resolution target."
    )

    class Meta:
        model = Complaint
        fields = []

    def filter_overdue(self, queryset, name, value):
        condition = service_levels.overdue_q(service_levels.targets(), timezone.now())
        return queryset.filter(condition) if value else queryset.exclude(condition)


class SurveyResponseFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    department = ChoicesFilter(choices=Department.choices)
    channel = ChoicesFilter(choices=Channel.choices)
    received_after = IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")
    detractor = BooleanFilter(method="filter_detractor")

    class Meta:
        model = SurveyResponse
        fields = []

    def filter_detractor(self, queryset, name, value):
        condition = Q(nps_score__lte=6) | Q(csat_score__lte=2)
        return queryset.filter(condition) if value else queryset.exclude(condition)


class SurveyInvitationFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    department = ChoicesFilter(choices=Department.choices)
    channel = ChoicesFilter(choices=Channel.choices)
    answered = BooleanFilter(field_name="used_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = SurveyInvitation
        fields = []
