"""The one error contract.

Every 4xx answer has the body ``{"message": str, "code": str, "errors": {field: [str]}}``
(plus extra keys a given error documents, such as ``allowed_actions``). Services raise
Django's ``ValidationError`` for bad input and the exceptions below for everything else;
:func:`exception_handler` is the single place that turns them into responses.
"""

import logging
import sys

from django.core.exceptions import (
    NON_FIELD_ERRORS,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, connections
from django.http import Http404, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)

NON_FIELD_KEY = "non_field_errors"


def set_rollback() -> None:
    """Roll back the request's transaction, where requests run in one (as DRF does;
    imported from DRF it would load the API settings before they can be)."""
    for db in connections.all():
        if db.settings_dict.get("ATOMIC_REQUESTS") and db.in_atomic_block:
            db.set_rollback(True)


class ApplicationError(Exception):
    """Base of the errors services raise; each subclass fixes its HTTP status."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, errors=None, **extra):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.errors = errors or {}
        self.extra = extra


class NotAllowed(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "permission_denied"


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class InvalidTransition(Conflict):
    default_code = "invalid_transition"


class Gone(ApplicationError):
    status_code = status.HTTP_410_GONE
    default_code = "gone"


class InvalidCredentials(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "invalid_credentials"


class LockedOut(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"


class PreconditionRequired(ApplicationError):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_code = "precondition_required"


class StaleUpdate(ApplicationError):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "stale"


def error_body(message: str, code: str, errors=None, **extra) -> dict:
    return {"message": message, "code": code, "errors": errors or {}, **extra}


def _plain(detail):
    """DRF ErrorDetail trees to plain JSON values."""
    if isinstance(detail, dict):
        return {key: _plain(value) for key, value in detail.items()}
    if isinstance(detail, list | tuple):
        return [_plain(item) for item in detail]
    return str(detail)


def validation_errors(exc: DjangoValidationError) -> dict:
    """Field errors of a Django ValidationError as a plain dict."""
    if hasattr(exc, "error_dict"):
        return {
            (NON_FIELD_KEY if field == NON_FIELD_ERRORS else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {NON_FIELD_KEY: exc.messages}


def _as_request_fields(errors: dict, view) -> dict:
    """A model names a reference ``referral``; the request wrote it as ``referral_id``.
    Errors are keyed by what the request wrote, so a form can put them beside the field."""
    get_serializer = getattr(view, "get_serializer", None)
    if not errors or get_serializer is None:
        return errors
    fields = get_serializer().fields
    written_as = {
        field.source: name for name, field in fields.items() if name == f"{field.source}_id"
    }
    return {written_as.get(key, key): messages for key, messages in errors.items()}


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        set_rollback()
        errors = _as_request_fields(exc.errors, context.get("view"))
        body = error_body(exc.message, exc.code, errors, **exc.extra)
        return Response(body, status=exc.status_code)

    if isinstance(exc, DjangoValidationError):
        set_rollback()
        errors = _as_request_fields(validation_errors(exc), context.get("view"))
        body = error_body("Some fields are not valid.", "invalid", errors)
        return Response(body, status=status.HTTP_400_BAD_REQUEST)

    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        return Response(
            error_body("The request body is too large.", "too_large"),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response(
            error_body("The request could not be understood.", "bad_request"),
            status=status.HTTP_400_BAD_REQUEST,
        )

    if isinstance(exc, IntegrityError):
        # A concurrent writer won a unique race; the service's transaction is rolled back.
        set_rollback()
        logger.info("integrity conflict on %s", context["request"].path)
        return Response(
            error_body(
                "The record conflicts with one saved at the same time; reload and retry.",
                "conflict",
            ),
            status=status.HTTP_409_CONFLICT,
        )

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if not isinstance(exc, exceptions.APIException):
        return None

    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        detail = _plain(exc.detail)
        errors = detail if isinstance(detail, dict) else {NON_FIELD_KEY: detail}
        body = error_body("Some fields are not valid.", "invalid", errors)
    else:
        codes = exc.get_codes()
        body = error_body(str(exc.detail), codes if isinstance(codes, str) else "error")
    return Response(body, status=exc.status_code, headers=headers)


class InvalidInput(ApplicationError):
    """Bad input found by a service, with field errors that may be nested for lists."""

    default_code = "invalid"


UNAVAILABLE_RETRY_SECONDS = 5
UNAVAILABLE_MESSAGE = "The service is briefly unavailable; try again in a few seconds."


def server_error(request) -> HttpResponse:
    """Django's last resort (``handler500``), in the error contract: the database being
    unreachable is a 503 with ``Retry-After`` (the next request reconnects by itself);
    anything else a plain 500. The API answers in JSON; pages get the same sentence as
    HTML."""
    if isinstance(sys.exception(), OperationalError | InterfaceError):
        message, code, status_code = UNAVAILABLE_MESSAGE, "unavailable", 503
    else:
        message, code, status_code = "Something went wrong on our side.", "error", 500
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body(message, code), status=status_code)
    else:
        page = f'<!doctype html><html lang="en"><title>{message}</title><p>{message}</p></html>'
        response = HttpResponse(page, status=status_code)
    if status_code == 503:
        response["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
    return response
