from django.db import models

from crm.choices import Sensitivity  # noqa: F401 (shared; named here with its peers)


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


class InteractionPriority(models.TextChoices):
    """The same values as follow-up and complaint priorities."""

    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"


# Priority by interaction type (docs/domain.md, interactions): the default priority of
# the follow-ups and complaints that arise from a topic.
TOPIC_PRIORITY: dict[str, str] = {
    Topic.SCHEDULING: InteractionPriority.HIGH,
    Topic.COMPLAINT: InteractionPriority.HIGH,
    Topic.REFERRAL: InteractionPriority.HIGH,
    Topic.TEST_RESULTS: InteractionPriority.HIGH,
    Topic.GENERAL: InteractionPriority.HIGH,
    Topic.PHARMACY: InteractionPriority.HIGH,
    Topic.BILLING: InteractionPriority.MEDIUM,
    Topic.EDUCATION: InteractionPriority.MEDIUM,
}


class ComplaintCategory(models.TextChoices):
    WAIT_TIME = "wait_time", "Wait time"
    BILLING = "billing", "Billing"
    STAFF_ATTITUDE = "staff_attitude", "Staff attitude"
    COMMUNICATION = "communication", "Communication"
    CLINICAL_CARE = "clinical_care", "Clinical care"
    FACILITY = "facility", "Facility"
    ACCESS_TO_INFORMATION = "access_to_information", "Access to information"
    OTHER = "other", "Other"


class ComplaintPriority(models.TextChoices):
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


COMPLAINT_PRIORITY_RANK: dict[str, int] = {
    ComplaintPriority.URGENT: 0,
    ComplaintPriority.HIGH: 1,
    ComplaintPriority.MEDIUM: 2,
}

# The topic a complaint category is about, for its default priority (TOPIC_PRIORITY):
# billing and insurance and patient education are MEDIUM, every other complaint HIGH.
CATEGORY_TOPIC: dict[str, str] = {
    ComplaintCategory.BILLING: Topic.BILLING,
    ComplaintCategory.ACCESS_TO_INFORMATION: Topic.EDUCATION,
}


class ComplaintStatus(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    INVESTIGATING = "investigating", "Investigating"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


COMPLAINT_OPEN_STATUSES = (
    ComplaintStatus.NEW,
    ComplaintStatus.ACKNOWLEDGED,
    ComplaintStatus.INVESTIGATING,
)


class ComplaintAction(models.TextChoices):
    CREATE = "create", "Create"
    ACKNOWLEDGE = "acknowledge", "Acknowledge"
    INVESTIGATE = "investigate", "Investigate"
    RESOLVE = "resolve", "Resolve"
    CLOSE = "close", "Close"
    REOPEN = "reopen", "Reopen"


class SurveyLanguage(models.TextChoices):
    """Languages the survey page is written in."""

    ENGLISH = "en", "English"
    SPANISH = "es", "Español"
    CHINESE = "zh-Hans", "简体中文"
    CHINESE_TRADITIONAL = "zh-Hant", "繁體中文"
    VIETNAMESE = "vi", "Tiếng Việt"
    KOREAN = "ko", "한국어"
    TAGALOG = "tl", "Tagalog"
    RUSSIAN = "ru", "Русский"
    ARABIC = "ar", "العربية"
    HAITIAN_CREOLE = "ht", "Kreyòl ayisyen"
    PORTUGUESE = "pt", "Português"
