"""The parts messages travel through, real and local: the SMS provider played by an
HTTP server on loopback (``messaging.sms_double``) and a real SMTP server (aiosmtpd)."""

import contextlib
import socket
import threading
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from messaging import channels
from messaging.sms_double import ProviderDouble
from tests.factories import ContactPointFactory, LanguageFactory, PatientFactory

CLINIC_NUMBER = "+15550100100"


def use_provider(settings, double: ProviderDouble, public_url: str) -> None:
    """Twilio's official client, pointed at the local provider; its receipts go to
    ``public_url``."""
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = double.account_sid
    settings.TWILIO_AUTH_TOKEN = double.auth_token
    settings.TWILIO_FROM_NUMBER = CLINIC_NUMBER
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_BASE_URL = double.url
    settings.PUBLIC_BASE_URL = public_url
    channels.sms_backend.cache_clear()


@contextlib.contextmanager
def provider_double(settings, public_url: str, **options):
    double = ProviderDouble(**options).start()
    use_provider(settings, double, public_url)
    try:
        yield double
    finally:
        double.stop()
        channels.sms_backend.cache_clear()


@pytest.fixture
def sms_provider(settings):
    """The provider, without receipts: no server runs here, the tests post them
    themselves; the end-to-end tests let the provider post them to a live server."""
    with provider_double(settings, "http://testserver", callbacks=False) as double:
        yield double


class Mailbox:
    """What the SMTP server received: (envelope recipients, parsed email)."""

    def __init__(self):
        self.received = []
        self.refuse = set()  # addresses answered with 550
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.append(
                (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default))
            )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "use_tls": False},
        }
    }
    settings.EMAIL_DELIVERED_ON_SEND = False
    yield mailbox
    controller.stop()


def reachable_patient(language: str = "", *, email: bool = True, **fields):
    """A patient in New York with a mobile number (and an email address)."""
    fields.setdefault("time_zone", "America/New_York")
    patient = PatientFactory(**fields)
    ContactPointFactory(patient=patient, system="sms", use="mobile")
    if email:
        ContactPointFactory(patient=patient, system="email", value=f"p{patient.pk}@example.org")
    if language:
        LanguageFactory(patient=patient, language=language)
    return patient
