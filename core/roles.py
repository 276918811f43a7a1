"""Staff roles and the decorator every staff view uses: a view for some roles only, after login."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.labels import register

CASE_ROLES = ("handler", "unit_head", "coordinator", "admin")


def role_labels() -> dict[str, str]:
    return {"clerk": _("Clerk"), "handler": _("Handler"), "unit_head": _("Unit head"),
            "coordinator": _("Task-force coordinator"), "admin": _("Administrator")}


register("role", role_labels, table=True)


def roles_required(*roles: str):
    """A staff view for these roles only (after login); others get 403."""
    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorate
