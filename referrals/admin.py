from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from referrals.models import (
    FollowUp,
    Organization,
    Practitioner,
    Referral,
    ReferralEvent,
    ServiceLevelTarget,
)


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


class ReferralEventInline(admin.TabularInline):
    model = ReferralEvent
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in ReferralEvent._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Referral)
class ReferralAdmin(SimpleHistoryAdmin):
    """Read-only here: status changes go through the API so each writes its event."""

    list_display = ["id", "patient", "specialty", "priority", "status", "status_changed_at"]
    list_filter = ["status", "priority", "specialty"]
    inlines = [ReferralEventInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(FollowUp)
class FollowUpAdmin(SimpleHistoryAdmin):
    list_display = ["title", "patient", "due_at", "assigned_to", "queue", "status"]
    list_filter = ["status", "queue", "kind"]
    autocomplete_fields = ["patient", "assigned_to"]
