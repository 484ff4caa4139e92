"""Reads for messages. Messages are interactions (the access policy's "interactions"
section): every role that reads interactions reads them."""

import datetime

from django.conf import settings
from django.db.models import QuerySet

from appointments.models import Appointment
from crm.access import Section, can
from crm.db import count_of
from crm.roles import StaffUser
from interactions.choices import Direction
from messaging.choices import MessageStatus, Template
from messaging.models import Message


def message_list(*, user: StaffUser) -> QuerySet[Message]:
    if not can(user, Section.INTERACTIONS):
        return Message.objects.none()
    return Message.objects.select_related("patient", "sent_by").order_by("-created_at", "-id")


def conversation(message: Message) -> QuerySet[Message]:
    """The thread a message is in: every text or email between the clinic and this
    patient's address on its channel, oldest first."""
    return (
        Message.objects.filter(
            patient_id=message.patient_id, channel=message.channel, address=message.address
        )
        .select_related("patient", "sent_by")
        .order_by("created_at", "id")
    )


def unanswered(*, user: StaffUser) -> QuerySet[Message]:
    """The inbox: patients' texts no one has answered yet, oldest first, each with the
    time by which it should be (``answer_due``)."""
    return (
        message_list(user=user)
        .filter(direction=Direction.INBOUND, answered_at__isnull=True)
        .order_by("created_at", "id")
    )


def answer_due(message: Message) -> datetime.datetime:
    return message.created_at + settings.MESSAGE_ANSWER_WITHIN


REACHED_PROVIDER = (MessageStatus.SENT, MessageStatus.DELIVERED)


def with_reminders_sent(appointments: QuerySet[Appointment]) -> QuerySet[Appointment]:
    """Each appointment with ``reminders_sent``: its reminders the provider took."""
    reminders = Message.objects.filter(
        rule=Template.APPOINTMENT_REMINDER, status__in=REACHED_PROVIDER
    )
    return appointments.annotate(reminders_sent=count_of(reminders, "appointment"))
