"""Messages: the list and each message's steps, send, preview, reply, cancel, a
message's conversation, and the inbox of patients' texts waiting for an answer."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.audit import AuditedMixin
from api.mixins import IdempotentCreateMixin
from api.pagination import keyset
from api.serializers.common import InvalidTransitionSerializer
from api.serializers.messages import (
    MessageCancelSerializer,
    MessageDraftSerializer,
    MessageEventSerializer,
    MessagePreviewSerializer,
    MessageReplySerializer,
    MessageSerializer,
)
from api.views.base import refuse_merged
from crm.access import Section, departments, require_row
from crm.choices import Department
from messaging import selectors
from messaging.filtersets import MessageFilterSet
from messaging.models import Message
from messaging.services import message_cancel, message_draft, message_queue, message_reply


class _Send:
    """``POST /api/messages/``: queue a message (below IdempotentCreateMixin, so a
    retried POST with the same Idempotency-Key does not send twice)."""

    @extend_schema(
        request=MessageDraftSerializer,
        responses={201: MessageSerializer, 409: InvalidTransitionSerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = MessageDraftSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        refuse_merged(data["patient"])
        text = data.pop("text", "")
        message = message_queue(
            actor=request.user,
            department=self._department(data),
            values={"text": text} if text else {},
            **data,
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class MessageViewSet(
    AuditedMixin,
    IdempotentCreateMixin,
    _Send,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Texts and emails to and from patients, newest first. Sending goes through the
    contact policy: a refusal is a 409 that says why, and `preview` gives the same
    answer, with the text in the patient's language, before anything is sent."""

    resource = "Communication"

    serializer_class = MessageSerializer
    filterset_class = MessageFilterSet
    pagination_class = keyset("-created_at", "-id")
    section = Section.INTERACTIONS

    def get_queryset(self):
        return selectors.message_list(user=self.request.user)

    def _department(self, data: dict) -> str:
        """The team the message speaks for: as asked, else the sender's own; billing
        and pharmacy send for their own department only."""
        own = departments(self.request.user)
        department = data.pop("department", None) or (
            own[0] if own else Department.CARE_COORDINATION
        )
        require_row(self.request.user, Section.INTERACTIONS, Message(department=department))
        return department

    @extend_schema(request=MessageDraftSerializer, responses=MessagePreviewSerializer)
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def preview(self, request):
        """The message as it would go out now, and the contact policy's answer. Sends
        nothing."""
        serializer = MessageDraftSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        self._department(data)
        text = data.pop("text", "")
        draft = message_draft(
            patient=data["patient"],
            purpose=data["purpose"],
            channel=data.get("channel", ""),
            template=data["template"],
            values={"text": text} if text else {},
        )
        decision, rendered = draft.decision, draft.rendered
        count = draft.segments
        return Response(
            MessagePreviewSerializer(
                {
                    "allowed": decision.allowed,
                    "code": decision.code,
                    "reason": decision.reason,
                    "notes": decision.notes,
                    "channel": decision.channel,
                    "address": decision.address,
                    "language": decision.language,
                    "language_used": rendered.language if rendered else None,
                    "fallback": bool(
                        rendered and decision.language and rendered.language != decision.language
                    ),
                    "subject": rendered.subject if rendered else "",
                    "body": rendered.body if rendered else "",
                    "segments": count[0] if count else None,
                    "encoding": count[1] if count else "",
                    "send_after": draft.send_after,
                }
            ).data
        )

    @extend_schema(responses=MessageEventSerializer(many=True))
    @action(detail=True, filter_backends=[], pagination_class=None)
    def events(self, request, pk=None):
        """Every step of the message: who or what moved it, when, and why."""
        message = self.get_object()
        events = message.events.select_related("actor").order_by("occurred_at", "id")
        return Response(MessageEventSerializer(events, many=True).data)

    @extend_schema(responses=MessageSerializer(many=True))
    @action(detail=True, filter_backends=[], pagination_class=None)
    def conversation(self, request, pk=None):
        """The thread the message is in, oldest first."""
        message = self.get_object()
        return Response(MessageSerializer(selectors.conversation(message), many=True).data)

    @extend_schema(
        request=MessageReplySerializer,
        responses={201: MessageSerializer, 409: InvalidTransitionSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def reply(self, request, pk=None):
        """Answer a patient's text on the same thread; their unanswered texts, and the
        follow-up to answer them, count as answered."""
        message = self.get_object()
        require_row(request.user, Section.INTERACTIONS, message)
        data = MessageReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reply = message_reply(
            actor=request.user, message=message, text=data.validated_data["text"]
        )
        return Response(MessageSerializer(reply).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=MessageCancelSerializer,
        responses={200: MessageSerializer, 409: InvalidTransitionSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def cancel(self, request, pk=None):
        """Stop a queued message from going out."""
        message = self.get_object()
        require_row(request.user, Section.INTERACTIONS, message)
        data = MessageCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = message_cancel(
            actor=request.user, message=message, reason=data.validated_data["reason"]
        )
        return Response(MessageSerializer(message).data)

    @extend_schema(responses=MessageSerializer(many=True))
    @action(detail=False, pagination_class=keyset("created_at", "id"))
    def inbox(self, request):
        """Patients' texts waiting for an answer, oldest first, each with the time it
        should be answered by (`answer_due`). Takes the list's filters (`department`)."""
        queryset = self.filter_queryset(selectors.unanswered(user=request.user))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(MessageSerializer(page, many=True).data)
