"""Links sent to patients that open one page for one purpose, with no account.

A link's token is derived from a random nonce with the server's secret: the message
that carries the link keeps the nonce (so the link can be put together again when the
message is sent) and the link row keeps a hash of the token, so neither a copy of the
database nor a look at the outbox yields a working link. A token opens its page until
the link expires; an unknown or expired one opens nothing.
"""

import datetime
import hashlib

from django.utils import timezone
from django.utils.crypto import salted_hmac

from patients.models import Patient, PatientLink

# Longer than any token: a longer one is refused before it is hashed.
TOKEN_LENGTH = 64


class LinkRefused(Exception):
    def __init__(self, reason: str, link: PatientLink | None = None):
        super().__init__(reason)
        self.reason = reason  # unknown, expired
        self.link = link


def link_token(nonce: str) -> str:
    return salted_hmac("patients.link", nonce, algorithm="sha256").hexdigest()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_issue(
    *,
    patient: Patient,
    purpose: str,
    nonce: str,
    expires_at: datetime.datetime,
    subject_id: int | None = None,
    language: str = "",
) -> PatientLink:
    return PatientLink.objects.create(
        patient=patient,
        purpose=purpose,
        subject_id=subject_id,
        token_hash=_hash(link_token(nonce)),
        language=language,
        expires_at=expires_at,
    )


def link_open(token: str, purpose: str, *, now: datetime.datetime | None = None) -> PatientLink:
    """The link a token opens for ``purpose``, with its patient; else LinkRefused."""
    if not token or len(token) > TOKEN_LENGTH:
        raise LinkRefused("unknown")
    link = (
        PatientLink.objects.select_related("patient")
        .filter(token_hash=_hash(token), purpose=purpose)
        .first()
    )
    if link is None:
        raise LinkRefused("unknown")
    if link.expires_at <= (now or timezone.now()):
        raise LinkRefused("expired", link)
    return link
