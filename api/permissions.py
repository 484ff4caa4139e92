"""The API side of the access policy in ``crm.access``."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from crm.access import Scope, require


class SectionPermission(BasePermission):
    """Checks the view's section of the record for the request: read for safe methods,
    write otherwise. A view names ``section``; ``section_by_action`` maps an action to a
    (section, mode) pair or a list of them; ``minimum_scope`` asks for more than some
    access (metrics need all rows). The granted scope is kept on the request for the
    view's queryset."""

    def has_permission(self, request, view) -> bool:
        needs = getattr(view, "section_by_action", {}).get(getattr(view, "action", None))
        if needs is None:
            section = getattr(view, "section", None)
            if section is None:
                return True
            needs = (section, "read" if request.method in SAFE_METHODS else "write")
        checks = needs if isinstance(needs, list) else [needs]
        minimum = getattr(view, "minimum_scope", Scope.NONE)
        scopes = [require(request.user, section, mode, minimum) for section, mode in checks]
        request.section_scope = scopes[0]
        return True
