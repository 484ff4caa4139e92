from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM platform"

    def ready(self):
        from crm import db  # noqa: F401  (registers the SQLite functions)
