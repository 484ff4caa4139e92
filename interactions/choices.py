from django.db import models


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class Topic(models.TextChoices):
    SCHEDULING = "scheduling", "Scheduling"
    BILLING = "billing", "Billing and insurance"
    PHARMACY = "pharmacy", "Pharmacy and refills"
    TEST_RESULTS = "test_results", "Test results"
    REFERRAL = "referral", "Referral"
    COMPLAINT = "complaint", "Complaint"
    EDUCATION = "education", "Education"
    GENERAL = "general", "General"


class Outcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    FOLLOW_UP_NEEDED = "follow_up_needed", "Follow-up needed"
    ESCALATED = "escalated", "Escalated"
    NO_ANSWER = "no_answer", "No answer / left message"


class Sensitivity(models.TextChoices):
    NORMAL = "normal", "Normal"
    RESTRICTED = "restricted", "Restricted"


class InteractionPriority(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"


# DOMAIN.md section 3: priority by interaction type.
TOPIC_PRIORITY = {
    Topic.SCHEDULING: InteractionPriority.HIGH,
    Topic.COMPLAINT: InteractionPriority.HIGH,
    Topic.REFERRAL: InteractionPriority.HIGH,
    Topic.TEST_RESULTS: InteractionPriority.HIGH,
    Topic.GENERAL: InteractionPriority.HIGH,
    Topic.PHARMACY: InteractionPriority.HIGH,
    Topic.BILLING: InteractionPriority.MEDIUM,
    Topic.EDUCATION: InteractionPriority.MEDIUM,
}
