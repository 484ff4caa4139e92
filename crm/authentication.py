"""Named API tokens for scripts (the API authenticates with them in
``api.authentication``), idle timeout for browser sessions, and the lockout answer."""

import hashlib
import ipaddress
import secrets
from datetime import timedelta

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Sum
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from crm.errors import LockedOut, error_body
from crm.models import ApiToken

LAST_USED_PRECISION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``; the key is returned this once and stored only hashed."""
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, key_hash=hash_key(key), prefix=key[:8])
    return token, key


def api_token_revoke(token: ApiToken) -> None:
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )


@transaction.atomic
def sign_out_everywhere(user) -> dict[str, int]:
    """Revoke every token of the user and end every browser session they have."""
    tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    return {"tokens": tokens, "sessions": ended}


class IdleTimeoutMiddleware:
    """Ends a browser session after ``SESSION_IDLE_MINUTES`` without a request. The
    expiry slides with use but is saved at most once a minute, not on every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.get("_auth_user_id"):
            now = int(timezone.now().timestamp())
            if now - session.get("_touched", 0) >= 60:
                session["_touched"] = now
                session.set_expiry(settings.SESSION_COOKIE_AGE)
        return response


LOCKED_OUT_MESSAGES = {
    "account": (
        "Too many failed sign-ins for this user name: the account is locked for a while. "
        "An administrator can unlock it sooner."
    ),
    "address": (
        "Too many failed sign-ins from this network address: sign-in from here is paused "
        "for a while. An administrator can lift it sooner."
    ),
}


def locked_out_message(request) -> str:
    """What is locked, for the person who hit it: their account, or their address."""
    return LOCKED_OUT_MESSAGES[getattr(request, "crm_locked", "account")]


def client_address(request) -> str | None:
    """The client's address: behind ``TRUSTED_PROXY_COUNT`` proxies, the one the nearest
    trusted proxy saw (from ``X-Forwarded-For``, counted from the right, so a client
    cannot choose it); otherwise the connection's own."""
    remote = request.META.get("REMOTE_ADDR") or None
    hops = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if hops and len(forwarded) >= hops:
        candidate = forwarded[-hops]
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            return remote
    return remote


class LockoutHandler(AxesDatabaseHandler):
    """Locks a user name after ``LOGIN_FAILURE_LIMIT`` failures, and an address only
    after ``LOGIN_ADDRESS_FAILURE_LIMIT`` (many staff share one address behind a
    clinic's NAT: one person's typos must not lock out the rest)."""

    def get_failures(self, request, credentials=None) -> int:
        """The failures axes compares with ``LOGIN_FAILURE_LIMIT``: the user name's own;
        or the limit itself once the address has failed ``LOGIN_ADDRESS_FAILURE_LIMIT``
        times. ``request.crm_locked`` says which is locked."""
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))

        def failures(**match) -> int:
            return recent.filter(**match).aggregate(n=Sum("failures_since_start"))["n"] or 0

        username = get_client_username(request, credentials)
        own = failures(username=username) if username is not None else 0
        if own >= settings.AXES_FAILURE_LIMIT:
            request.crm_locked = "account"
            return own
        address = request.axes_ip_address
        if address is not None and failures(ip_address=address) >= settings.LOGIN_ADDRESS_LIMIT:
            request.crm_locked = "address"
            return settings.AXES_FAILURE_LIMIT
        return own


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out sign-in gets (django-axes): the API's error body, or the
    sign-in page saying why."""
    if request.path.startswith("/api/") and not request.path.startswith("/api/auth/login/"):
        return JsonResponse(
            error_body(locked_out_message(request), LockedOut.default_code),
            status=LockedOut.status_code,
        )
    return render(
        request,
        "frontend/login.html",
        {
            "form": AuthenticationForm(request),
            "locked_out_message": locked_out_message(request),
            "idle_minutes": settings.SESSION_IDLE_MINUTES,
        },
        status=429,
    )
