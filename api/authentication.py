"""How scripts and integrations sign in to the API: ``Authorization: Token <key>`` (a
person's named token) or ``Authorization: Bearer <token>`` (an integration client's
OAuth2 client-credentials token, ``crm.integrations``)."""

from django.utils import timezone
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from crm.audit import audit_note
from crm.authentication import LAST_USED_PRECISION, hash_key
from crm.models import ApiToken
from crm.scopes import RESOURCES, grants


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <key>`` with a named, revocable :class:`ApiToken`."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as: Token <key>.")
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=hash_key(key), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token is not valid or was revoked.")
        now = timezone.now()
        if token.last_used_at is None or token.last_used_at < now - LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


def client_name(token) -> str:
    """How the access log names an integration client: its name and client id's start."""
    application = token.application
    return f"{application.name} ({application.client_id[:8]})" if application else ""


class ClientCredentialsAuthentication(OAuth2Authentication):
    """A bearer token from ``/oauth/token/`` acts as its client's own user (who holds
    the client's role), on the endpoints its scopes cover: an endpoint serves a
    resource (the view's ``resource``), and the token needs a scope granting it for
    the method's mode (``crm.scopes``); an endpoint naming none is closed to clients,
    whatever its permissions. An unknown or expired token is a 401 that says so."""

    def authenticate(self, request):
        if not authentication.get_authorization_header(request).lower().startswith(b"bearer "):
            return None  # another scheme, or a session: not asked of the toolkit at all
        found = super().authenticate(request)
        if found is None:
            raise exceptions.AuthenticationFailed("The bearer token is not valid or expired.")
        _, token = found
        user = token.application.user if token.application_id else None
        # The access log names the client, a refused call too.
        note = audit_note(request._request)
        note.auth_method = "oauth2"
        note.client = client_name(token)
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("This client is disabled.")
        view = request.parser_context.get("view")
        resource = getattr(view, "resource", None)
        if resource is None:
            raise exceptions.PermissionDenied("This endpoint is not open to integration clients.")
        mode = getattr(view, "scope_mode", None) or (
            "read" if request.method in SAFE_METHODS else "write"
        )
        # "*": an endpoint over every resource (the change feed) narrows by the scopes.
        wanted = RESOURCES if resource == "*" else (resource,)
        if not any(grants(token.scope.split(), each, mode) for each in wanted):
            raise exceptions.PermissionDenied(
                f"This client's token has no scope to {mode} {resource}."
            )
        return user, token
