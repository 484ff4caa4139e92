from django.db import models


class AppointmentStatus(models.TextChoices):
    """FHIR Appointment.status codes, those a clinic uses."""

    PROPOSED = "proposed", "Proposed"
    BOOKED = "booked", "Booked"
    CONFIRMED = "confirmed", "Confirmed"
    ARRIVED = "arrived", "Arrived"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "noshow", "No-show"


# Booked and still to happen: reminders go out.
WILL_HAPPEN = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)
# Still to happen (proposals too): the patient may still answer about it.
UPCOMING = (AppointmentStatus.PROPOSED, *WILL_HAPPEN)


class AppointmentAction(models.TextChoices):
    BOOK = "book", "Book"
    RESCHEDULE = "reschedule", "Reschedule"
    CONFIRM = "confirm", "Confirm"
    ARRIVE = "arrive", "Check in"
    FULFIL = "fulfil", "Record visit"
    CANCEL = "cancel", "Cancel"
    NO_SHOW = "no_show", "Record no-show"


class ChangedBy(models.TextChoices):
    """Who made a change, beyond the staff user or integration of the event's actor."""

    STAFF = "staff", "Staff"
    PATIENT = "patient", "The patient"
    INTEGRATION = "integration", "An integration"
    REFERRAL = "referral", "The referral"


class PatientAnswer(models.TextChoices):
    """What a patient can answer about an appointment (by text or on its page)."""

    CONFIRM = "confirm", "Confirm the appointment"
    RESCHEDULE = "reschedule", "Asks to reschedule"
    CANCEL = "cancel", "Cancel the appointment"
