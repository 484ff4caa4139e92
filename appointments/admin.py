from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from appointments.models import Reminder, ServiceType


class ReminderInline(admin.TabularInline):
    model = Reminder
    extra = 1


@admin.register(ServiceType)
class ServiceTypeAdmin(SimpleHistoryAdmin):
    """Service types and their reminder schedules. Appointments themselves are patient
    data: they are read and changed through the API and the app, where access is
    checked and logged."""

    list_display = ["name", "code", "minutes", "check_in_call", "survey_after_visit", "active"]
    list_filter = ["active", "check_in_call"]
    search_fields = ["name", "code"]
    inlines = [ReminderInline]
