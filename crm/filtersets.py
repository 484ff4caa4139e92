import django_filters

from crm.filters import ChoicesFilter, IsoDateTimeFilter
from crm.models import AccessRecord


class AccessRecordFilterSet(django_filters.FilterSet):
    patient = django_filters.NumberFilter(
        method="filter_patient", min_value=1, label="Records that involved this patient."
    )
    user = django_filters.NumberFilter(field_name="user_id", min_value=1)
    after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    outcome = ChoicesFilter(choices=AccessRecord.Outcome.choices)
    purpose = ChoicesFilter(choices=AccessRecord.Purpose.choices)

    class Meta:
        model = AccessRecord
        fields = []

    def filter_patient(self, queryset, name, value):
        return queryset.filter(patient_ids__contains=f",{int(value)},")
