"""The API side of the access policy in ``crm.access``: who may call what."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from crm.access import Scope, require
from crm.roles import Role, has_role, user_roles


class SectionPermission(BasePermission):
    """Checks the view's section of the record for the request: read for safe methods,
    write otherwise. A view names ``section``; ``section_by_action`` maps an action to a
    (section, mode) pair or a list of them; ``minimum_scope`` asks for more than some
    access (metrics need all rows). Rows are narrowed by the view's selector."""

    def has_permission(self, request, view) -> bool:
        needs = getattr(view, "section_by_action", {}).get(getattr(view, "action", None))
        if needs is None:
            section = getattr(view, "section", None)
            if section is None:
                return True
            needs = (section, "read" if request.method in SAFE_METHODS else "write")
        checks = needs if isinstance(needs, list) else [needs]
        minimum = getattr(view, "minimum_scope", Scope.NONE)
        for section, mode in checks:
            require(request.user, section, mode, minimum)
        return True


class HasRole(BasePermission):
    """Allows the roles named by ``roles``; build one with :meth:`of`."""

    roles: tuple[str, ...] = ()

    @classmethod
    def of(cls, *roles: str) -> type["HasRole"]:
        labels = ", ".join(Role(role).label.lower() for role in roles)
        return type(
            "HasRole",
            (cls,),
            {"roles": roles, "message": f"Only these roles may do this: {labels}."},
        )

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, *self.roles)


class HasStaffRole(BasePermission):
    """A signed-in user with at least one staff role; everyone else is refused."""

    message = "Your account has no staff role; ask an administrator to assign one."

    def has_permission(self, request, view) -> bool:
        return bool(user_roles(request.user)) and request.user.is_active
