import django_filters

from appointments.choices import AppointmentStatus
from appointments.models import Appointment
from crm.filters import BooleanFilter, ChoicesFilter, IdFilter, IsoDateTimeFilter
from patients.models import Patient


class AppointmentFilterSet(django_filters.FilterSet):
    patient = django_filters.ModelChoiceFilter(queryset=Patient.objects.all())
    status = ChoicesFilter(choices=AppointmentStatus.choices)
    service_type = django_filters.CharFilter(
        field_name="service_type__code", max_length=40, label="A service type's code."
    )
    referral = IdFilter(field_name="referral_id")
    start_after = IsoDateTimeFilter(field_name="start", lookup_expr="gte")
    start_before = IsoDateTimeFilter(field_name="start", lookup_expr="lt")
    source = django_filters.CharFilter(max_length=40)
    external_id = django_filters.CharFilter(max_length=100)
    confirmed = BooleanFilter(
        field_name="confirmed_at", lookup_expr="isnull", exclude=True, label="Confirmed."
    )

    class Meta:
        model = Appointment
        fields = []
