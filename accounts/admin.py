"""API tokens in the admin (create one, shown once; revoke; last use), and the audit log."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from .models import ApiToken, AuditEvent
from .services import token_create, token_revoke


class ApiTokenCreateForm(forms.ModelForm):
    expires_in_days = forms.IntegerField(
        min_value=1, required=False, help_text="Leave empty for a token that does not expire."
    )

    class Meta:
        model = ApiToken
        fields = ["user", "name", "read_only"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "read_only", "created_at", "expires_at", "revoked_at"]
    list_filter = ["read_only", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "user__username"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenCreateForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name", "read_only", "expires_in_days"]
        return [
            "user",
            "name",
            "prefix",
            "read_only",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # The owner and the secret of an existing token never change; issue a new one instead.
        return [*self.readonly_fields, "user", "read_only", "expires_at"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = token_create(
            user=form.cleaned_data["user"],
            name=form.cleaned_data["name"],
            read_only=form.cleaned_data["read_only"],
            expires_in_days=form.cleaned_data.get("expires_in_days"),
        )
        obj.pk = token.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            f"Token created: {raw} — copy it now; it is stored hashed and cannot be shown again.",
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        count = sum(token_revoke(token=token) for token in queryset)
        self.message_user(request, f"{count} token(s) revoked at {timezone.now():%Y-%m-%d %H:%M}.")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The security log: read-only; only a superuser may delete (e.g. events about a test)."""

    list_display = ["at", "kind", "username", "user", "ip", "method", "path", "detail"]
    list_filter = ["kind", ("at", admin.DateFieldListFilter)]
    search_fields = ["username", "ip"]
    date_hierarchy = "at"
    list_select_related = ["user"]
    readonly_fields = ["at", "kind", "user", "username", "ip", "method", "path", "detail"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser
