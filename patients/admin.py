from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from patients.models import (
    CommunicationConsent,
    ContactPoint,
    Patient,
    PatientIdentifier,
    PatientLanguage,
)


class IdentifierInline(admin.TabularInline):
    model = PatientIdentifier
    extra = 0


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    extra = 0


class LanguageInline(admin.TabularInline):
    model = PatientLanguage
    extra = 0


class ConsentInline(admin.TabularInline):
    model = CommunicationConsent
    extra = 0
    autocomplete_fields = ["captured_by"]


@admin.register(Patient)
class PatientAdmin(SimpleHistoryAdmin):
    list_display = ["mrn", "family_name", "given_name", "birth_date", "status"]
    list_filter = ["status", "interpreter_needed"]
    search_fields = ["mrn", "name_search"]
    autocomplete_fields = ["care_coordinator", "primary_care_practitioner", "merged_into"]
    inlines = [IdentifierInline, ContactPointInline, LanguageInline, ConsentInline]
