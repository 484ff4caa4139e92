from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from interactions.models import Interaction


@admin.register(Interaction)
class InteractionAdmin(SimpleHistoryAdmin):
    list_display = ["occurred_at", "patient", "channel", "direction", "department", "topic"]
    list_filter = ["channel", "direction", "department", "sensitivity"]
    autocomplete_fields = ["patient", "staff"]
    raw_id_fields = ["parent", "referral", "follow_up"]
