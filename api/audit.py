"""Marks API views whose requests go to the access log (``crm.audit``)."""

from api.authentication import ApiTokenAuthentication
from crm.audit import audit_note

RECORD_ACTIONS = {"list", "retrieve", "create", "update", "partial_update"}


class AuditedMixin:
    """Requests to this view are written to the access log. DRF authenticates inside
    the view, so the action and how the caller signed in go on the request's audit note,
    where the access-log middleware reads them."""

    audit = True
    audit_patients = False  # the view's records are patients themselves

    def initial(self, request, *args, **kwargs):
        action = getattr(self, "action", None)
        note = audit_note(request._request)
        note.action = action or request.method.lower()
        # The body's own ids are patients only where the body is a patient record.
        note.body_is_patient = self.audit_patients and action in RECORD_ACTIONS
        super().initial(request, *args, **kwargs)

    def perform_authentication(self, request):
        super().perform_authentication(request)
        if request.user.is_authenticated:
            note = audit_note(request._request)
            token = isinstance(request.successful_authenticator, ApiTokenAuthentication)
            note.auth_method = "token" if token else "session"
            if token:
                note.client = f"{request.auth.name} ({request.auth.prefix})"
