"""Writes for interactions. Outbound contact respects the patient's consent."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm.errors import Conflict, InvalidInput, validation_errors
from crm.services import lock_for_update, save_attributed
from interactions.choices import Direction, Topic
from interactions.models import Interaction
from patients.choices import ConsentPurpose, ConsentStatus, PatientStatus
from patients.models import Patient
from referrals import rules

# Which consent purpose an outbound contact on a topic falls under.
TOPIC_PURPOSE = {
    Topic.BILLING: ConsentPurpose.BILLING,
    Topic.SCHEDULING: ConsentPurpose.APPOINTMENT_REMINDERS,
}


def check_outbound_contact_allowed(*, patient: Patient, channel: str, topic: str) -> None:
    """Refuse new outbound contact the patient has opted out of (409).

    Replies on a thread the patient started are not checked: answering a patient is
    not unsolicited contact.
    """
    if patient.status == PatientStatus.DECEASED:
        raise Conflict("The patient is recorded as deceased.", code="contact_not_permitted")
    if patient.do_not_contact:
        raise Conflict(
            "The patient asked not to be contacted.",
            code="contact_not_permitted",
            errors={"direction": ["The patient is marked do-not-contact."]},
        )
    purpose = TOPIC_PURPOSE.get(topic, ConsentPurpose.CARE_COORDINATION)
    today = timezone.localdate()
    for consent in patient.consents.filter(channel=channel, purpose=purpose):
        if consent.status == ConsentStatus.OPT_OUT and consent.is_in_effect(today):
            raise Conflict(
                f"The patient opted out of {consent.get_channel_display().lower()} contact "
                f"for {consent.get_purpose_display().lower()}.",
                code="contact_not_permitted",
                errors={"channel": ["The patient opted out of this channel for this purpose."]},
            )


def _full_clean(interaction: Interaction) -> None:
    try:
        interaction.full_clean()
    except ValidationError as exc:
        raise InvalidInput("Some fields are not valid.", errors=validation_errors(exc)) from None


@transaction.atomic
def interaction_create(*, actor, patient: Patient, **fields) -> Interaction:
    """Log a touchpoint; ``staff`` defaults to the acting user."""
    fields.setdefault("staff", actor)
    fields.setdefault("occurred_at", timezone.now())
    interaction = Interaction(patient=patient, **fields)
    _full_clean(interaction)
    if interaction.direction == Direction.OUTBOUND and interaction.parent_id is None:
        check_outbound_contact_allowed(
            patient=patient, channel=interaction.channel, topic=interaction.topic
        )
    save_attributed(interaction, actor=actor, reason="created")
    rules.on_interaction_logged(interaction, actor=actor)
    return interaction


@transaction.atomic
def interaction_update(
    *, interaction: Interaction, actor, expected_version: int | None = None, **fields
) -> Interaction:
    """Correct a logged interaction; the change history keeps what it said before."""
    interaction = lock_for_update(interaction, expected_version)
    changed = [name for name, value in fields.items() if getattr(interaction, name) != value]
    for name in changed:
        setattr(interaction, name, fields[name])
    _full_clean(interaction)
    if changed:
        save_attributed(interaction, actor=actor)
    if "outcome" in changed:
        rules.on_interaction_logged(interaction, actor=actor)
    return interaction
