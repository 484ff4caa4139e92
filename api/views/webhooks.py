"""``/api/webhooks/``: an integration's subscriptions to the change feed
(``integrations.webhooks``)."""

from django.db import transaction
from drf_spectacular.utils import extend_schema
from oauth2_provider.models import AccessToken
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.serializers.webhooks import (
    ResendSerializer,
    WebhookCreatedSerializer,
    WebhookDeliverySerializer,
    WebhookSerializer,
)
from crm.roles import Role, has_role
from integrations.models import WebhookSubscription
from integrations.webhooks import new_secret, resend_from


class WebhookViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Register a URL to receive the change feed as it grows: the record types wanted
    (every type the caller may read by default), signed with the secret returned once
    at registration, retried with backoff while the receiver fails, in feed order.
    Each subscription receives only what its owner may read (for a client, what its
    token's read scopes allow). `deliveries` is the log of attempts; `resend` delivers
    again from an earlier cursor. An integration sees its own; an administrator all."""

    serializer_class = WebhookSerializer
    resource = "*"  # it only reads: any read scope will do
    scope_mode = "read"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema, with no user
            return WebhookSubscription.objects.none()
        mine = WebhookSubscription.objects.filter(active=True).order_by("id")
        return (
            mine
            if has_role(self.request.user, Role.ADMIN)
            else mine.filter(owner=self.request.user)
        )

    @extend_schema(responses={201: WebhookCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = WebhookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = request.auth if isinstance(request.auth, AccessToken) else None
        subscription = serializer.save(
            owner=request.user,
            secret=new_secret(),
            scopes=token.scope if token else "",
        )
        return Response(
            WebhookCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED
        )

    def perform_destroy(self, instance):
        instance.active = False
        instance.save(update_fields=["active"])

    @extend_schema(responses=WebhookDeliverySerializer(many=True))
    @action(detail=True)
    def deliveries(self, request, pk=None):
        """The latest attempts, newest first."""
        deliveries = self.get_object().deliveries.order_by("-attempted_at", "-id")
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(request=ResendSerializer, responses=WebhookSerializer)
    @action(detail=True, methods=["post"])
    @transaction.atomic
    def resend(self, request, pk=None):
        """Deliver again every change after `after` (the receiver lost them)."""
        subscription = self.get_object()
        data = ResendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        resend_from(subscription, data.validated_data["after"])
        return Response(WebhookSerializer(subscription).data)
