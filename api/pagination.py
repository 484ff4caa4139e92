"""Pagination: cursor (keyset) pages for the big lists, page numbers for the small
directories. Cursor pages stay fast at any depth and stable while writers commit."""

from django.core.paginator import EmptyPage, Paginator
from django.db.models import Count, Window
from rest_framework.pagination import CursorPagination, PageNumberPagination

from crm.errors import InvalidInput


class StrictPageSize:
    """A page_size that is not a whole number from 1 to the maximum is refused (400),
    not silently replaced by the default."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise InvalidInput(
                f"page_size must be a whole number from 1 to {self.max_page_size}.",
                errors={"page_size": [f"A whole number from 1 to {self.max_page_size}."]},
            )
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
            elif parameter["name"] == "page":
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters


class StandardPagination(StrictPageSize, PageNumberPagination):
    pass


# What the databases take for OFFSET (a signed 64-bit integer).
LARGEST_OFFSET = 2**63 - 1


class CountedPaginator(Paginator):
    """Reads a page of a queryset and the total in one query (``COUNT(*) OVER ()``),
    where Django's paginator counts first and reads after: a search that ranks thousands
    of candidates finds them once, not twice. An empty first page is a total of none;
    only a page past the last is counted apart. A DISTINCT queryset is paged as usual:
    its window would count the rows before DISTINCT."""

    def page(self, number):
        if self.object_list.query.distinct or self.orphans:
            return super().page(number)
        number = self._validate_number(number, float("inf"))  # a whole number from 1
        bottom = (number - 1) * self.per_page
        if bottom + self.per_page > LARGEST_OFFSET:  # past the last of any result
            raise EmptyPage(self.error_messages["no_results"])
        rows = list(
            self.object_list.annotate(total_found=Window(Count("*")))[
                bottom : bottom + self.per_page
            ]
        )
        if rows or bottom == 0:  # the cached property's value
            self.__dict__["count"] = rows[0].total_found if rows else 0
        return self._get_page(rows, self.validate_number(number), self)


class SearchPagination(StandardPagination):
    """Numbered pages of a ranked search, each read with its total in one query."""

    django_paginator_class = CountedPaginator


class KeysetPagination(StrictPageSize, CursorPagination):
    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        # A forged cursor may carry what no database column accepts (a NUL byte).
        if cursor is not None and "\x00" in str(cursor.position or ""):
            raise InvalidInput(
                "This cursor is not valid; start from the first page.",
                errors={"cursor": ["Not a valid cursor."]},
            )
        return cursor


def keyset(*ordering: str) -> type[KeysetPagination]:
    """Keyset pages in ``ordering``, which must end in a unique column."""
    return type("KeysetPagination", (KeysetPagination,), {"ordering": ordering})


def paginated_list(request, view, items: list, serializer_class):
    """A page-numbered response over an in-memory list (history entries)."""
    paginator = StandardPagination()
    page = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def next_link_after(pagination_class, request, path: str, page: list, following) -> str | None:
    """The ``next`` link of a first keyset page that a selector read itself (``page`` in
    ``pagination_class``'s ordering, ``following`` the row after it or None): the link the
    list endpoint at ``path`` would give, so a client goes on from there with no gap or
    repeat, ties at the boundary included."""
    if following is None:
        return None
    paginator = pagination_class()
    paginator.page_size = len(page)
    paginator.ordering = pagination_class.ordering
    paginator.base_url = request.build_absolute_uri(path)
    # The state CursorPagination.paginate_queryset leaves after reading a first page.
    paginator.cursor = None
    paginator.page = page
    paginator.has_next, paginator.has_previous = True, False
    paginator.next_position = paginator._get_position_from_instance(following, paginator.ordering)
    return paginator.get_next_link()
