"""Named API tokens for scripts (the API authenticates with them in
``api.authentication``), idle timeout for browser sessions, and the lockout answer."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.sessions.models import Session
from django.db import transaction
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


LOCKED_OUT_MESSAGE = (
    "Too many failed sign-ins: this account is locked for a while. An administrator can "
    "unlock it sooner."
)


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out sign-in gets (django-axes): the API's error body, or the
    sign-in page saying why."""
    if request.path.startswith("/api/") and not request.path.startswith("/api/auth/login/"):
        return JsonResponse(
            error_body(LOCKED_OUT_MESSAGE, LockedOut.default_code), status=LockedOut.status_code
        )
    return render(
        request,
        "frontend/login.html",
        {
            "form": AuthenticationForm(request),
            "locked_out_message": LOCKED_OUT_MESSAGE,
            "idle_minutes": settings.SESSION_IDLE_MINUTES,
        },
        status=429,
    )
