"""The duplicate worklist: records that may be one person, best score first, for the
registration team to merge or to mark as two people; and the population scan."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.audit import AuditedMixin
from api.pagination import keyset
from api.serializers.patients import DuplicateCandidateSerializer
from crm.access import Section
from patients.duplicates import duplicate_decide
from patients.filtersets import DuplicateCandidateFilterSet
from patients.models import DuplicateCandidate
from patients.selectors import duplicate_candidate_list
from patients.tasks import scan_duplicates


class DuplicateCandidateViewSet(
    AuditedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Possible duplicates (``status=open`` for the ones to review), best score first.
    Reading them reads both records' identity; deciding changes the patient index, so
    it takes the right to change identity (coordinators and the front desk)."""

    resource = "Patient"
    serializer_class = DuplicateCandidateSerializer
    filterset_class = DuplicateCandidateFilterSet
    pagination_class = keyset("-score", "id")
    section = Section.IDENTITY
    section_by_action = {
        "distinct": (Section.IDENTITY, "write"),
        "scan": (Section.IDENTITY, "write"),
    }

    def get_queryset(self):
        if self.action == "distinct":  # the service locks and reads the pair itself
            return DuplicateCandidate.objects.all()
        return duplicate_candidate_list()

    @extend_schema(request=None, responses=DuplicateCandidateSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def distinct(self, request, pk=None):
        """These are two people: the pair leaves the worklist and later scans leave it so
        (409 when it was already decided)."""
        candidate = duplicate_decide(candidate=self.get_object(), actor=request.user)
        return Response(self.get_serializer(duplicate_candidate_list().get(pk=candidate.pk)).data)

    @extend_schema(request=None, responses={202: None})
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def scan(self, request):
        """Start a scan of every record now (a worker runs it; it also runs nightly)."""
        scan_duplicates.delay()
        return Response(status=status.HTTP_202_ACCEPTED)
