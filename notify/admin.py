"""Follows and their email log in the admin (webhooks are managed by their owners in the API)."""

from __future__ import annotations

from django.contrib import admin

from .models import Follow, FollowNotification


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "agreement", "party", "query", "created_at"]
    list_filter = ["kind"]
    search_fields = ["user__username", "agreement__slug", "party__code", "query"]
    raw_id_fields = ["user", "agreement", "party"]
    readonly_fields = ["created_at"]


@admin.register(FollowNotification)
class FollowNotificationAdmin(admin.ModelAdmin):
    """The log of follow emails; written by the relay and the send task only."""

    list_display = ["change", "user", "status", "attempts", "sent_at", "error"]
    list_filter = ["status"]
    search_fields = ["user__username", "change__message"]
    list_select_related = ["change", "user"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
