from django.db import models


class MessageChannel(models.TextChoices):
    """The channels a message is sent on (a subset of ``crm.choices.Channel``, with
    the same values, so a message's interaction carries its channel as is)."""

    SMS = "sms", "SMS"
    EMAIL = "email", "Email"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    UNDELIVERABLE = "undeliverable", "Undeliverable"
    REFUSED = "refused", "Refused by the contact policy"
    CANCELLED = "cancelled", "Cancelled"
    RECEIVED = "received", "Received"


class MessageAction(models.TextChoices):
    CLAIM = "claim", "Hand to a worker"
    HAND_OFF = "hand_off", "Accepted by the provider"
    DELIVER = "deliver", "Delivered"
    RETRY = "retry", "Retry later"
    WAIT = "wait", "Wait for the contact window"
    FAIL = "fail", "Failed"
    BOUNCE = "bounce", "Undeliverable"
    REFUSE = "refuse", "Refused"
    CANCEL = "cancel", "Cancel"


class Sender(models.TextChoices):
    STAFF = "staff", "Staff"
    RULE = "rule", "Automation rule"
    INTEGRATION = "integration", "Integration"
    PATIENT = "patient", "Patient"


class Template(models.TextChoices):
    APPOINTMENT_REMINDER = "appointment_reminder", "Appointment reminder"
    REFERRAL_SCHEDULED = "referral_scheduled", "Referral scheduled"
    REPORT_REQUEST = "report_request", "Report requested from the patient"
    SURVEY_INVITATION = "survey_invitation", "Survey invitation"
    CALLBACK_MISSED = "callback_missed", "Call-back missed"
    APPOINTMENT_MISSED = "appointment_missed", "Missed appointment: book again"
    PREFERENCES_LINK = "preferences_link", "Link: choose how the clinic contacts you"
    FEEDBACK_LINK = "feedback_link", "Link: feedback and complaint form"
    COMPLAINT_RECEIVED = "complaint_received", "Complaint received"
    # A department's event told to the patient (``integrations``: its kind's name).
    PRESCRIPTION_READY = "prescription_ready", "Prescription ready for pickup"
    REFILL_DUE = "refill_due", "Refill due"
    RESULT_AVAILABLE = "result_available", "Test result available"
    STATEMENT_ISSUED = "statement_issued", "Statement issued"
    PAYMENT_PLAN_AGREED = "payment_plan_agreed", "Payment plan agreed"
    CLAIM_DENIED = "claim_denied", "Insurance claim denied"
    GENERAL = "general", "General (free text)"
    # Answers to the SMS keywords; sent by the system, never chosen by staff.
    OPTED_OUT = "opted_out", "Opt-out confirmation"
    OPTED_IN = "opted_in", "Opt-in confirmation"
    HELP = "help", "Help"


class Keyword(models.TextChoices):
    """What an inbound text asked for, when it is one of the standard keywords."""

    STOP = "stop", "Stop"
    START = "start", "Start"
    HELP = "help", "Help"
    # Answers to an appointment reminder.
    CONFIRM = "confirm", "Confirm the appointment"
    RESCHEDULE = "reschedule", "Asks to reschedule"
    CANCEL = "cancel", "Cancel the appointment"
