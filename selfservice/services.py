"""What the patient's pages write: each change lands where staff look for it (the
consents, the complaint worklist, the 360's timeline) in one transaction."""

import datetime

from django.db import transaction

from crm.choices import Channel, Department
from interactions.choices import ComplaintCategory, Direction, Topic
from interactions.models import Complaint
from interactions.service_levels import due, targets
from interactions.services import complaint_create, interaction_create
from messaging.choices import Sender, Template
from messaging.services import message_queue
from patients.choices import ConsentPurpose
from patients.links import LinkRefused
from patients.models import PatientLink
from patients.services import Preferences, preferences_save

# The team a complaint from the page goes to, by what it is about.
COMPLAINT_DEPARTMENT = {
    ComplaintCategory.WAIT_TIME: Department.FRONT_DESK,
    ComplaintCategory.BILLING: Department.BILLING,
    ComplaintCategory.STAFF_ATTITUDE: Department.CONTACT_CENTER,
    ComplaintCategory.COMMUNICATION: Department.CONTACT_CENTER,
    ComplaintCategory.CLINICAL_CARE: Department.CLINICAL,
    ComplaintCategory.FACILITY: Department.FRONT_DESK,
    ComplaintCategory.ACCESS_TO_INFORMATION: Department.CARE_COORDINATION,
    ComplaintCategory.OTHER: Department.CONTACT_CENTER,
}
# What the patient may tell on the page besides a complaint: it lands on the timeline.
REMARKS = {"compliment": "A compliment", "suggestion": "A suggestion"}
# The answer the patient is promised when no service level is set for the priority.
RESPONSE_WITHOUT_TARGET = datetime.timedelta(days=2)


@transaction.atomic
def preferences_change(
    *, link: PatientLink, chosen: Preferences, at: datetime.datetime
) -> list[str]:
    """The patient's choices from their preferences page: consents, language, hours
    and channel (``patients.services.preferences_save``), and a line on the timeline
    saying what changed."""
    changes = preferences_save(patient=link.patient, chosen=chosen, at=at)
    if changes:
        _on_the_timeline(
            link,
            "The patient changed their contact preferences on their page:\n" + "\n".join(changes),
            department=Department.CARE_COORDINATION,
            at=at,
        )
    link.used_at = at
    link.save(update_fields=["used_at"])
    return changes


@transaction.atomic
def tell_us(
    *, link: PatientLink, kind: str, category: str, text: str, at: datetime.datetime
) -> tuple[Complaint | None, datetime.datetime | None]:
    """What the patient wrote on the page their feedback link opens (once). A
    complaint enters the complaint workflow, in its department's queue with its
    service levels, and the patient is sent an acknowledgment with its reference
    and the date of the first response; a compliment or suggestion lands on the
    timeline. Returns the complaint and when it will be answered."""
    link = PatientLink.objects.select_for_update().select_related("patient").get(pk=link.pk)
    if link.used_at is not None:
        raise LinkRefused("used", link)
    link.used_at = at
    link.save(update_fields=["used_at"])
    patient = link.patient
    if kind not in REMARKS:
        complaint = complaint_create(
            actor=None,
            patient=patient,
            at=at,
            channel=Channel.PORTAL,
            category=category,
            department=COMPLAINT_DEPARTMENT[category],
            description=text,
        )
        answer_by = due(complaint, targets(), at).first_response_due
        answer_by = answer_by or at + RESPONSE_WITHOUT_TARGET
        _on_the_timeline(
            link,
            f"A complaint from the patient's page:\n{text}",
            department=complaint.department,
            at=at,
            topic=Topic.COMPLAINT,
            complaint=complaint,
        )
        message_queue(
            actor=None,
            patient=patient,
            purpose=ConsentPurpose.CARE_COORDINATION,
            department=complaint.department,
            template=Template.COMPLAINT_RECEIVED,
            values={"reference": str(complaint.pk), "at": answer_by.isoformat()},
            sender=Sender.RULE,
            rule=Template.COMPLAINT_RECEIVED,
            occasion=f"complaint:{complaint.pk}",
            at=at,
        )
        return complaint, answer_by
    _on_the_timeline(
        link,
        f"{REMARKS[kind]} from the patient's page:\n{text}",
        department=Department.CONTACT_CENTER,
        at=at,
    )
    return None, None


def _on_the_timeline(
    link: PatientLink, summary: str, *, department: str, at: datetime.datetime, **more
) -> None:
    """What the patient did on their page, as an inbound contact on the 360's timeline."""
    interaction_create(
        actor=None,
        patient=link.patient,
        channel=Channel.PORTAL,
        direction=Direction.INBOUND,
        department=department,
        occurred_at=at,
        summary=summary,
        **more,
    )
