from api.pagination import keyset
from api.serializers.interactions import InteractionSerializer
from api.views.base import WRITE_PARAMETERS, RecordViewSet
from interactions.filtersets import InteractionFilterSet
from interactions.selectors import interaction_list
from interactions.services import interaction_create, interaction_update


@WRITE_PARAMETERS
class InteractionViewSet(RecordViewSet):
    """Interactions on every channel, newest first. Restricted ones are visible only to
    clinicians and the patient's assigned coordinator."""

    serializer_class = InteractionSerializer
    filterset_class = InteractionFilterSet
    pagination_class = keyset("-occurred_at", "-id")
    create_service = interaction_create
    update_service = interaction_update
    instance_name = "interaction"

    def get_queryset(self):
        return interaction_list(user=self.request.user)
