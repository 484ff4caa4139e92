"""Marks API views whose requests go to the access log (``crm.audit``)."""

from crm.authentication import ApiTokenAuthentication

RECORD_ACTIONS = {"list", "retrieve", "create", "update", "partial_update"}


class AuditedMixin:
    """Requests to this view are written to the access log. DRF authenticates inside
    the view, so the action and how the caller signed in are passed on to the Django
    request, where the access-log middleware reads them."""

    audit = True
    audit_patients = False  # the view's records are patients themselves

    def initial(self, request, *args, **kwargs):
        action = getattr(self, "action", None)
        request._request.audit_action = action or request.method.lower()
        # The body's own ids are patients only where the body is a patient record.
        request._request.audit_body_is_patient = self.audit_patients and action in RECORD_ACTIONS
        super().initial(request, *args, **kwargs)

    def perform_authentication(self, request):
        super().perform_authentication(request)
        if request.user.is_authenticated:
            token = isinstance(request.successful_authenticator, ApiTokenAuthentication)
            request._request.auth_method = "token" if token else "session"
            if token:
                request._request.audit_client = f"{request.auth.name} ({request.auth.prefix})"
