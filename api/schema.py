"""Schema generation: every operation documents the error bodies it can return."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object

from api.serializers.common import ErrorSerializer, StaleUpdateSerializer
from crm.scopes import all_scopes


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        # 404 anywhere: unknown records, and unknown pages or cursors of a list.
        errors = {code: ErrorSerializer for code in ("400", "401", "403", "404")}
        if self.method in ("POST", "PUT", "PATCH"):
            errors["409"] = ErrorSerializer
            errors["413"] = ErrorSerializer
        if any(p.get("name") == "If-Match" for p in self._get_parameters()):
            errors["412"] = StaleUpdateSerializer
            errors["428"] = ErrorSerializer
        for code, serializer in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    serializer, code, direction=direction
                )
        return responses


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Token <key>`` for the named API tokens."""

    target_class = "api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Token"
        )


class ClientCredentialsScheme(OpenApiAuthenticationExtension):
    """Documents the integration clients' OAuth2 client-credentials bearer tokens."""

    target_class = "api.authentication.ClientCredentialsAuthentication"
    name = "clientCredentials"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/oauth/token/",
                    "scopes": all_scopes(),
                }
            },
        }
