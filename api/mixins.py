"""Behaviour shared by the viewsets: optimistic concurrency and idempotent creates."""

import hashlib
import json
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from crm.errors import Conflict, InvalidInput, PreconditionRequired
from crm.models import IdempotencyKey

_IF_MATCH = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')

IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    pattern=r'^(W/)?"?[0-9]{1,9}"?$',
    description='The record\'s version as last read (its ETag, e.g. "3"). Required: '
    "without it the change is refused with 428; with a stale version, with 412, instead "
    "of overwriting someone else's change.",
)
IDEMPOTENCY_KEY = re.compile(r"^[!-~][ -~]{0,254}$")
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    pattern=IDEMPOTENCY_KEY.pattern,
    description="A unique key per logical request; a retry with the same key and body "
    "returns the first answer instead of creating a duplicate.",
)


def expected_version(request) -> int:
    """The version from the ``If-Match`` header a change to a record must carry: a
    client that did not read the record first must not overwrite it blindly."""
    header = request.headers.get("If-Match")
    if header is None:
        raise PreconditionRequired(
            'Send the record\'s version as If-Match (its ETag, e.g. "3"), so a change '
            "made meanwhile by someone else is not overwritten.",
            errors={"If-Match": ["This header is required."]},
        )
    match = _IF_MATCH.match(header.strip())
    if not match:
        raise InvalidInput(
            'If-Match must be the record\'s version in quotes, e.g. "3".',
            errors={"If-Match": ["Not a version."]},
        )
    return int(match.group(1))


class VersionedMixin:
    """Sends the record's version as ETag and honours If-Match on updates."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if (
            200 <= response.status_code < 300
            and isinstance(response.data, dict)
            and "version" in response.data
            and "id" in response.data
        ):
            response["ETag"] = f'"{response.data["version"]}"'
        return response


class IdempotentCreateMixin:
    """POST with ``Idempotency-Key``: the first answer is stored and replayed to retries.

    The key row is claimed first, in the same transaction as the record. A concurrent
    retry's claim waits on the unique constraint until the first transaction ends: if
    that one committed, the retry's claim fails and it replays the stored answer (it
    never reaches the create, where it would meet the first one's record as a
    duplicate); if that one rolled back, the retry creates. The answer is written
    into the claim before the commit.
    """

    def create(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return super().create(request, *args, **kwargs)
        if not IDEMPOTENCY_KEY.match(key):
            raise InvalidInput(
                "Idempotency-Key must be 1 to 255 printable ASCII characters.",
                errors={"Idempotency-Key": ["Not a valid key."]},
            )
        body = json.dumps(request.data, sort_keys=True, default=str)
        fingerprint = hashlib.sha256(f"{request.path}\n{body}".encode()).hexdigest()
        IdempotencyKey.objects.filter(
            user=request.user,
            key=key,
            created_at__lt=timezone.now() - settings.IDEMPOTENCY_KEY_TTL,
        ).delete()
        stored = IdempotencyKey.objects.filter(user=request.user, key=key).first()
        if stored is not None:
            return self._replay(stored, fingerprint)
        try:
            with transaction.atomic():
                claim = IdempotencyKey.objects.create(
                    user=request.user,
                    key=key,
                    fingerprint=fingerprint,
                    response_status=0,
                    response_body={},
                )
                response = super().create(request, *args, **kwargs)
                claim.response_status = response.status_code
                claim.response_body = json.loads(JSONRenderer().render(response.data))
                claim.save(update_fields=["response_status", "response_body"])
        except IntegrityError:
            stored = IdempotencyKey.objects.filter(user=request.user, key=key).first()
            if stored is None:
                raise
            return self._replay(stored, fingerprint)
        return response

    @staticmethod
    def _replay(stored: IdempotencyKey, fingerprint: str) -> Response:
        if stored.fingerprint != fingerprint:
            raise Conflict(
                "This Idempotency-Key was already used for a different request.",
                code="idempotency_key_reused",
            )
        response = Response(stored.response_body, status=stored.response_status)
        response["Idempotent-Replayed"] = "true"
        return response
