from django.db import models

from crm.choices import Department
from patients.choices import ConsentPurpose


class EventKind(models.TextChoices):
    """What a department's system reports about a patient. A lab event says that a
    result is there, never what it is."""

    PRESCRIPTION_READY = "prescription_ready", "Prescription ready for pickup"
    REFILL_DUE = "refill_due", "Refill due"
    RESULT_AVAILABLE = "result_available", "Test result available"
    STATEMENT_ISSUED = "statement_issued", "Statement issued"
    PAYMENT_PLAN_AGREED = "payment_plan_agreed", "Payment plan agreed"
    CLAIM_DENIED = "claim_denied", "Insurance claim denied"


K = EventKind
# Whose event each kind is: its readers (crm.access, "department events") and the queue
# that calls the patient when a message cannot go. Lab and test results are the
# clinicians'.
KIND_DEPARTMENT: dict[str, str] = {
    K.PRESCRIPTION_READY: Department.PHARMACY,
    K.REFILL_DUE: Department.PHARMACY,
    K.RESULT_AVAILABLE: Department.CLINICAL,
    K.STATEMENT_ISSUED: Department.BILLING,
    K.PAYMENT_PLAN_AGREED: Department.BILLING,
    K.CLAIM_DENIED: Department.BILLING,
}
# The consent a message about each kind needs.
KIND_PURPOSE: dict[str, str] = {
    K.PRESCRIPTION_READY: ConsentPurpose.CARE_COORDINATION,
    K.REFILL_DUE: ConsentPurpose.CARE_COORDINATION,
    K.RESULT_AVAILABLE: ConsentPurpose.CARE_COORDINATION,
    K.STATEMENT_ISSUED: ConsentPurpose.BILLING,
    K.PAYMENT_PLAN_AGREED: ConsentPurpose.BILLING,
    K.CLAIM_DENIED: ConsentPurpose.BILLING,
}
