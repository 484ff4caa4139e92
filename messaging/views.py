"""The SMS provider's webhooks: delivery receipts and the patients' texts.

Each request must carry the provider's signature over this server's public address and
the posted fields (Twilio's request validator, with the account's auth token); an
unsigned or wrongly signed request gets 403 and changes nothing.
"""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from messaging.services import inbound_receive, receipt_record

log = logging.getLogger(__name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _signed_fields(request: HttpRequest) -> dict[str, str] | None:
    """The posted fields when the provider signed them, else None."""
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return None
    fields = {key: request.POST.get(key, "") for key in request.POST}
    url = settings.PUBLIC_BASE_URL + request.get_full_path()
    if not RequestValidator(token).validate(url, fields, signature):
        return None
    if fields.get("AccountSid") != settings.TWILIO_ACCOUNT_SID:
        return None
    return {key: value.replace("\x00", "") for key, value in fields.items()}


def _refused() -> HttpResponse:
    log.warning("An SMS webhook without a valid signature was refused.")
    return HttpResponseForbidden("Invalid signature.", content_type="text/plain")


@csrf_exempt
@require_POST
def sms_status(request: HttpRequest) -> HttpResponse:
    fields = _signed_fields(request)
    if fields is None:
        return _refused()
    receipt_record(
        key=request.GET.get("key", "").replace("\x00", ""),
        provider_id=fields.get("MessageSid", "")[:64],
        provider_status=fields.get("MessageStatus", "").lower(),
        error_code=fields.get("ErrorCode", "")[:16],
    )
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    fields = _signed_fields(request)
    if fields is None:
        return _refused()
    inbound_receive(
        from_number=fields.get("From", "")[:254],
        body=fields.get("Body", ""),
        provider_id=fields.get("MessageSid", "")[:64],
    )
    # Answers go out through the outbox, like every message, not in this response.
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
