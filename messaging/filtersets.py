import django_filters

from crm.choices import Department
from crm.filters import IdFilter, IsoDateTimeFilter
from interactions.choices import Direction
from messaging.choices import MessageChannel, MessageStatus, Sender, Template
from messaging.models import Message
from patients.choices import ConsentPurpose
from patients.models import Patient


class MessageFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    channel = django_filters.MultipleChoiceFilter(choices=MessageChannel.choices)
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    status = django_filters.MultipleChoiceFilter(choices=MessageStatus.choices)
    purpose = django_filters.MultipleChoiceFilter(choices=ConsentPurpose.choices)
    template = django_filters.MultipleChoiceFilter(choices=Template.choices)
    sender = django_filters.MultipleChoiceFilter(choices=Sender.choices)
    department = django_filters.MultipleChoiceFilter(choices=Department.choices)
    referral = IdFilter(field_name="referral_id")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Message
        fields = []
