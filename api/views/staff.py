from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny

from api.fields import ModelSerializer
from crm.roles import Role


class StaffSerializer(ModelSerializer):
    name = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "name", "roles"]

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()

    def get_roles(self, user) -> list[str]:
        return sorted(group.name for group in user.groups.all() if group.name in Role.values)


class StaffViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Active staff with their roles, for choosing a coordinator or an assignee."""

    serializer_class = StaffSerializer
    queryset = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=Role.values)
        .distinct()
        .prefetch_related(Prefetch("groups", queryset=Group.objects.only("name")))
        .order_by("username")
    )


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@permission_classes([AllowAny])
def not_found(request, *args, **kwargs):
    raise NotFound("There is no API endpoint at this address.")
