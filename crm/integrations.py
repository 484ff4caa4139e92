"""Integration clients: systems that call the API with OAuth2 client credentials
(django-oauth-toolkit) instead of a person's sign-in.

Each client is an OAuth2 application with its own user, which holds one staff role
and no password: a token acts as that user, so the access policy, the row rules and
the field rules apply to a billing system's client exactly as to billing staff, and
the access log names the client. What a token may touch is further narrowed by its
scopes (``crm.scopes``), of which the client may ask only those it was given
(:class:`ClientScopes`, the toolkit's scopes backend). A client's wrong secret locks
no one out: staff sign-in lockout counts people's sign-ins only, and an address that
sends ``OAUTH_FAILURES`` wrong credentials in 10 minutes gets no token for the rest of
them (:class:`ClientTokenView`).
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.http import JsonResponse
from django.utils.text import slugify
from oauth2_provider.models import Application
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from oauth2_provider.views import TokenView

from crm.authentication import client_address
from crm.errors import InvalidInput
from crm.models import IntegrationClient
from crm.ratelimit import over_limit
from crm.roles import Role
from crm.scopes import all_scopes, unknown_scopes

FAILURE_WINDOW = 600  # seconds


class ClientScopes(BaseScopes):
    """A client may ask for the scopes it was given; asking for none gets them all."""

    def get_all_scopes(self) -> dict[str, str]:
        return all_scopes()

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        granted = IntegrationClient.objects.filter(application=application).first()
        return granted.scopes.split() if granted else []

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self.get_available_scopes(application, request)


class ClientCredentialsOnly(OAuth2Validator):
    """The token endpoint grants client credentials only: no application, however it
    was registered, turns a person's password into a token (that would bypass the
    sign-in lockout) or holds a refresh token."""

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        return grant_type == "client_credentials" and super().validate_grant_type(
            client_id, grant_type, client, request, *args, **kwargs
        )


@transaction.atomic
def integration_client_create(
    *, name: str, role: str, scopes: list[str]
) -> tuple[Application, str]:
    """A new client with its own user in ``role`` and the ``scopes`` it may ask for.
    Returns the application and its secret, which is shown this once (the toolkit
    keeps only a hash)."""
    errors = {}
    if role not in Role.values:
        errors["role"] = [f"One of: {', '.join(Role.values)}."]
    if unknown := unknown_scopes(scopes):
        errors["scopes"] = [f"Unknown scopes: {', '.join(unknown)}."]
    if not scopes:
        errors["scopes"] = ["Give at least one scope, such as system/Patient.read."]
    username = f"client-{slugify(name)}"[:150]
    if get_user_model().objects.filter(username=username).exists():
        errors["name"] = ["A client of that name exists."]
    if errors:
        raise InvalidInput("The client cannot be registered.", errors=errors)
    # No password: it never signs in, only its tokens act as it.
    user = get_user_model().objects.create_user(username=username, first_name=name[:150])
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    secret = secrets.token_urlsafe(32)
    application = Application.objects.create(
        name=name,
        user=user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
    )
    IntegrationClient.objects.create(application=application, scopes=" ".join(scopes))
    return application, secret


class ClientTokenView(TokenView):
    """``/oauth/token/``, with a limit on failures by address: one that sent
    ``OAUTH_FAILURES`` wrong client credentials in 10 minutes is answered 429 until the
    window ends, whatever it sends. No person's sign-in is touched."""

    def post(self, request, *args, **kwargs):
        address = client_address(request) or "unknown"
        if cache.get(f"oauth-blocked:{address}"):
            return JsonResponse(
                {
                    "error": "slow_down",
                    "error_description": "Too many failed attempts from this address; "
                    "try again in a few minutes.",
                },
                status=429,
            )
        response = super().post(request, *args, **kwargs)
        if response.status_code == 401 and over_limit(
            f"oauth-failures:{address}", limit=settings.OAUTH_FAILURES, window=FAILURE_WINDOW
        ):
            cache.set(f"oauth-blocked:{address}", 1, timeout=FAILURE_WINDOW)
        return response
