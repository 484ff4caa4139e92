from django.db import models


class PatientStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DECEASED = "deceased", "Deceased"
    MERGED = "merged", "Merged"


class AdministrativeSex(models.TextChoices):
    """FHIR administrative-gender."""

    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class ContactSystem(models.TextChoices):
    PHONE = "phone", "Phone"
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"
    FAX = "fax", "Fax"
    OTHER = "other", "Other"


class ContactUse(models.TextChoices):
    HOME = "home", "Home"
    WORK = "work", "Work"
    MOBILE = "mobile", "Mobile"
    TEMP = "temp", "Temporary"
    OLD = "old", "Old / no longer in use"


class LanguageMode(models.TextChoices):
    SPOKEN = "spoken", "Spoken"
    WRITTEN = "written", "Written"


class InterpreterNeeded(models.TextChoices):
    """Three-valued, as US Core's interpreter-needed extension."""

    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Unknown"


class AccessibilityNeed(models.TextChoices):
    LARGE_PRINT = "large_print", "Large print"
    BRAILLE = "braille", "Braille"
    TTY_RELAY = "tty_relay", "TTY / relay service"
    SIGN_LANGUAGE_INTERPRETER = "sign_language_interpreter", "Sign-language interpreter"
    COGNITIVE_SUPPORT = "cognitive_support", "Cognitive support"
    OTHER = "other", "Other"


class ConsentPurpose(models.TextChoices):
    CARE_COORDINATION = "care_coordination", "Care coordination"
    APPOINTMENT_REMINDERS = "appointment_reminders", "Appointment reminders"
    BILLING = "billing", "Billing"
    SURVEYS = "surveys", "Surveys"
    MARKETING = "marketing", "Marketing"


class ConsentStatus(models.TextChoices):
    OPT_IN = "opt_in", "Opted in"
    OPT_OUT = "opt_out", "Opted out"


class ConsentSource(models.TextChoices):
    PHONE = "phone", "Phone"
    PORTAL = "portal", "Portal"
    PAPER_FORM = "paper_form", "Paper form"
    IN_PERSON = "in_person", "In person"
    PATIENT_REPLY = "patient_reply", "Patient reply (SMS keyword)"
    SELF_SERVICE = "self_service", "Patient self-service"


class LinkPurpose(models.TextChoices):
    """What a link sent to a patient opens (one purpose each)."""

    APPOINTMENT = "appointment", "Answer about an appointment"
    PREFERENCES = "preferences", "Choose how to be contacted"
    FEEDBACK = "feedback", "Tell the clinic something (a complaint, a compliment)"


class CandidateStatus(models.TextChoices):
    """Where a possible duplicate pair stands."""

    OPEN = "open", "To review"
    MERGED = "merged", "Merged"
    DISTINCT = "distinct", "Two people"
