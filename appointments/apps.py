from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"

    def ready(self) -> None:
        # The workflows' reactions: a referral's appointment is an appointment, and an
        # appointment's steps leave follow-ups.
        from appointments import referral_link, rules  # noqa: F401
