"""Code lists shared by several apps."""

from django.db import models


class Department(models.TextChoices):
    CARE_COORDINATION = "care_coordination", "Care coordination"
    BILLING = "billing", "Billing"
    PHARMACY = "pharmacy", "Pharmacy"
    FRONT_DESK = "front_desk", "Front desk"
    CONTACT_CENTER = "contact_center", "Contact center"
    CLINICAL = "clinical", "Clinical"


class Channel(models.TextChoices):
    """Every channel a patient can be reached or reach us on (FHIR ParticipationMode)."""

    PHONE = "phone", "Phone"
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    PORTAL = "portal", "Portal secure message"
    VIDEO = "video", "Video"
    IN_PERSON = "in_person", "In person"
    SOCIAL = "social", "Social media / public review"
    LETTER = "letter", "Letter"
    CHATBOT = "chatbot", "Chatbot"


class Sensitivity(models.TextChoices):
    """Restricted items (behavioural health, substance use, HIV and the like) are seen
    only by clinicians, the patient's coordinator, or under a break-the-glass grant."""

    NORMAL = "normal", "Normal"
    RESTRICTED = "restricted", "Restricted"
