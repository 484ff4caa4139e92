"""How list endpoints apply their filtersets."""

from django_filters.rest_framework import DjangoFilterBackend


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, without the work for a request that names none of the
    view's filters.

    The backend builds and validates the view's whole filterset on every request: a form
    with a field per filter, the choice fields' querysets copied. A detail read goes
    through it too (``get_object``), and it was a millisecond of a patient read. A
    filter left out of the query string filters nothing (django-filter skips empty
    values, and no filterset here has a required filter or a default), so such a
    request keeps its queryset as it is."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or filterset_class.base_filters.keys().isdisjoint(
            request.query_params
        ):
            return queryset
        return super().filter_queryset(request, queryset, view)
