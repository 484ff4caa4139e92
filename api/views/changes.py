"""``GET /api/changes/``: the change feed (``integrations.feed``)."""

from drf_spectacular.utils import extend_schema
from oauth2_provider.models import AccessToken
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from api.audit import AuditedMixin
from api.serializers.changes import ChangePageSerializer, ChangeQuerySerializer
from crm.db import replica_reads
from crm.scopes import grants
from integrations.feed import change_page, entry, format_cursor, readable_types


class ChangeFeedView(AuditedMixin, GenericAPIView):
    """Every create, update and delete (a tombstone) of patients, interactions,
    messages, referrals, follow-ups, appointments, complaints and survey answers, in
    an order to resume from: keep `next` and ask with `after=next`. No change is
    skipped or repeated, whatever order concurrent transactions commit in. Each entry
    names the record; read it at its endpoint. Only the types and records the caller
    may read: its role's, and for an integration client its token's read scopes."""

    resource = "*"  # any read scope; the types follow the token's scopes
    serializer_class = ChangePageSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(parameters=[ChangeQuerySerializer], responses=ChangePageSerializer)
    @replica_reads()
    def get(self, request):
        query = ChangeQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        options = query.validated_data
        token = request.auth if isinstance(request.auth, AccessToken) else None
        scopes = token.scope.split() if token else []
        types = readable_types(
            request.user,
            options.get("types", []),
            lambda resource: token is None or grants(scopes, resource, "read"),
        )
        page, resume = change_page(
            user=request.user,
            after=options.get("after", (0, 0)),
            types=types,
            limit=options["limit"],
        )
        return Response(
            ChangePageSerializer(
                {
                    "results": [entry(change) for change in page],
                    "next": format_cursor(resume),
                    "more": len(page) == options["limit"],
                }
            ).data
        )
