from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"

    def ready(self) -> None:
        # The referral workflow's reactions: a referral's appointment is an appointment.
        from appointments import referral_link  # noqa: F401
