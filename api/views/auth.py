"""Signing in for scripts, listing and revoking tokens, signing out everywhere."""

from django.contrib.auth import authenticate, get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from api.fields import ModelSerializer, Serializer
from api.serializers.common import ErrorSerializer
from crm.authentication import (
    api_token_create,
    api_token_revoke,
    locked_out_message,
    sign_out_everywhere,
)
from crm.errors import InvalidCredentials, LockedOut, NotAllowed
from crm.models import ApiToken
from crm.roles import Role, has_role


class TokenRequestSerializer(Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    name = serializers.CharField(max_length=100, default="script")


class ApiTokenSerializer(ModelSerializer):
    key = serializers.SerializerMethodField(help_text="Only in the answer that creates it.")

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "last_used_at",
            "revoked_at",
            "key",
            "user",
        ]
        read_only_fields = fields

    def get_key(self, token) -> str | None:
        return getattr(token, "key", None)


@extend_schema(
    request=TokenRequestSerializer,
    responses={201: ApiTokenSerializer, 401: ErrorSerializer, 429: ErrorSerializer},
)
@api_view(["POST"])
@permission_classes([AllowAny])
def token_create(request):
    """Sign in a script: a new named token for these credentials. Repeated failures
    lock the account (429) until the lockout ends or an administrator unlocks it."""
    data = TokenRequestSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    user = authenticate(
        request._request,
        username=data.validated_data["username"],
        password=data.validated_data["password"],
    )
    if getattr(request._request, "axes_locked_out", False):
        raise LockedOut(locked_out_message(request._request))
    if user is None or not user.is_active:
        raise InvalidCredentials("The username or password is not right.")
    token, key = api_token_create(user=user, name=data.validated_data["name"])
    token.key = key
    return Response(ApiTokenSerializer(token).data, status=status.HTTP_201_CREATED)


class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """My tokens (an administrator sees everyone's); DELETE revokes one."""

    serializer_class = ApiTokenSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        tokens = ApiToken.objects.all()
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return tokens.none()
        if not has_role(self.request.user, Role.ADMIN):
            tokens = tokens.filter(user=self.request.user)
        return tokens

    def perform_destroy(self, instance):
        api_token_revoke(instance)


class SignOutSerializer(Serializer):
    user_id = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(),
        source="user",
        required=False,
        help_text="An administrator may sign someone else out.",
    )


class SignedOutSerializer(Serializer):
    tokens = serializers.IntegerField()
    sessions = serializers.IntegerField()


@extend_schema(request=SignOutSerializer, responses=SignedOutSerializer)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
def sign_out_everywhere_view(request):
    """End every session and revoke every token of the user (by default, yourself)."""
    data = SignOutSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    user = data.validated_data.get("user", request.user)
    if user != request.user and not has_role(request.user, Role.ADMIN):
        raise NotAllowed("Only an administrator may sign someone else out.")
    return Response(sign_out_everywhere(user))
