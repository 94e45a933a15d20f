"""Who may do what: reading is open (unless READ_REQUIRES_LOGIN), writing needs the editor role.

"Editor role" is the model permissions the `editors` group holds (ratification/0002_roles):
POST needs `add_<model>`, PUT/PATCH `change_<model>`, DELETE `delete_<model>`, where the model
is the view's `write_model` or its queryset's model. Superusers hold every permission.
A read-only token never writes, whoever its user is. A method the view does not handle gets the
view's 405, not a refusal.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import exceptions, permissions

ACTION_FOR_METHOD = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


class ReadOnlyToken(exceptions.PermissionDenied):
    default_detail = "This token is read-only."
    default_code = "read_only_token"


class ReadOpenWriteEditors(permissions.BasePermission):
    message = "Writing needs the editor role."

    def has_permission(self, request, view) -> bool:
        if not hasattr(view, request.method.lower()):
            # The view has no handler for this method: nothing can run, and its 405 (with the
            # methods it allows) tells the client more than a refusal would.
            return True
        if request.method in permissions.SAFE_METHODS:
            return not settings.READ_REQUIRES_LOGIN or bool(request.user.is_authenticated)
        if not request.user.is_authenticated:
            return False
        if getattr(request.auth, "read_only", False):  # a read-only API token
            raise ReadOnlyToken()
        action = ACTION_FOR_METHOD.get(request.method)
        if action is None:
            return False
        model = getattr(view, "write_model", None)
        if model is None and hasattr(view, "get_queryset"):
            model = view.get_queryset().model
        if model is None:
            return False  # a view that names no model gets no writes, whoever asks
        meta = model._meta
        return request.user.has_perm(f"{meta.app_label}.{action}_{meta.model_name}")
