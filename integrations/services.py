"""Writes of what integrations push in: department events."""

import datetime
import secrets

from django.db import IntegrityError, transaction

from crm.errors import Conflict
from crm.roles import Actor
from crm.services import full_clean, save_attributed, update_record
from integrations.choices import KIND_DEPARTMENT, KIND_PURPOSE
from integrations.models import DepartmentEvent
from messaging.choices import Sender
from messaging.models import Message
from messaging.services import message_queue
from messaging.texts import clinic_values
from patients.models import Patient


@transaction.atomic
def department_event_record(
    *,
    actor: Actor,
    patient: Patient,
    kind: str,
    occurred_at: datetime.datetime,
    title: str = "",
    location: str = "",
    reference: str = "",
    source: str = "",
    external_id: str = "",
    notify_patient: bool = False,
) -> tuple[DepartmentEvent, bool]:
    """A department's event about a patient. A system names it by ``source`` and
    ``external_id``: the first push creates it (True), a later one applies what changed
    (False), so a retry is safe; an event does not change patients or kinds (409).

    With ``notify_patient`` the patient is told once, in their language, on the channel
    the contact policy picks; where it refuses, the pharmacy's and the lab's news
    leaves a call for a person (``messaging``)."""
    fields = {
        "occurred_at": occurred_at,
        "title": title,
        "location": location,
        "reference": reference,
    }
    known = None
    if external_id:
        known = (
            DepartmentEvent.objects.select_for_update()
            .filter(source=source, external_id=external_id)
            .first()
        )
    if known is None:
        event = DepartmentEvent(
            patient=patient,
            kind=kind,
            department=KIND_DEPARTMENT[kind],
            source=source,
            external_id=external_id,
            created_by=actor,
            **fields,
        )
        full_clean(event, exclude=["patient", "created_by", "message"])
        if notify_patient:
            event.message = _tell_patient(event, actor=actor)
        try:
            with transaction.atomic():  # a savepoint: a concurrent push may win the id
                save_attributed(event, actor=actor, reason="department event")
            return event, True
        except IntegrityError:
            known = DepartmentEvent.objects.select_for_update().get(
                source=source, external_id=external_id
            )
    if known.patient_id != patient.pk:
        raise Conflict(
            "This event belongs to another patient in this system.",
            code="patient_mismatch",
            errors={"patient_id": ["Differs from the event's patient."]},
        )
    if known.kind != kind:
        raise Conflict(
            "An event's kind does not change: send a new event.",
            code="kind_changed",
            errors={"kind": [f"This event is {known.kind}."]},
        )
    if notify_patient and known.message_id is None:
        fields["message"] = _tell_patient(known, actor=actor)
    update_record(known, actor=actor, fields=fields, reason="pushed by integration")
    return known, False


def _tell_patient(event: DepartmentEvent, *, actor: Actor) -> Message:
    """The event's message, once per event (its occasion): the kind's template."""
    name = f"{event.source}:{event.external_id}" if event.external_id else secrets.token_hex(8)
    return message_queue(
        actor=actor,
        patient=event.patient,
        purpose=KIND_PURPOSE[event.kind],
        department=event.department,
        template=event.kind,
        values={"place": event.location or clinic_values()["address"]},
        sender=Sender.INTEGRATION,
        rule=event.kind,
        occasion=f"department event {name}",
        at=event.occurred_at,
    )
