"""API for reservations, declarations and understandings (`/api/v1/statements/`) and other
parties' objections to reservations (`/api/v1/objections/`).

Reading is open like every agreement part; editors create, correct (PUT / PATCH with the
`If-Match` of the ETag they read, as for steps), withdraw (PATCH `withdrawn_on`) and delete. The
rules are agreements.statements's; its ValidationErrors come back as 400s field by field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.response import Response

from apikit.bodies import StrictFieldsMixin
from apikit.conditional import ConditionalMixin, etag_of
from apikit.filtering import FilterSet

from ..models import (
    MARKDOWN_API_HELP,
    PROVISION_TEXT_MAX_LENGTH,
    Objection,
    Provision,
    Statement,
    StatementKind,
    StatementMoment,
)
from ..statements import (
    OBJECTION_FIELDS,
    STATEMENT_FIELDS,
    ObjectionInput,
    StatementInput,
    objection_add,
    objection_remove,
    objection_update,
    statement_add,
    statement_remove,
    statement_update,
)
from .serializers import SourceInputSerializer, SourceSerializer
from .views import agreement_named, source_from

# Serializers ------------------------------------------------------------------------------------


class ObjectionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:objection-detail")
    statement = serializers.PrimaryKeyRelatedField(read_only=True, help_text="The reservation.")
    party = serializers.CharField(source="party.code", read_only=True, help_text="Party code.")
    source = SourceSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Objection
        fields = [
            "id",
            "url",
            "statement",
            *OBJECTION_FIELDS,
            "version",
        ]


class StatementSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:statement-detail")
    agreement = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    party = serializers.CharField(source="party.code", read_only=True, help_text="Party code.")
    provision = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="Id of the provision it concerns, if any."
    )
    source = SourceSerializer(read_only=True, allow_null=True)
    withdrawal_source = SourceSerializer(read_only=True, allow_null=True)
    objections = ObjectionSerializer(many=True, read_only=True)

    class Meta:
        model = Statement
        fields = [
            "id",
            "url",
            "agreement",
            *STATEMENT_FIELDS,
            "objections",
            "version",
        ]
        extra_kwargs = {"text": {"help_text": MARKDOWN_API_HELP}}


class StatementInputSerializer(StrictFieldsMixin, serializers.Serializer):
    party = serializers.CharField(max_length=10, help_text="Code of the party that made it.")
    kind = serializers.ChoiceField(choices=StatementKind.choices)
    text = serializers.CharField(max_length=PROVISION_TEXT_MAX_LENGTH, help_text=MARKDOWN_API_HELP)
    made_at = serializers.ChoiceField(
        choices=StatementMoment.choices, required=False, allow_blank=True, default=""
    )
    made_on = serializers.DateField(required=False, allow_null=True, default=None)
    provision = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Id of one of the agreement's provisions.",
    )
    article = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    source = SourceInputSerializer(required=False, allow_null=True, default=None)
    withdrawn_on = serializers.DateField(required=False, allow_null=True, default=None)
    withdrawal_note = serializers.CharField(
        max_length=PROVISION_TEXT_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    withdrawal_source = SourceInputSerializer(required=False, allow_null=True, default=None)


class StatementCreateSerializer(StatementInputSerializer):
    agreement = serializers.SlugField(max_length=120, help_text="Slug of the agreement.")


class ObjectionInputSerializer(StrictFieldsMixin, serializers.Serializer):
    party = serializers.CharField(max_length=10, help_text="Code of the objecting party.")
    made_on = serializers.DateField(required=False, allow_null=True, default=None)
    text = serializers.CharField(
        max_length=PROVISION_TEXT_MAX_LENGTH, required=False, allow_blank=True, default=""
    )
    opposes_entry_into_force = serializers.BooleanField(required=False, default=False)
    source = SourceInputSerializer(required=False, allow_null=True, default=None)
    withdrawn_on = serializers.DateField(required=False, allow_null=True, default=None)


class ObjectionCreateSerializer(ObjectionInputSerializer):
    statement = serializers.IntegerField(help_text="Id of the reservation objected to.")


def _provision(value: int | None) -> Provision | None:
    if value is None:
        return None
    provision = Provision.objects.filter(pk=value).first()
    if provision is None:
        raise exceptions.ValidationError({"provision": f"No provision has the id {value}."})
    return provision


def _resolved(data: dict[str, Any]) -> dict[str, Any]:
    """A validated body's values as the services take them: sources upserted, the provision
    looked up."""
    data = dict(data)
    for name in ("source", "withdrawal_source"):
        if name in data:
            data[name] = source_from(data[name])
    if "provision" in data:
        data["provision"] = _provision(data["provision"])
    return data


# Views ------------------------------------------------------------------------------------------


class StatementFilter(FilterSet):
    agreement = django_filters.CharFilter(field_name="agreement__slug", help_text="Agreement slug.")
    party = django_filters.CharFilter(field_name="party__code", help_text="Party code.")
    kind = django_filters.MultipleChoiceFilter(
        choices=StatementKind.choices, help_text="Kind; repeat for any of several."
    )

    class Meta:
        model = Statement
        fields = ["agreement", "party", "kind"]


class _VersionedPartWrites(ConditionalMixin):
    """What the statement and objection endpoints share: a write answers with the object as
    read back and its new ETag; PUT / PATCH / DELETE pass the version checked against If-Match
    on to the service, which checks it again under the lock. First among a viewset's bases, so
    that its ETag-giving `retrieve` is the one used."""

    input_serializer: type[serializers.Serializer]

    def _respond(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        obj = self.get_queryset().get(pk=pk)
        return self.with_etag(Response(self.get_serializer(obj).data, status=code), obj)

    def _update(self, request, partial: bool, update: Callable[..., Any]) -> Response:
        obj = self.get_object()
        body = self.input_serializer(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            update(obj, obj.version, **_resolved(body.validated_data))
        return self._respond(obj.pk)

    def _destroy(self, remove: Callable[..., Any]) -> Response:
        obj = self.get_object()
        remove(obj, obj.version)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StatementViewSet(
    _VersionedPartWrites,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Reservations, declarations and understandings made by the parties, each with the other
    parties' objections. Withdraw one with PATCH `withdrawn_on` (and `withdrawal_note`,
    `withdrawal_source`); DELETE is for one recorded in error."""

    serializer_class = StatementSerializer
    input_serializer = StatementInputSerializer
    filterset_class = StatementFilter

    def get_queryset(self):
        return (
            Statement.objects.select_related("agreement", "party", "source", "withdrawal_source")
            .prefetch_related("objections__party", "objections__source")
            .order_by("agreement__slug", "party__code", "made_on", "pk")
        )

    def etag_for(self, obj: Statement) -> str:
        # The body shows its objections: one changing changes the statement's tag.
        objections = [(o.pk, o.version) for o in obj.objections.all()]
        return etag_of("statement", obj.pk, obj.version, objections)

    @extend_schema(request=StatementCreateSerializer, responses={201: StatementSerializer})
    def create(self, request, *args, **kwargs):
        body = StatementCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        agreement = agreement_named(data.pop("agreement"), "agreement")
        with transaction.atomic():
            data = _resolved(data)
            statement = statement_add(
                agreement=agreement,
                data=StatementInput(party_code=data.pop("party"), **data),
                reason="Added through the API",
            )
        return self._respond(statement.pk, status.HTTP_201_CREATED)

    @extend_schema(request=StatementInputSerializer, responses={200: StatementSerializer})
    def update(self, request, *args, **kwargs):
        return self._update(request, kwargs.pop("partial", False), self._save)

    @extend_schema(request=StatementInputSerializer, responses={200: StatementSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        return self._destroy(
            lambda obj, version: statement_remove(
                statement=obj, expected_version=version, reason="Removed through the API"
            )
        )

    @staticmethod
    def _save(obj: Statement, version: int, **fields: Any) -> None:
        statement_update(
            statement=obj, expected_version=version, reason="Changed through the API", **fields
        )


class ObjectionViewSet(_VersionedPartWrites, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Another party's objection to a reservation (listed on the reservation). Withdraw one with
    PATCH `withdrawn_on`."""

    serializer_class = ObjectionSerializer
    input_serializer = ObjectionInputSerializer

    def get_queryset(self):
        return Objection.objects.select_related("statement", "party", "source").order_by("pk")

    def etag_for(self, obj: Objection) -> str:
        return etag_of("objection", obj.pk, obj.version)

    @extend_schema(request=ObjectionCreateSerializer, responses={201: ObjectionSerializer})
    def create(self, request, *args, **kwargs):
        body = ObjectionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        statement = Statement.objects.filter(pk=data.pop("statement")).first()
        if statement is None:
            raise exceptions.ValidationError(
                {"statement": "No reservation has this id; record the reservation first."}
            )
        with transaction.atomic():
            data = _resolved(data)
            objection = objection_add(
                statement=statement,
                data=ObjectionInput(party_code=data.pop("party"), **data),
                reason="Added through the API",
            )
        return self._respond(objection.pk, status.HTTP_201_CREATED)

    @extend_schema(request=ObjectionInputSerializer, responses={200: ObjectionSerializer})
    def update(self, request, *args, **kwargs):
        return self._update(request, kwargs.pop("partial", False), self._save)

    @extend_schema(request=ObjectionInputSerializer, responses={200: ObjectionSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        return self._destroy(
            lambda obj, version: objection_remove(
                objection=obj, expected_version=version, reason="Removed through the API"
            )
        )

    @staticmethod
    def _save(obj: Objection, version: int, **fields: Any) -> None:
        objection_update(
            objection=obj, expected_version=version, reason="Changed through the API", **fields
        )
