"""The scopes an integration client's token carries, SMART backend-services style:
``system/<resource>.<read|write|*>``, with ``*`` for every resource
(``system/*.read``). Each API endpoint open to clients names the resource it serves
(``resource`` on the view); a client calls it only with a scope that grants that
resource for the method's mode, and then only as far as its role allows
(``crm.access``)."""

import re

# The resources clients may be granted, by the name FHIR gives them where it has one.
RESOURCES = (
    "Patient",
    "Practitioner",
    "Organization",
    "Communication",  # interactions and messages
    "ServiceRequest",  # referrals
    "Task",  # follow-ups (REST), a referral's tracking (FHIR)
    "Consent",  # contact consents (FHIR)
    "Appointment",
    "Complaint",
    "QuestionnaireResponse",  # surveys
    "DepartmentEvent",  # pharmacy, lab and billing events
)
MODES = ("read", "write", "*")
SCOPE = re.compile(r"^system/(?P<resource>\*|[A-Za-z]+)\.(?P<mode>read|write|\*)$")


def all_scopes() -> dict[str, str]:
    """Every scope a client may be given, with what it grants (for the token endpoint)."""
    scopes = {}
    for resource in ("*", *RESOURCES):
        what = "every resource" if resource == "*" else resource
        scopes[f"system/{resource}.read"] = f"Read {what}"
        scopes[f"system/{resource}.write"] = f"Create and change {what}"
        scopes[f"system/{resource}.*"] = f"Read, create and change {what}"
    return scopes


def unknown_scopes(scopes: list[str]) -> list[str]:
    known = all_scopes()
    return [scope for scope in scopes if scope not in known]


def grants(scopes: list[str], resource: str, mode: str) -> bool:
    """Whether the scopes grant ``mode`` (read or write) on ``resource``."""
    for scope in scopes:
        match = SCOPE.match(scope)
        if match and match["resource"] in ("*", resource) and match["mode"] in ("*", mode):
            return True
    return False
