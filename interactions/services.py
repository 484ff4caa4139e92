"""Writes for interactions, complaints and surveys. Outbound contact and survey
invitations go through the contact policy (``patients.contact``)."""

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from crm.choices import Channel, Department
from crm.errors import Conflict, InvalidInput
from crm.roles import Actor
from crm.services import full_clean, lock_for_update, save_attributed, update_record
from interactions import rules
from interactions.choices import (
    CATEGORY_TOPIC,
    COMPLAINT_PRIORITY_RANK,
    TOPIC_PRIORITY,
    ComplaintAction,
    ComplaintPriority,
    Direction,
    SurveyLanguage,
    Topic,
)
from interactions.models import (
    Complaint,
    Interaction,
    SurveyInvitation,
    SurveyResponse,
)
from interactions.workflow import COMPLAINT_WORKFLOW
from patients.choices import ConsentPurpose
from patients.contact import ContactDecision, contact_policy, preferred_language
from patients.models import PHONE_SYSTEMS, Patient
from patients.validators import FAMILY_FIRST_SCRIPT, search_key
from referrals.models import Referral

# Which consent purpose an outbound contact on a topic falls under.
TOPIC_PURPOSE: dict[str, str] = {
    Topic.BILLING: ConsentPurpose.BILLING,
    Topic.SCHEDULING: ConsentPurpose.APPOINTMENT_REMINDERS,
}


def check_outbound_contact_allowed(
    *, patient: Patient, channel: str, topic: str, at: datetime | None = None
) -> None:
    """Refuse new outbound contact the contact policy does not allow (409).

    Replies on a thread the patient started are not checked: answering a patient is
    not unsolicited contact. The contact already happened, so no address is needed.
    """
    decision = contact_policy(
        patient,
        purpose=TOPIC_PURPOSE.get(topic, ConsentPurpose.CARE_COORDINATION),
        channel=channel,
        at=at,
        needs_address=False,
    )
    require_contact(decision, field="channel" if decision.code == "opted_out" else "direction")


def require_contact(decision: ContactDecision, *, field: str = "channel") -> None:
    """A contact the policy refused is a 409 that says why, on ``field``."""
    if not decision.allowed:
        raise Conflict(
            decision.reason, code="contact_not_permitted", errors={field: [decision.reason]}
        )


def _names_in(name: str, folded: str) -> bool:
    """The name as a word of the folded text ("Mai" is not in "maintenance"); in scripts
    written without spaces, anywhere in it."""
    key = search_key(name)
    if FAMILY_FIRST_SCRIPT.search(key):
        return key in folded
    return re.search(rf"(?<!\w){re.escape(key)}(?!\w)", folded) is not None


def check_public_reply(*, patient: Patient, text: str) -> None:
    """A reply posted publicly (social media, a review site) must not reveal who the
    patient is or anything about their care: no name, MRN, phone number or birth date."""
    folded = search_key(text)
    digits = re.sub(r"\D", "", text)
    revealed = [
        label
        for label, present in [
            (
                "a name",
                any(
                    _names_in(name, folded)
                    for name in (patient.given_name, patient.family_name, patient.preferred_name)
                    if len(name) > 1
                ),
            ),
            ("the MRN", patient.mrn.casefold() in text.casefold()),
            (
                "a phone number",
                any(
                    point.value.lstrip("+")[-7:] in digits
                    for point in patient.contact_points.all()
                    if point.system in PHONE_SYSTEMS
                ),
            ),
            (
                "the birth date",
                patient.birth_date.isoformat() in text
                or patient.birth_date.strftime("%m/%d/%Y") in text,
            ),
        ]
        if present
    ]
    if revealed:
        raise InvalidInput(
            "A public reply must not identify the patient.",
            errors={"summary": [f"Remove {', '.join(revealed)} from the public reply."]},
        )


@transaction.atomic
def interaction_create(*, actor: Actor, patient: Patient, **fields: Any) -> Interaction:
    """Log a touchpoint; ``staff`` defaults to the acting user."""
    fields.setdefault("staff", actor)
    fields.setdefault("occurred_at", timezone.now())
    interaction = Interaction(patient=patient, **fields)
    full_clean(interaction)
    if interaction.direction == Direction.OUTBOUND and interaction.channel == Channel.SOCIAL:
        check_public_reply(patient=patient, text=interaction.summary)
    if interaction.direction == Direction.OUTBOUND and interaction.parent_id is None:
        check_outbound_contact_allowed(
            patient=patient,
            channel=interaction.channel,
            topic=interaction.topic,
            at=interaction.occurred_at,
        )
    save_attributed(interaction, actor=actor, reason="created")
    rules.on_interaction_logged(interaction, actor=actor)
    return interaction


@transaction.atomic
def interaction_update(
    *, interaction: Interaction, actor: Actor, expected_version: int | None = None, **fields: Any
) -> Interaction:
    """Correct a logged interaction; the change history keeps what it said before."""
    interaction = lock_for_update(
        interaction, expected_version, related=("patient", "staff", "message")
    )
    changed = update_record(interaction, actor=actor, fields=fields)
    if "outcome" in changed:
        rules.on_interaction_logged(interaction, actor=actor)
    return interaction


# Complaints ------------------------------------------------------------------------


def _priority_floor(category: str) -> str:
    """The default (and lowest) priority of a category: its topic's priority."""
    return ComplaintPriority(TOPIC_PRIORITY[CATEGORY_TOPIC.get(category, Topic.COMPLAINT)])


def _check_priority(category: str, priority: str) -> None:
    floor = _priority_floor(category)
    if COMPLAINT_PRIORITY_RANK[priority] > COMPLAINT_PRIORITY_RANK[floor]:
        raise InvalidInput(
            f"A {category.replace('_', ' ')} complaint is at least {floor} priority; "
            "staff may raise it, not lower it.",
            errors={"priority": [f"At least {floor}."]},
        )


@transaction.atomic
def complaint_create(
    *, actor: Actor, patient: Patient, at: datetime | None = None, **fields: Any
) -> Complaint:
    """Open a complaint. Its priority defaults from the category's topic and may be
    raised; with no owner it goes to its department's queue."""
    at = at or fields.pop("received_at", None) or timezone.now()
    fields.setdefault("priority", _priority_floor(fields.get("category", "")))
    if not fields.get("owner") and not fields.get("queue"):
        fields["queue"] = fields.get("department", "")
    complaint = Complaint(patient=patient, received_at=at, created_by=actor, **fields)
    full_clean(complaint)
    _check_priority(complaint.category, complaint.priority)
    save_attributed(complaint, actor=actor, reason="created")
    COMPLAINT_WORKFLOW.start(complaint, actor=actor, at=at)
    return complaint


@transaction.atomic
def complaint_update(
    *, complaint: Complaint, actor: Actor, expected_version: int | None = None, **fields: Any
) -> Complaint:
    complaint = lock_for_update(complaint, expected_version, related=COMPLAINT_WORKFLOW.related)
    update_record(
        complaint,
        actor=actor,
        fields=fields,
        check=lambda changed: _check_priority(changed.category, changed.priority),
    )
    return complaint


@transaction.atomic
def complaint_acknowledge(
    *,
    complaint: Complaint,
    actor: Actor,
    reason: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Complaint:
    """The first response to the patient: the complaint was received and is owned."""
    return COMPLAINT_WORKFLOW.apply(
        complaint,
        ComplaintAction.ACKNOWLEDGE,
        actor=actor,
        reason=reason,
        expected_version=expected_version,
        at=at,
    )


@transaction.atomic
def complaint_investigate(
    *,
    complaint: Complaint,
    actor: Actor,
    reason: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Complaint:
    return COMPLAINT_WORKFLOW.apply(
        complaint,
        ComplaintAction.INVESTIGATE,
        actor=actor,
        reason=reason,
        expected_version=expected_version,
        at=at,
    )


@transaction.atomic
def complaint_resolve(
    *,
    complaint: Complaint,
    actor: Actor,
    resolution_note: str,
    patient_informed: bool,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Complaint:
    """Resolve with what was done and whether the patient was told."""
    if not resolution_note.strip():
        raise InvalidInput(
            "Say how the complaint was resolved.",
            errors={"resolution_note": ["This field is required."]},
        )
    at = at or timezone.now()
    return COMPLAINT_WORKFLOW.apply(
        complaint,
        ComplaintAction.RESOLVE,
        actor=actor,
        expected_version=expected_version,
        at=at,
        changes={
            "resolution_note": resolution_note,
            "patient_informed": patient_informed,
            "resolved_at": at,
        },
    )


@transaction.atomic
def complaint_close(
    *,
    complaint: Complaint,
    actor: Actor,
    reason: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Complaint:
    return COMPLAINT_WORKFLOW.apply(
        complaint,
        ComplaintAction.CLOSE,
        actor=actor,
        reason=reason,
        expected_version=expected_version,
        at=at,
    )


@transaction.atomic
def complaint_reopen(
    *,
    complaint: Complaint,
    actor: Actor,
    reason: str,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Complaint:
    return COMPLAINT_WORKFLOW.apply(
        complaint,
        ComplaintAction.REOPEN,
        actor=actor,
        reason=reason,
        expected_version=expected_version,
        at=at,
        changes={"resolved_at": None},
    )


COMPLAINT_TRANSITION_SERVICES = {
    ComplaintAction.ACKNOWLEDGE: complaint_acknowledge,
    ComplaintAction.INVESTIGATE: complaint_investigate,
    ComplaintAction.RESOLVE: complaint_resolve,
    ComplaintAction.CLOSE: complaint_close,
    ComplaintAction.REOPEN: complaint_reopen,
}


# Surveys ---------------------------------------------------------------------------

SURVEY_LINK_LIFETIME = timedelta(days=14)


class SurveyLinkRefused(Exception):
    """The link is unknown, expired or used; ``reason`` says which, and ``language`` is
    the invitation's when the link was a real one."""

    def __init__(self, reason: str, language: str = SurveyLanguage.ENGLISH):
        super().__init__(reason)
        self.reason = reason
        self.language = language


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def survey_language_for(patient: Patient) -> str:
    """The patient's preferred language if the survey page is written in it."""
    language = preferred_language(patient)
    tag = language.language if language else ""
    base = {"fil": "tl"}.get(tag.split("-")[0], tag.split("-")[0])
    if base == "zh":
        traditional = "Hant" in tag or tag.split("-")[-1] in ("TW", "HK", "MO")
        return SurveyLanguage.CHINESE_TRADITIONAL if traditional else SurveyLanguage.CHINESE
    return base if base in SurveyLanguage.values else SurveyLanguage.ENGLISH


def _touchpoint_department(
    interaction: Interaction | None, referral: Referral | None, department: str
) -> str:
    if department:
        return department
    if interaction is not None:
        return interaction.department
    if referral is not None:
        return Department.CARE_COORDINATION
    raise InvalidInput(
        "Say what the survey rates: an interaction, a referral's visit or a department.",
        errors={"department": ["Required when no interaction or referral is named."]},
    )


def _check_touchpoint(
    patient: Patient, interaction: Interaction | None, referral: Referral | None
) -> None:
    if interaction is not None and referral is not None:
        raise InvalidInput(
            "A survey rates one touchpoint.",
            errors={"referral": ["Give an interaction or a referral, not both."]},
        )
    for name, linked in (("interaction", interaction), ("referral", referral)):
        if linked is not None and linked.patient_id != patient.pk:
            raise InvalidInput(
                f"The {name} belongs to another patient.",
                errors={name: ["Belongs to another patient."]},
            )


@transaction.atomic
def survey_invite(
    *,
    actor: Actor,
    patient: Patient,
    channel: str,
    language: str = "",
    interaction: Interaction | None = None,
    referral: Referral | None = None,
    department: str = "",
    at: datetime | None = None,
    token: str = "",
) -> tuple[SurveyInvitation, str]:
    """Make a survey's single-use link. Returns the invitation and the token, which is
    stored only as a hash (the caller may supply a token it can derive again, as the
    messaging app does to put the link in a text). The contact policy decides: a
    patient who opted out of surveys on the channel, or of all contact, is not invited
    (409)."""
    _check_touchpoint(patient, interaction, referral)
    at = at or timezone.now()
    require_contact(
        contact_policy(patient, purpose=ConsentPurpose.SURVEYS, channel=channel, at=at)
    )
    token = token or secrets.token_urlsafe(32)
    invitation = SurveyInvitation(
        patient=patient,
        token_hash=token_hash(token),
        channel=channel,
        language=language or survey_language_for(patient),
        interaction=interaction,
        referral=referral,
        department=_touchpoint_department(interaction, referral, department),
        sent_at=at,
        expires_at=at + SURVEY_LINK_LIFETIME,
        created_by=actor,
    )
    save_attributed(invitation, actor=actor, reason="survey sent")
    return invitation, token


def survey_invitation_for(token: str, *, now: datetime | None = None) -> SurveyInvitation:
    """The invitation a link's token opens, or SurveyLinkRefused."""
    now = now or timezone.now()
    if not token or len(token) > 100:
        raise SurveyLinkRefused("unknown")
    invitation = (
        SurveyInvitation.objects.select_related("patient")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if invitation is None:
        raise SurveyLinkRefused("unknown")
    if invitation.used_at is not None:
        raise SurveyLinkRefused("used", invitation.language)
    if invitation.expires_at <= now:
        raise SurveyLinkRefused("expired", invitation.language)
    return invitation


def _save_response(response: SurveyResponse, *, actor: Actor) -> SurveyResponse:
    full_clean(response)
    save_attributed(response, actor=actor, reason="survey response")
    rules.on_survey_response(response, actor=actor)
    return response


@transaction.atomic
def survey_answer(
    *,
    token: str,
    nps_score: int | None,
    csat_score: int | None,
    comment: str = "",
    now: datetime | None = None,
) -> SurveyResponse:
    """Store the patient's answer and spend the link. The conditional update makes the
    link single-use even when the form is sent twice at once."""
    now = now or timezone.now()
    invitation = survey_invitation_for(token, now=now)
    spent = SurveyInvitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(
        used_at=now
    )
    if not spent:
        raise SurveyLinkRefused("used", invitation.language)
    response = SurveyResponse(
        patient=invitation.patient,
        invitation=invitation,
        interaction=invitation.interaction,
        referral=invitation.referral,
        department=invitation.department,
        channel=invitation.channel,
        nps_score=nps_score,
        csat_score=csat_score,
        comment=comment,
        language=invitation.language,
        received_at=now,
    )
    return _save_response(response, actor=None)


@transaction.atomic
def survey_response_record(
    *,
    actor: Actor,
    patient: Patient,
    interaction: Interaction | None = None,
    referral: Referral | None = None,
    department: str = "",
    **fields: Any,
) -> SurveyResponse:
    """A response staff took down (by phone, in person)."""
    _check_touchpoint(patient, interaction, referral)
    response = SurveyResponse(
        patient=patient,
        interaction=interaction,
        referral=referral,
        department=_touchpoint_department(interaction, referral, department),
        recorded_by=actor,
        **fields,
    )
    return _save_response(response, actor=actor)
