"""Marks API views whose requests go to the access log (``crm.audit``)."""

from django.http import Http404

from api.authentication import ApiTokenAuthentication, ClientCredentialsAuthentication
from crm.audit import audit_note
from patients.models import Patient

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

    def get_object(self):
        """The record, with its patient noted for the access log; a record the user may
        not see is a 404 that still names its patient in the log."""
        try:
            record = super().get_object()
        except Http404:
            self._note_patient_of_unseen_record()
            raise
        patient = record.pk if isinstance(record, Patient) else getattr(record, "patient_id", None)
        if patient is not None:
            audit_note(self.request._request).patients.add(patient)
        return record

    def check_permissions(self, request):
        try:
            super().check_permissions(request)
        except Exception:
            self._note_patient_of_unseen_record()
            raise

    def _note_patient_of_unseen_record(self) -> None:
        pk = str(self.kwargs.get("pk", ""))
        serializer_meta = getattr(self.get_serializer_class(), "Meta", None)
        model = getattr(getattr(self, "queryset", None), "model", None) or getattr(
            serializer_meta, "model", None
        )
        if not pk.isdigit() or len(pk) > 18 or model is None:
            return
        if model is Patient:
            found = Patient.objects.filter(pk=pk).values_list("pk", flat=True)
        elif any(f.name == "patient" for f in model._meta.concrete_fields):
            found = model._default_manager.filter(pk=pk).values_list("patient_id", flat=True)
        else:
            return
        audit_note(self.request._request).patients.update(found)

    def perform_authentication(self, request):
        super().perform_authentication(request)
        if request.user.is_authenticated:
            note = audit_note(request._request)
            if isinstance(request.successful_authenticator, ClientCredentialsAuthentication):
                return  # named by the authentication itself
            token = isinstance(request.successful_authenticator, ApiTokenAuthentication)
            note.auth_method = "token" if token else "session"
            if token:
                note.client = f"{request.auth.name} ({request.auth.prefix})"
