"""The channels messages leave and arrive by: SMS through a provider adapter, email
through Django's email backends. A backend sends one message and says what happened,
or raises :class:`SendError` saying whether trying again could help.

- ``twilio``: Twilio's REST API with its official client. ``TWILIO_API_BASE_URL`` points
  it elsewhere (the tests and the benchmark run a local server that plays Twilio,
  ``messaging.sms_double``). The message's idempotency key rides in its status-callback
  address, so a receipt finds its message even when the worker died before recording
  the provider's id.
- ``console``: development; writes each text to the log and to ``SMS_OUTBOX_FILE``.
- email: Django's default mailer (``MAILERS``): SMTP in production; in development
  the file backend writes each email to ``EMAIL_FILE_PATH``.
"""

import datetime
import functools
import json
import logging
import smtplib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone

from messaging.models import Message
from messaging.texts import Rendered

if TYPE_CHECKING:
    from twilio.rest.api.v2010.account.message import MessageInstance

log = logging.getLogger(__name__)

# Provider error codes that mean the address cannot receive texts (Twilio's codes:
# invalid number, not a mobile, unreachable, unknown destination, landline, and a
# number that replied STOP to the carrier).
UNDELIVERABLE_CODES = {"21211", "21214", "21610", "21614", "30003", "30005", "30006"}


class SendError(Exception):
    """The provider did not take the message. ``temporary`` failures are retried with
    backoff; the others stop, ``undeliverable`` ones marking the address as unusable."""

    def __init__(
        self, reason: str, *, code: str = "", temporary: bool = False, undeliverable: bool = False
    ):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.temporary = temporary
        self.undeliverable = undeliverable


@dataclass(frozen=True)
class Accepted:
    provider_id: str
    delivered: bool = False  # the backend is the end of the line (development)
    segments: int | None = None


class SmsBackend(Protocol):
    def send(self, message: Message, text: str) -> Accepted: ...

    def find(self, to: str, text: str, *, since: datetime.datetime) -> Accepted | None:
        """The text, if the provider took it for this number at or after ``since``."""


def status_callback_url(message: Message) -> str:
    return f"{settings.PUBLIC_BASE_URL}{_status_path()}?key={message.idempotency_key}"


@functools.cache
def _status_path() -> str:
    return reverse("sms-status")


class TwilioSms:
    """Twilio Programmable Messaging."""

    def __init__(self) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=TwilioHttpClient(timeout=settings.SMS_TIMEOUT_SECONDS),
        )
        self.client.api.base_url = settings.TWILIO_API_BASE_URL

    def send(self, message: Message, text: str) -> Accepted:
        from requests import RequestException
        from twilio.base.exceptions import TwilioRestException

        sender = (
            {"messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID}
            if settings.TWILIO_MESSAGING_SERVICE_SID
            else {"from_": settings.TWILIO_FROM_NUMBER}
        )
        try:
            sent = self.client.messages.create(
                to=message.address,
                body=text,
                status_callback=status_callback_url(message),
                **sender,
            )
        except TwilioRestException as exc:
            temporary = exc.status == 429 or exc.status >= 500
            code = str(exc.code or exc.status)
            raise SendError(
                f"The SMS provider refused the message: {exc.msg}",
                code=code,
                temporary=temporary,
                undeliverable=code in UNDELIVERABLE_CODES,
            ) from None
        except RequestException as exc:
            raise SendError(
                f"The SMS provider could not be reached ({type(exc).__name__}).",
                temporary=True,
            ) from None
        return _accepted(sent)

    def find(self, to: str, text: str, *, since: datetime.datetime) -> Accepted | None:
        """Twilio lists a number's messages newest first; one of the last 50, created
        since then (its times are in whole seconds), with the same text is the one."""
        from requests import RequestException
        from twilio.base.exceptions import TwilioException

        since = since.replace(microsecond=0)
        try:
            for sent in self.client.messages.list(to=to, limit=50):
                if sent.date_created and sent.date_created >= since and sent.body == text:
                    return _accepted(sent)
        except (TwilioException, RequestException) as exc:  # a failed page is not a RestException
            raise SendError(
                "The SMS provider could not say whether it has the message "
                f"({type(exc).__name__}).",
                temporary=True,
            ) from None
        return None


def _accepted(sent: "MessageInstance") -> Accepted:
    segments = int(sent.num_segments) if sent.num_segments else None
    return Accepted(provider_id=str(sent.sid), segments=segments)


class ConsoleSms:
    """Development: the text goes to the log and, one JSON line each, to a file a
    developer reads (``SMS_OUTBOX_FILE``). Nothing leaves the machine."""

    def send(self, message: Message, text: str) -> Accepted:
        line = {
            "at": timezone.now().isoformat(),
            "to": message.address,
            "language": message.language_used,
            "body": text,
        }
        if settings.SMS_OUTBOX_FILE:
            path = Path(settings.SMS_OUTBOX_FILE)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as outbox:
                outbox.write(json.dumps(line, ensure_ascii=False) + "\n")
        log.info("SMS (console backend) written to %s", settings.SMS_OUTBOX_FILE or "the log")
        return Accepted(provider_id=f"console-{uuid.uuid4().hex}", delivered=True)

    def find(self, to: str, text: str, *, since: datetime.datetime) -> Accepted | None:
        return None  # development: a text written twice to the outbox harms no one


SMS_BACKENDS: dict[str, type] = {"twilio": TwilioSms, "console": ConsoleSms}


@functools.cache
def sms_backend() -> SmsBackend:
    """One backend per process (its HTTP session is reused across messages)."""
    return SMS_BACKENDS[settings.SMS_BACKEND]()


def send_email(message: Message, rendered: Rendered) -> Accepted:
    """One email, multipart text and HTML, from the clinic with its reply-to. The
    Message-ID carries the idempotency key, so a mail system that sees it twice can tell."""
    domain = str(settings.DEFAULT_FROM_EMAIL).rpartition("@")[2] or "localhost"
    message_id = f"<{message.idempotency_key}@{domain}>"
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.address],
        reply_to=[settings.CLINIC_REPLY_TO] if settings.CLINIC_REPLY_TO else None,
        headers={"Message-ID": message_id, "Content-Language": rendered.language},
    )
    email.attach_alternative(rendered.html(), "text/html")
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as exc:
        code, _ = next(iter(exc.recipients.values()))
        raise SendError(
            f"The mail server refused the address ({code}).",
            code=str(code),
            temporary=code // 100 == 4,
            undeliverable=code // 100 == 5,
        ) from None
    except (OSError, ValueError) as exc:  # smtplib's other errors are OSErrors too
        code = getattr(exc, "smtp_code", 0)
        raise SendError(
            f"The mail server did not take the message ({type(exc).__name__}).",
            code=str(code or ""),
            temporary=code // 100 != 5,
        ) from None
    return Accepted(provider_id=message_id, delivered=settings.EMAIL_DELIVERED_ON_SEND)
