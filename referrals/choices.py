from django.db import models


class ReferralStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    SCHEDULED = "scheduled", "Scheduled"
    NO_SHOW = "no_show", "No-show"
    SEEN = "seen", "Seen, report pending"
    CLOSED = "closed", "Closed (report received)"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATUSES = (
    ReferralStatus.DRAFT,
    ReferralStatus.SENT,
    ReferralStatus.ACCEPTED,
    ReferralStatus.SCHEDULED,
    ReferralStatus.NO_SHOW,
    ReferralStatus.SEEN,
)

# How each state is said in FHIR and BSeR (docs/domain.md, referrals).
FHIR_SERVICE_REQUEST_STATUS = {
    ReferralStatus.DRAFT: "draft",
    ReferralStatus.SENT: "active",
    ReferralStatus.ACCEPTED: "active",
    ReferralStatus.DECLINED: "revoked",
    ReferralStatus.SCHEDULED: "active",
    ReferralStatus.NO_SHOW: "active",
    ReferralStatus.SEEN: "active",
    ReferralStatus.CLOSED: "completed",
    ReferralStatus.CANCELLED: "revoked",
}
FHIR_TASK_STATUS = {
    ReferralStatus.DRAFT: "draft",
    ReferralStatus.SENT: "requested",
    ReferralStatus.ACCEPTED: "accepted",
    ReferralStatus.DECLINED: "rejected",
    ReferralStatus.SCHEDULED: "in-progress",
    ReferralStatus.NO_SHOW: "in-progress",
    ReferralStatus.SEEN: "in-progress",
    ReferralStatus.CLOSED: "completed",
    ReferralStatus.CANCELLED: "cancelled",
}
# BSeR's Task business status (its TaskBusinessStatusCS, with that code system's
# displays); a draft has none.
BSER_BUSINESS_STATUS = {
    ReferralStatus.SENT: ("2.0", "Service Request Created"),
    ReferralStatus.ACCEPTED: ("3.0", "Service Request Accepted"),
    ReferralStatus.DECLINED: ("4.0", "Service Request Declined"),
    ReferralStatus.SCHEDULED: ("5.1.1", "Service Request Event Scheduled"),
    ReferralStatus.NO_SHOW: ("5.1.2", "Scheduled Service Request Event Unattended"),
    ReferralStatus.SEEN: ("5.1.4", "Service Request Event Completed"),
    ReferralStatus.CLOSED: ("7.0", "Service Request Fulfillment Completed"),
    ReferralStatus.CANCELLED: ("6.0", "Service Request Fulfillment Cancelled"),
}


class ReferralPriority(models.TextChoices):
    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"
    STAT = "stat", "STAT"


# Most urgent first; used for ordering.
PRIORITY_RANK = {ReferralPriority.STAT: 0, ReferralPriority.URGENT: 1, ReferralPriority.ROUTINE: 2}


class ReferralAction(models.TextChoices):
    CREATE = "create", "Create"
    SEND = "send", "Send"
    ACCEPT = "accept", "Accept"
    DECLINE = "decline", "Decline"
    SCHEDULE = "schedule", "Schedule"
    NO_SHOW = "no_show", "Record no-show"
    SEEN = "seen", "Record visit"
    CLOSE = "close", "Close with report"
    CANCEL = "cancel", "Cancel"
    REOPEN = "reopen", "Reopen"


class FollowUpKind(models.TextChoices):
    CALLBACK = "callback", "Call back"
    APPOINTMENT_REMINDER = "appointment_reminder", "Appointment reminder"
    VISIT_CONFIRMATION = "visit_confirmation", "Confirm visit or record no-show"
    REPORT_REQUEST = "report_request", "Request consult report"
    FIND_PROVIDER = "find_provider", "Find another provider"
    REBOOK = "rebook", "Rebook a missed appointment"
    POST_VISIT_CHECK_IN = "post_visit_check_in", "Post-visit check-in"
    SERVICE_RECOVERY = "service_recovery", "Service-recovery call"
    ANSWER_MESSAGE = "answer_message", "Answer the patient's message"
    OTHER = "other", "Other"


class FollowUpStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class FollowUpPriority(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


FOLLOW_UP_PRIORITY_RANK = {
    FollowUpPriority.HIGH: 0,
    FollowUpPriority.MEDIUM: 1,
    FollowUpPriority.LOW: 2,
}
