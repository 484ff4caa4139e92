"""The admin site is for configuration only: referral service levels and the provider
directory. Referrals and follow-ups are patient data, served by the API under the
access policy and the access log (see ``patients/admin.py``)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from referrals.models import Organization, Practitioner, ServiceLevelTarget


@admin.register(ServiceLevelTarget)
class ServiceLevelTargetAdmin(SimpleHistoryAdmin):
    """Where an administrator changes the referral targets; overdue follows at once."""

    list_display = ["priority", "accept_within", "schedule_within", "report_within"]


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "npi", "specialty", "in_network", "accepting_new_patients"]
    list_filter = ["in_network", "specialty"]
    search_fields = ["name", "npi"]


@admin.register(Practitioner)
class PractitionerAdmin(SimpleHistoryAdmin):
    list_display = ["family_name", "given_name", "npi", "specialty", "organization"]
    list_filter = ["specialty", "in_network"]
    search_fields = ["family_name", "given_name", "npi"]
