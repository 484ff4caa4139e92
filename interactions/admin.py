from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from interactions.models import (
    Complaint,
    ComplaintEvent,
    ComplaintServiceLevel,
    Interaction,
    SurveyResponse,
)


@admin.register(Interaction)
class InteractionAdmin(SimpleHistoryAdmin):
    list_display = ["occurred_at", "patient", "channel", "direction", "department", "topic"]
    list_filter = ["channel", "direction", "department", "sensitivity"]
    autocomplete_fields = ["patient", "staff"]
    raw_id_fields = ["parent", "referral", "follow_up"]


@admin.register(ComplaintServiceLevel)
class ComplaintServiceLevelAdmin(SimpleHistoryAdmin):
    """Where an administrator changes complaint targets; overdue follows at once."""

    list_display = ["priority", "first_response_within", "resolve_within"]


class ComplaintEventInline(admin.TabularInline):
    model = ComplaintEvent
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in ComplaintEvent._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Complaint)
class ComplaintAdmin(SimpleHistoryAdmin):
    """Read-only here: status changes go through the API so each writes its event."""

    list_display = ["id", "patient", "category", "priority", "status", "received_at"]
    list_filter = ["status", "category", "priority", "department"]
    inlines = [ComplaintEventInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(SurveyResponse)
class SurveyResponseAdmin(SimpleHistoryAdmin):
    list_display = ["received_at", "patient", "department", "channel", "nps_score", "csat_score"]
    list_filter = ["department", "channel"]
    raw_id_fields = ["patient", "invitation", "interaction", "referral"]
