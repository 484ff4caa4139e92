"""FHIR resources pushed in (``/fhir/``), read into what the REST API takes: the same
input serializers then validate them and the same services write them, so a contact
or an appointment arriving as FHIR obeys every rule one arriving as JSON does.

Each resource is first checked against the R4 model (``fhir.resources``): an unknown
element, a malformed date or a wrong type is a 400 that names its path. What a
resource says beyond what the record keeps is ignored.
"""

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.communication import Communication as FhirCommunication
from pydantic import ValidationError

from crm.choices import Channel, Department
from crm.errors import InvalidInput
from integrations.fhir import (
    CHANNEL_MODE,
    CHANNEL_SYSTEM,
    DEPARTMENT_SYSTEM,
    PARTICIPATION_MODE,
    SERVICE_TYPE_SYSTEM,
    TOPIC_SYSTEM,
)
from interactions.choices import Direction, Topic

# Where each REST input field comes from in the resource, for errors that name it.
COMMUNICATION_PATHS = {
    "patient_id": "Communication.subject",
    "channel": "Communication.medium",
    "direction": "Communication.sender",
    "department": "Communication.category",
    "topic": "Communication.topic",
    "occurred_at": "Communication.sent",
    "summary": "Communication.payload",
}
APPOINTMENT_PATHS = {
    "patient_id": "Appointment.participant",
    "practitioner_id": "Appointment.participant",
    "organization_id": "Appointment.participant",
    "service_type": "Appointment.serviceType",
    "status": "Appointment.status",
    "start": "Appointment.start",
    "end": "Appointment.end",
    "location": "Appointment.description",
    "external_id": "Appointment.identifier",
    "source": "Appointment.identifier",
}
# A channel said as a v3 ParticipationMode: the first of ours said that way.
MODE_CHANNEL = {mode: channel for channel, (mode, _) in reversed(CHANNEL_MODE.items())}
# FHIR's statuses as ours; "booked" with the patient's participation accepted is our
# "confirmed" (as ``fhir_appointment`` says it).
APPOINTMENT_STATUS = {
    "proposed": "proposed",
    "pending": "proposed",
    "booked": "booked",
    "arrived": "arrived",
    "checked-in": "arrived",
    "fulfilled": "fulfilled",
    "cancelled": "cancelled",
    "noshow": "noshow",
}


def _parse(model, data, name: str):
    if not isinstance(data, dict) or data.get("resourceType") != name:
        raise InvalidInput(
            f"Send a {name} resource.", errors={"resourceType": [f"Must be {name}."]}
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            path = ".".join([name, *(str(part) for part in error["loc"])])
            errors.setdefault(path, []).append(error["msg"])
        raise InvalidInput(f"Not a valid {name}.", errors=errors) from None


def _code(concepts, system: str) -> str | None:
    """The first code of ``system`` among codeable concepts (or one concept)."""
    for concept in concepts if isinstance(concepts, list) else [concepts]:
        for coding in (concept.coding or []) if concept else []:
            if coding.system == system and coding.code:
                return coding.code
    return None


def _id_of(reference, kind: str) -> int | str | None:
    """``<kind>/<id>`` as the id (left as text, for the serializer to refuse, when it
    is not a number); None for a reference to something else."""
    target = (reference.reference or "") if reference else ""
    if not target.startswith(f"{kind}/"):
        return None
    pk = target.removeprefix(f"{kind}/")
    return int(pk) if pk.isdigit() and len(pk) < 19 else pk


def communication_as_interaction(data) -> dict:
    """A contact as a Communication (a call center's): the interaction input. The patient
    is the subject; the contact is inbound when the patient sent it, outbound when they
    received it. The channel comes from ``medium`` (our code, or a ParticipationMode),
    the department from ``category``, the summary from the text payloads."""
    resource = _parse(FhirCommunication, data, "Communication")
    if resource.status != "completed":
        raise InvalidInput(
            "Only a contact that took place is recorded.",
            errors={"Communication.status": ["Must be completed."]},
        )
    patient = _id_of(resource.subject, "Patient")
    recipients = [_id_of(r, "Patient") for r in resource.recipient or []]
    outbound = _id_of(resource.sender, "Patient") is None and patient in recipients
    medium = _code(resource.medium or [], CHANNEL_SYSTEM)
    if medium is None and (mode := _code(resource.medium or [], PARTICIPATION_MODE)):
        medium = MODE_CHANNEL.get(mode, mode)
    texts = [p.contentString for p in resource.payload or [] if p.contentString]
    body = {
        "patient_id": patient,
        "direction": Direction.OUTBOUND if outbound else Direction.INBOUND,
        "channel": medium or Channel.PHONE,
        "department": _code(resource.category or [], DEPARTMENT_SYSTEM)
        or Department.CONTACT_CENTER,
        "topic": _code(resource.topic, TOPIC_SYSTEM) or Topic.GENERAL,
        "summary": "\n\n".join(texts),
    }
    if resource.sent:
        body["occurred_at"] = resource.sent
    return body


def appointment_as_push(data, *, source: str, external_id: str) -> dict:
    """An Appointment sent as a conditional update by its identifier: the push input
    (``POST /api/appointments/push/``). The patient, practitioner and organization are
    its participants; the service type is our code; a booked visit whose patient has
    accepted is confirmed. An identifier of the same system in the body must agree."""
    resource = _parse(FhirAppointment, data, "Appointment")
    for identifier in resource.identifier or []:
        if identifier.system == source and identifier.value != external_id:
            raise InvalidInput(
                "The body's identifier is not the one the request names.",
                errors={"Appointment.identifier": [f"Expected {source}|{external_id}."]},
            )
    actors = {"Patient": None, "Practitioner": None, "Organization": None}
    accepted = False
    for participant in resource.participant:
        for kind in actors:
            if (found := _id_of(participant.actor, kind)) is not None:
                actors[kind] = found
                if kind == "Patient":
                    accepted = participant.status == "accepted"
    status = APPOINTMENT_STATUS.get(resource.status, resource.status)
    if status == "booked" and accepted:
        status = "confirmed"
    body = {
        "source": source,
        "external_id": external_id,
        "patient_id": actors["Patient"],
        "practitioner_id": actors["Practitioner"],
        "organization_id": actors["Organization"],
        "service_type": _code(resource.serviceType or [], SERVICE_TYPE_SYSTEM),
        "status": status,
        "start": resource.start,
        "end": resource.end,
        "location": resource.description or "",
    }
    return {name: value for name, value in body.items() if value is not None}
