"""Extensions of constitutional clocks: `/api/v1/clock-extensions/`. Read open; editors record
one (POST; one recorded in error is removed in the admin). A bad extension is a 400 with the field's
message (ratification.clocks.clock_extension_errors), and nothing is written."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from agreements.models import Agreement, Participation
from apikit.bodies import StrictFieldsMixin
from apikit.filtering import FilterSet
from parties.models import ClockRule

from ..models import ClockExtension
from ..services import clock_extension_add


class ClockExtensionSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    agreement = serializers.SlugRelatedField(
        slug_field="slug", queryset=Agreement.objects.all(), source="participation.agreement"
    )
    party = serializers.CharField(source="participation.party.code", help_text="A party's code.")
    rule = serializers.PrimaryKeyRelatedField(queryset=ClockRule.objects.all())
    length = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=365,
        help_text="Units the extension adds; by default the rule's extension length.",
    )

    class Meta:
        model = ClockExtension
        fields = [
            "id",
            "agreement",
            "party",
            "rule",
            "extended_on",
            "length",
            "source_title",
            "source_url",
            "note",
        ]
        read_only_fields = ["id"]


class ClockExtensionFilter(FilterSet):
    agreement = django_filters.CharFilter(
        field_name="participation__agreement__slug", help_text="An agreement's slug."
    )

    class Meta:
        model = ClockExtension
        fields = ["agreement"]


class ClockExtensionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Extensions of a party's clock on one agreement (UK: a Minister extends the 21 sitting days
    by 21, CRaG s. 21), each with its date and source."""

    serializer_class = ClockExtensionSerializer
    filterset_class = ClockExtensionFilter

    def get_queryset(self):
        return ClockExtension.objects.select_related(
            "participation__agreement", "participation__party", "rule"
        ).order_by("pk")

    def create(self, request, *args, **kwargs):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        where = data.pop("participation")
        participation = Participation.objects.filter(
            agreement=where["agreement"], party__code=where["party"]["code"]
        ).first()
        if participation is None:
            raise serializers.ValidationError(
                {"party": [f"{where['party']['code']} is not a party to this agreement."]}
            )
        try:
            extension = clock_extension_add(participation=participation, **data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return Response(self.get_serializer(extension).data, status=status.HTTP_201_CREATED)
