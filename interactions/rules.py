"""Care-continuity rules that interactions and feedback trigger.

Rule (follow-up kind)   fires when                                   due
- callback              an interaction's outcome: follow-up needed   next business day
- service_recovery      a survey response is a detractor             next business day

A callback goes to whoever logged the interaction, else its department queue, with the
priority of the interaction's topic; service recovery to the rated department's queue.
Both are created through ``referrals.rules.create_once``, once per occasion.
"""

from crm.periods import next_business_day
from crm.roles import Actor
from interactions.choices import TOPIC_PRIORITY, Outcome, Topic
from interactions.models import Interaction, SurveyResponse
from patients.choices import ConsentPurpose
from referrals.choices import FollowUpKind, FollowUpPriority
from referrals.rules import Need, contact_plan, create_once


def interaction_callback(interaction: Interaction) -> Need:
    contact, note = contact_plan(
        interaction.patient, ConsentPurpose.CARE_COORDINATION, interaction.occurred_at
    )
    return Need(
        rule=FollowUpKind.CALLBACK,
        key=str(interaction.pk),
        patient=interaction.patient,
        title="Call back"
        if interaction.topic == Topic.GENERAL
        else f"Call back about {interaction.get_topic_display().lower()}",
        due_at=next_business_day(interaction.occurred_at),
        priority=FollowUpPriority(TOPIC_PRIORITY[interaction.topic]),
        interaction=interaction,
        contact=contact,
        note=note,
        assigned_to=interaction.staff,
        queue="" if interaction.staff else interaction.department,
    )


def service_recovery(response: SurveyResponse) -> Need:
    scores = ", ".join(
        f"{name} {score}"
        for name, score in (("NPS", response.nps_score), ("CSAT", response.csat_score))
        if score is not None
    )
    contact, note = contact_plan(
        response.patient, ConsentPurpose.CARE_COORDINATION, response.received_at
    )
    comment = f' Comment: "{response.comment[:300]}"' if response.comment else ""
    return Need(
        rule=FollowUpKind.SERVICE_RECOVERY,
        key=str(response.pk),
        patient=response.patient,
        title=f"Service-recovery call after a low rating ({scores})",
        due_at=next_business_day(response.received_at),
        queue=response.department,
        priority=FollowUpPriority.HIGH,
        interaction=response.interaction,
        referral=response.referral,
        contact=contact,
        note=(note + comment).strip(),
    )


def on_interaction_logged(interaction: Interaction, *, actor: Actor) -> None:
    if interaction.outcome == Outcome.FOLLOW_UP_NEEDED:
        create_once(interaction_callback(interaction), actor=actor, at=interaction.occurred_at)


def on_survey_response(response: SurveyResponse, *, actor: Actor) -> None:
    """A detractor (NPS 0-6 or CSAT 1-2) gets a service-recovery call from the
    responsible department."""
    if response.is_detractor:
        create_once(service_recovery(response), actor=actor, at=response.received_at)
