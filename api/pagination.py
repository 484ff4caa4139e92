"""Pagination: cursor (keyset) pages for the big lists, page numbers for the small
directories. Cursor pages stay fast at any depth and stable while writers commit."""

from rest_framework.pagination import CursorPagination, PageNumberPagination


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class KeysetPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def keyset(*ordering: str) -> type[KeysetPagination]:
    """Keyset pages in ``ordering``, which must end in a unique column."""
    return type("KeysetPagination", (KeysetPagination,), {"ordering": ordering})


def paginated_list(request, view, items: list, serializer_class):
    """A page-numbered response over an in-memory list (history entries)."""
    paginator = StandardPagination()
    page = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
