"""The access log: one :class:`AccessRecord` per API request that reads or changes
patient data, written by a middleware with a single INSERT.

The patients involved are read from what the response returned (for lists and
searches, the ids on the page), or from the URL when access was refused. What only the
view knows (the action, how the caller signed in, the purpose) it writes on the
request's :class:`AuditNote`, which the middleware reads.
"""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Case, Expression, Value, When
from django.utils.cache import add_never_cache_headers

from crm.authentication import client_address
from crm.models import AccessRecord
from crm.roles import Role, user_roles

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# What a caller may state: not the purposes the server alone assigns.
PURPOSES = set(AccessRecord.Purpose.values) - {"break_glass", "patient"}
# Purpose of use when the client states none, by role.
ROLE_PURPOSE = {
    Role.BILLING: AccessRecord.Purpose.PAYMENT,
    Role.COORDINATOR: AccessRecord.Purpose.TREATMENT,
    Role.CLINICIAN: AccessRecord.Purpose.TREATMENT,
    Role.PHARMACY: AccessRecord.Purpose.TREATMENT,
}
MAX_PATIENTS = 500


@dataclass
class AuditNote:
    """What the view tells the access log about its request."""

    action: str = ""
    body_is_patient: bool = False  # the response's own ids are patients
    auth_method: str = ""  # session or token
    client: str = ""  # the API token's name and prefix
    purpose: str = ""  # overrides the stated or role's purpose (break_glass)
    # The patients of the record the view read or was refused, when the answer's body
    # does not name them (events, history, a denied read).
    patients: set[int] = field(default_factory=set)


# Rules that name a read's purpose from the database, inside the access record's own
# INSERT (no second query): each takes the user's id and the patients read and returns a
# (condition, purpose) pair, or None. Apps register them in ``AppConfig.ready``
# (break-the-glass reads, from ``patients``).
PurposeRule = Callable[[int, set[int]], tuple[Expression, str] | None]
purpose_rules: list[PurposeRule] = []


def audit_note(request) -> AuditNote:
    """The request's note, made on first use (the Django request, not DRF's wrapper)."""
    note = getattr(request, "_audit_note", None)
    if note is None:
        note = request._audit_note = AuditNote()
    return note


def _patient_ids(data, *, is_patient_resource: bool) -> set[int]:
    """Every patient id in a response body: ``patient`` fields anywhere, and the
    records' own ids when the resource is the patient."""
    found: set[int] = set()

    def walk(node, depth=0):
        if depth > 6 or len(found) >= MAX_PATIENTS:
            return
        if isinstance(node, dict):
            patient = node.get("patient")
            if isinstance(patient, int):
                found.add(patient)
            elif isinstance(patient, dict) and isinstance(patient.get("id"), int):
                found.add(patient["id"])
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value, depth + 1)
        elif isinstance(node, list):
            for item in node:
                walk(item, depth + 1)

    if is_patient_resource and isinstance(data, dict):
        rows = data.get("results", [data])
        found.update(r["id"] for r in rows if isinstance(r, dict) and isinstance(r.get("id"), int))
    walk(data)
    return found


def ids_text(patients: set[int]) -> str:
    """The patients as the record keeps them: ``,12,40,`` (searchable everywhere)."""
    return "," + ",".join(str(pk) for pk in sorted(patients)) + "," if patients else ""


def _outcome(status: int) -> str:
    if status < 400:
        return AccessRecord.Outcome.ALLOWED
    if status in (401, 403):
        return AccessRecord.Outcome.DENIED
    return AccessRecord.Outcome.FAILED


def record_patient_page(request, response, *, patient_id: int, link: str, action: str) -> None:
    """A patient's page opened or answered through a link sent to them
    (``selfservice``): attributed to the link, never to a user. The endpoint is the
    page's route, without the token (a credential)."""
    AccessRecord.objects.create(
        auth_method="patient_link",
        client=link[:120],
        patient_ids=ids_text({patient_id}),
        action=action,
        method=request.method,
        endpoint=f"/{request.resolver_match.route}"[:300],
        status_code=response.status_code,
        outcome=_outcome(response.status_code),
        client_address=client_address(request),
        request_id=request.request_id,
        purpose=AccessRecord.Purpose.PATIENT,
    )


def record_sent(
    *, user, client: str, patient_ids: set[int], action: str, endpoint: str, status: int | None
) -> None:
    """Patient data the server sent on its own to a system (a webhook delivery),
    attributed to the user it went to; the endpoint without its query."""
    AccessRecord.objects.create(
        user_id=user.pk,
        username=user.get_username(),
        auth_method="webhook",
        client=client[:120],
        patient_ids=ids_text(patient_ids),
        action=action,
        method="POST",
        endpoint=endpoint.split("?")[0][:300],
        status_code=status or 0,
        outcome=_outcome(status or 599),
        request_id=uuid.uuid4().hex,
        purpose=AccessRecord.Purpose.OPERATIONS,
    )


def _view_class(request):
    match = getattr(request, "resolver_match", None)
    func = getattr(match, "func", None)
    return getattr(func, "cls", None) or getattr(func, "view_class", None)


class AccessLogMiddleware:
    """Writes the access record of each audited API request, and gives every request a
    request id (from ``X-Request-ID`` when well-formed) echoed in the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        if request.path.startswith(("/api/", "/fhir/")):
            # Answers carry patient data: no browser or proxy may keep a copy.
            add_never_cache_headers(response)
            view = _view_class(request)
            if getattr(view, "audit", False):
                self._record(request, response, view)
        return response

    def _record(self, request, response, view) -> None:
        user = getattr(request, "user", None)
        authenticated = bool(user and user.is_authenticated)
        note = audit_note(request)
        data = getattr(response, "data", None)
        patients = _patient_ids(data, is_patient_resource=note.body_is_patient) | note.patients
        pk = str(request.resolver_match.kwargs.get("pk", ""))
        if not patients and getattr(view, "audit_patients", False) and pk.isdigit():
            patients = {int(pk[:18])}
        status = response.status_code
        AccessRecord.objects.create(
            user_id=user.pk if authenticated else None,
            username=user.get_username() if authenticated else "",
            auth_method=note.auth_method,
            client=note.client[:120],
            patient_ids=ids_text(patients),
            action=note.action or request.method.lower(),
            method=request.method,
            # A path may carry bytes no text column takes (a NUL); the log keeps them
            # visible and escaped.
            endpoint=request.path[:300].replace("\x00", "\\x00"),
            status_code=status,
            outcome=_outcome(status),
            client_address=client_address(request),
            request_id=request.request_id,
            purpose=self._purpose_of(request, user, note, patients),
        )

    def _purpose_of(self, request, user, note: AuditNote, patients: set[int]):
        """The view's purpose, else the registered rules' (a CASE the INSERT evaluates),
        else the stated or the role's purpose."""
        if note.purpose:
            return note.purpose
        default = self._purpose(request, user)
        if user is None or not user.is_authenticated or not patients:
            return default
        cases = [case for rule in purpose_rules if (case := rule(user.pk, patients))]
        if not cases:
            return default
        whens = [When(condition, then=Value(purpose)) for condition, purpose in cases]
        return Case(*whens, default=Value(default))

    @staticmethod
    def _purpose(request, user) -> str:
        stated = request.headers.get("X-Purpose-Of-Use", "").strip().lower()
        if stated in PURPOSES:
            return stated
        for role in sorted(user_roles(user)) if user is not None else []:
            if role in ROLE_PURPOSE:
                return ROLE_PURPOSE[role]
        return AccessRecord.Purpose.OPERATIONS
