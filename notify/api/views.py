"""`/api/v1/webhooks/`: a tool's own webhook subscriptions and their delivery log.

Any signed-in account may subscribe (being told of changes is a way of reading), but a read-only
token cannot create or change subscriptions. Each account sees only its own subscriptions;
another account's id answers 404, so ids reveal nothing.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.reverse import reverse

from accounts.models import ApiToken
from agreements.models import Agreement
from apikit.bodies import StrictFieldsMixin
from apikit.conditional import ConditionalMixin, etag_of
from apikit.permissions import ReadOnlyToken
from parties.models import Party
from ratification.models import StatusChange

from ..models import WebhookDelivery, WebhookSubscription
from ..webhooks import subscription_create, subscription_update


class NonEmptySlugRelatedField(serializers.SlugRelatedField):
    """A slug or null; DRF reads "" as null for related fields, which the schema (minLength 1)
    does not allow: refused, so that a typo is not taken for "every agreement"."""

    def run_validation(self, data=serializers.empty):
        if data == "":
            raise serializers.ValidationError("Give a value, or null for all.")
        return super().run_validation(data)


class WebhookSubscriptionSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    agreement = NonEmptySlugRelatedField(
        slug_field="slug",
        queryset=Agreement.objects.all(),
        required=False,
        allow_null=True,
        help_text="Only changes of this agreement (its slug); omit for all.",
    )
    party = NonEmptySlugRelatedField(
        slug_field="code",
        queryset=Party.objects.all(),
        required=False,
        allow_null=True,
        help_text="Only changes of agreements this party is party to (its code); omit for all.",
    )
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=StatusChange.Kind.choices),
        required=False,
        help_text="Only these kinds of change; omit or [] for every kind.",
    )
    secret = serializers.CharField(
        read_only=True,
        help_text="Key of the HMAC-SHA256 signature in X-PactTracker-Signature.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "agreement", "party", "kinds", "is_active", "secret", "created_at"]
        read_only_fields = ["id", "secret", "created_at"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    change = serializers.PrimaryKeyRelatedField(read_only=True, help_text="The status change id.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "change",
            "status",
            "attempts",
            "last_attempt_at",
            "next_attempt_at",
            "response_status",
            "error",
            "delivered_at",
            "created_at",
        ]
        read_only_fields = fields


class SubscriberPermission(permissions.IsAuthenticated):
    message = "Sign in, or send a token, to manage webhook subscriptions."

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if (
            request.method not in permissions.SAFE_METHODS
            and isinstance(request.auth, ApiToken)
            and request.auth.read_only
        ):
            raise ReadOnlyToken()
        return True


# The lookup takes any segment (lookup_value_regex below), but an id is a whole number: the
# schema says so, as it does for every other id.
_SUBSCRIPTION_ID = OpenApiParameter(
    "id", int, OpenApiParameter.PATH, description="The subscription's id (yours only)."
)


@extend_schema_view(
    list=extend_schema(summary="Your webhook subscriptions"),
    retrieve=extend_schema(parameters=[_SUBSCRIPTION_ID]),
    update=extend_schema(parameters=[_SUBSCRIPTION_ID]),
    partial_update=extend_schema(parameters=[_SUBSCRIPTION_ID]),
    destroy=extend_schema(parameters=[_SUBSCRIPTION_ID]),
    create=extend_schema(
        summary="Subscribe a URL to status changes",
        description="Addresses that resolve to loopback, private or link-local networks are "
        "refused. The response holds the secret used to sign deliveries.",
    ),
)
class WebhookViewSet(
    ConditionalMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WebhookSubscriptionSerializer
    permission_classes = [SubscriberPermission]
    # Any path segment reaches the view, so a malformed id is a JSON 404 like any other.
    lookup_value_regex = "[^/]+"
    filter_backends: list[Any] = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookSubscription.objects.none()
        return (
            WebhookSubscription.objects.filter(owner=self.request.user)
            .select_related("agreement", "party")
            .order_by("-created_at", "-id")
        )

    def etag_for(self, obj: WebhookSubscription) -> str:
        return etag_of(
            "webhook", obj.pk, obj.url, obj.agreement_id, obj.party_id, obj.kinds, obj.is_active
        )

    def get_success_headers(self, data) -> dict[str, str]:
        # The subscription's own address, not the `url` field (the receiver's address).
        return {
            "Location": str(reverse("api:webhook-detail", args=[data["id"]], request=self.request))
        }

    def perform_create(self, serializer) -> None:
        serializer.instance = subscription_create(
            owner=self.request.user, **serializer.validated_data
        )

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        return self.with_etag(response, response.data.serializer.instance)

    def perform_update(self, serializer) -> None:
        serializer.instance = subscription_update(
            subscription=serializer.instance, **serializer.validated_data
        )

    def update(self, request, *args, **kwargs):
        response = super().update(request, *args, **kwargs)
        return self.with_etag(response, response.data.serializer.instance)

    @extend_schema(
        summary="Delivery log of one subscription",
        parameters=[_SUBSCRIPTION_ID],
        responses=WebhookDeliverySerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk: str | None = None) -> Response:
        subscription = super(ConditionalMixin, self).get_object()
        deliveries = subscription.deliveries.order_by("-created_at", "-id")
        page = self.paginate_queryset(deliveries)
        serializer = WebhookDeliverySerializer(page, many=True)
        return self.get_paginated_response(serializer.data)


__all__ = ["WebhookViewSet"]
