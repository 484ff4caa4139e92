import django_filters

from crm.choices import Department
from crm.filters import ChoicesFilter, IsoDateTimeFilter
from integrations.choices import EventKind
from integrations.models import DepartmentEvent
from patients.models import Patient


class DepartmentEventFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    kind = ChoicesFilter(choices=EventKind.choices)
    department = ChoicesFilter(choices=Department.choices)
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = DepartmentEvent
        fields = []
