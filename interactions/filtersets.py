import django_filters
from django.contrib.auth import get_user_model

from crm.choices import Channel, Department
from interactions.choices import Direction, Outcome, Sensitivity, Topic
from interactions.models import Interaction
from patients.models import Patient
from referrals.models import Referral


class InteractionFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices)
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    department = django_filters.MultipleChoiceFilter(choices=Department.choices)
    topic = django_filters.MultipleChoiceFilter(choices=Topic.choices)
    outcome = django_filters.MultipleChoiceFilter(choices=Outcome.choices)
    sensitivity = django_filters.ChoiceFilter(choices=Sensitivity.choices)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    staff = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    referral = django_filters.ModelChoiceFilter(queryset=Referral.objects.all())
    parent = django_filters.ModelChoiceFilter(queryset=Interaction.objects.all())

    class Meta:
        model = Interaction
        fields = []
