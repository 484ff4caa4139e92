import django_filters

from crm.choices import Department
from crm.filters import ChoicesFilter, IdFilter, IsoDateTimeFilter
from interactions.choices import Direction
from messaging.choices import MessageChannel, MessageStatus, Sender, Template
from messaging.models import Message
from patients.choices import ConsentPurpose
from patients.models import Patient


class MessageFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    channel = ChoicesFilter(choices=MessageChannel.choices)
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    status = ChoicesFilter(choices=MessageStatus.choices)
    purpose = ChoicesFilter(choices=ConsentPurpose.choices)
    template = ChoicesFilter(choices=Template.choices)
    sender = ChoicesFilter(choices=Sender.choices)
    department = ChoicesFilter(choices=Department.choices)
    referral = IdFilter(field_name="referral_id")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Message
        fields = []
