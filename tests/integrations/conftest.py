"""What the integrations tests share with the messaging tests."""

from tests.messaging.conftest import sms_provider  # noqa: F401  (the provider double)
