"""Webhooks: each subscription receives the change feed as it grows, from the feed
itself (no second record of what changed), as its owner may read it.

A worker (``integrations.deliver``, run by celery beat) takes each due subscription
for a lease, POSTs the next page of changes after its cursor (at most
``WEBHOOK_BATCH``), and moves the cursor on a 2xx only; on anything else it retries
the same page later, backing off (30 s, 2 min, 8 min... at most an hour), so the
receiver gets the changes in feed order, every record's changes in the order they
happened. Every attempt is logged (``WebhookDelivery``).

Each POST is signed: ``X-CRM-Signature: t=<unix time>,v1=<hex>``, where the hex is
HMAC-SHA256 of ``"<t>.<body>"`` with the subscription's secret. A receiver checks it
and that ``t`` is recent. A page can arrive twice (the receiver answered late, or
not 2xx after keeping it); each change's ``cursor`` tells a repeat.
"""

import datetime
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone

from crm.audit import record_sent
from crm.scopes import grants
from integrations.feed import change_page, entry, format_cursor, readable_types
from integrations.models import WebhookDelivery, WebhookSubscription

BACKOFF_BASE = datetime.timedelta(seconds=30)
BACKOFF_MOST = datetime.timedelta(hours=1)
# How long a worker holds a subscription while it delivers (longer than a POST's timeout).
LEASE = datetime.timedelta(seconds=60)
TIMEOUT_SECONDS = 10


def new_secret() -> str:
    return secrets.token_hex(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def private_target(url: str) -> bool:
    """Whether the URL's host is (or resolves to) an address inside a private network."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return False  # unreachable anyway: the POST fails and is retried
    return any(not ipaddress.ip_address(address.split("%")[0]).is_global for address in addresses)


def _claim(subscription_id: int, now: datetime.datetime) -> bool:
    """Take the subscription for a lease, unless another worker just did."""
    return bool(
        WebhookSubscription.objects.filter(
            pk=subscription_id, active=True, next_attempt_at__lte=now
        ).update(next_attempt_at=now + LEASE)
    )


def deliver_due(*, now: datetime.datetime | None = None, pages: int = 10) -> dict[str, int]:
    """Deliver to every due subscription, up to ``pages`` pages each; counts by outcome."""
    now = now or timezone.now()
    counts = {"delivered": 0, "failed": 0}
    due = WebhookSubscription.objects.filter(active=True, next_attempt_at__lte=now)
    for subscription_id in due.values_list("pk", flat=True):
        if not _claim(subscription_id, now):
            continue
        subscription = WebhookSubscription.objects.select_related("owner").get(pk=subscription_id)
        for _ in range(pages):
            outcome = deliver_page(subscription, now=now)
            if outcome:
                counts[outcome] += 1
            if outcome != "delivered":
                break
        else:  # more may be waiting: due again at once, for any worker
            _release(subscription, now)
    return counts


def deliver_page(subscription: WebhookSubscription, *, now: datetime.datetime) -> str:
    """POST the next page after the subscription's cursor: "delivered", "failed", or ""
    when there was nothing to send (the cursor still moves past what its owner may not
    see). Sets when to try next."""
    scopes = subscription.scopes.split()
    types = readable_types(
        subscription.owner,
        subscription.types,
        lambda resource: not scopes or grants(scopes, resource, "read"),
    )
    after = (subscription.after_txid, subscription.after_id)
    page, resume = change_page(
        user=subscription.owner, after=after, types=types, limit=settings.WEBHOOK_BATCH
    )
    if not page:
        _save(subscription, resume=resume, failed=False, now=now, hold=False)
        return ""
    body = json.dumps(
        {"changes": [entry(change) for change in page], "next": format_cursor(resume)}
    ).encode()
    stamp = int(time.time())
    started = time.monotonic()
    status, error = None, ""
    if not settings.WEBHOOK_PRIVATE_ADDRESSES and private_target(subscription.url):
        error = "The URL is inside a private network, where deliveries are off."
    else:
        try:
            response = requests.post(
                subscription.url,
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "X-CRM-Signature": signature(subscription.secret, stamp, body),
                    "User-Agent": "patient-crm-webhooks",
                },
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
            )
            status = response.status_code
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: the receiver could not be reached."
    succeeded = status is not None and 200 <= status < 300
    record_sent(
        user=subscription.owner,
        client=f"webhook {subscription.pk}",
        patient_ids={change.patient_id for change in page if change.patient_id},
        action="webhook_delivery",
        endpoint=subscription.url,
        status=status,
    )
    WebhookDelivery.objects.create(
        subscription=subscription,
        attempted_at=now,
        first_cursor=format_cursor((page[0].txid, page[0].id)),
        last_cursor=format_cursor(resume),
        count=len(page),
        status_code=status,
        error=error or ("" if succeeded else f"The receiver answered {status}."),
        duration_ms=int((time.monotonic() - started) * 1000),
        succeeded=succeeded,
    )
    _save(subscription, resume=resume if succeeded else None, failed=not succeeded, now=now)
    return "delivered" if succeeded else "failed"


def _save(
    subscription: WebhookSubscription,
    *,
    resume: tuple[int, int] | None,
    failed: bool,
    now: datetime.datetime,
    hold: bool = True,
) -> None:
    """Record where the subscription is. After a failure it waits, longer each time;
    otherwise the worker holds it for the next page (``hold``) or lets it go."""
    if failed:
        subscription.failures += 1
        wait = min(BACKOFF_BASE * 4 ** (subscription.failures - 1), BACKOFF_MOST)
        subscription.next_attempt_at = now + wait
    else:
        subscription.failures = 0
        subscription.next_attempt_at = timezone.now() + LEASE if hold else now
    if resume is not None:
        subscription.after_txid, subscription.after_id = resume
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        failures=subscription.failures,
        next_attempt_at=subscription.next_attempt_at,
        after_txid=subscription.after_txid,
        after_id=subscription.after_id,
    )


def resend_from(subscription: WebhookSubscription, after: tuple[int, int]) -> None:
    """Deliver again from an earlier cursor (the receiver lost what it got), now."""
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        after_txid=after[0], after_id=after[1], failures=0, next_attempt_at=timezone.now()
    )
    subscription.refresh_from_db()


def _release(subscription: WebhookSubscription, now: datetime.datetime) -> None:
    subscription.next_attempt_at = now
    WebhookSubscription.objects.filter(pk=subscription.pk).update(next_attempt_at=now)
