import copy

from api.pagination import keyset
from api.serializers.interactions import InteractionSerializer
from api.views.base import WRITE_PARAMETERS, RecordViewSet
from crm.access import Section, require_row
from interactions.choices import Sensitivity
from interactions.filtersets import InteractionFilterSet
from interactions.models import Interaction
from interactions.selectors import interaction_list
from interactions.services import interaction_create, interaction_update


@WRITE_PARAMETERS
class InteractionViewSet(RecordViewSet):
    """Interactions on every channel, newest first. Restricted ones are visible only to
    clinicians and the patient's assigned coordinator."""

    resource = "Communication"

    serializer_class = InteractionSerializer
    filterset_class = InteractionFilterSet
    pagination_class = keyset("-occurred_at", "-id")
    create_service = interaction_create
    update_service = interaction_update
    instance_name = "interaction"

    section = Section.INTERACTIONS

    def get_queryset(self):
        return interaction_list(user=self.request.user)

    def _check_write(self, row) -> None:
        """Billing and pharmacy write their own department's interactions; restricted
        ones are written by clinicians and, for their patients, coordinators."""
        user = self.request.user
        require_row(user, Section.INTERACTIONS, row)
        if row.sensitivity == Sensitivity.RESTRICTED:
            require_row(user, Section.RESTRICTED, row)

    def perform_create(self, serializer):
        self._check_write(Interaction(**serializer.validated_data))
        super().perform_create(serializer)

    def perform_update(self, serializer):
        self._check_write(serializer.instance)
        changed = copy.copy(serializer.instance)
        for name, value in serializer.validated_data.items():
            setattr(changed, name, value)
        self._check_write(changed)
        super().perform_update(serializer)
