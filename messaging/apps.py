from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self) -> None:
        # The referral workflow's reactions: reminders and survey invitations.
        from messaging import automations  # noqa: F401
