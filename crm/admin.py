"""The integration clients in the admin: each OAuth2 application with the scopes it
may ask for (``crm.integrations``). New clients are best registered with
``manage.py integration_client``, which also makes their user and role."""

from django.contrib import admin
from oauth2_provider.admin import ApplicationAdmin
from oauth2_provider.models import Application

from crm.models import IntegrationClient


class IntegrationClientInline(admin.StackedInline):
    model = IntegrationClient
    can_delete = False


class ApplicationWithScopes(ApplicationAdmin):
    inlines = [IntegrationClientInline]


admin.site.unregister(Application)
admin.site.register(Application, ApplicationWithScopes)
