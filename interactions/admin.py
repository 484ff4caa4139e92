"""The admin site is for configuration only: the complaint service levels. Complaints,
interactions and survey answers are patient data, served by the API under the access
policy and the access log (see ``patients/admin.py``)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from interactions.models import ComplaintServiceLevel


@admin.register(ComplaintServiceLevel)
class ComplaintServiceLevelAdmin(SimpleHistoryAdmin):
    """Where an administrator changes complaint targets; overdue follows at once."""

    list_display = ["priority", "first_response_within", "resolve_within"]
