"""Survey invitations, sent as messages: by the rule a closed referral triggers, and by
staff ("send a survey"), through the same path.

A patient gets at most one survey in ``SURVEY_EVERY``. The link lets whoever holds it
answer, so it is never stored: the invitation keeps only its token's hash, and the
message keeps its text with the link masked. The token is derived from a random nonce
(kept in the message) and the server's secret key, so the worker that sends the
message builds the link again at that moment, and a copy of the database alone cannot.
"""

import datetime
import secrets

from django.db.models import prefetch_related_objects
from django.utils import timezone

from appointments.models import Appointment
from crm.errors import Conflict
from crm.roles import Actor
from interactions.models import Interaction, SurveyInvitation
from interactions.services import survey_invite
from messaging.choices import MessageChannel, Sender, Template
from messaging.models import Message
from messaging.services import (
    MESSAGE_CHANNELS,
    message_draft,
    message_queue,
    survey_link,
    survey_token,
)
from patients.choices import ConsentPurpose
from patients.models import Patient
from referrals.models import Referral

SURVEY_EVERY = datetime.timedelta(days=30)
MASKED_LINK = "(the survey link)"


def survey_send(
    *,
    actor: Actor,
    patient: Patient,
    channel: str = "",
    language: str = "",
    interaction: Interaction | None = None,
    referral: Referral | None = None,
    appointment: Appointment | None = None,
    department: str = "",
    sender: str = Sender.STAFF,
    rule: str = "",
    occasion: str = "",
    at: datetime.datetime | None = None,
) -> tuple[SurveyInvitation, str, Message | None] | None:
    """Invite the patient to a survey. Returns the invitation, its link and the message
    that carries it (None for a channel messages do not use, such as in person, where
    staff hand the link over); None when an automated survey is not due (one was sent
    in the last 30 days, or the contact policy refuses). Staff get a 409 that says why."""
    at = at or timezone.now()
    automated = sender != Sender.STAFF
    recent = (
        SurveyInvitation.objects.filter(patient=patient, sent_at__gt=at - SURVEY_EVERY)
        .order_by("-sent_at")
        .first()
    )
    if recent is not None:
        if automated:
            return None
        raise Conflict(
            f"A survey was sent on {timezone.localdate(recent.sent_at):%Y-%m-%d}; a patient "
            "is asked at most once in 30 days.",
            code="survey_too_soon",
            errors={"patient_id": ["Surveyed in the last 30 days."]},
        )
    # The contact policy is asked three times (the draft, the invitation, the message).
    prefetch_related_objects([patient], "consents", "contact_points", "languages")
    messaged = channel in ("", *MESSAGE_CHANNELS)
    if messaged:
        draft = message_draft(
            patient=patient,
            purpose=ConsentPurpose.SURVEYS,
            channel=channel,
            template=Template.SURVEY_INVITATION,
            at=at,
        )
        if not draft.decision.allowed and automated:
            return None
        channel = draft.decision.channel or MessageChannel.SMS
    nonce = secrets.token_urlsafe(24)
    invitation, _ = survey_invite(
        actor=actor,
        patient=patient,
        channel=channel,
        language=language,
        interaction=interaction,
        referral=referral,
        department=department,
        at=at,
        token=survey_token(nonce),
    )
    message = None
    if messaged:
        message = message_queue(
            actor=actor,
            patient=patient,
            purpose=ConsentPurpose.SURVEYS,
            department=invitation.department,
            channel=channel,
            template=Template.SURVEY_INVITATION,
            values={"link": MASKED_LINK, "link_nonce": nonce, "survey": invitation.pk},
            sender=sender,
            rule=rule,
            occasion=occasion,
            referral=referral,
            appointment=appointment,
            at=at,
        )
    return invitation, survey_link(nonce), message
