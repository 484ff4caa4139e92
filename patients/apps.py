from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"

    def ready(self) -> None:
        from crm.audit import purpose_rules
        from patients.selectors import break_glass_purpose

        purpose_rules.append(break_glass_purpose)
