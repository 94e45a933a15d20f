"""API for an agreement's parts: sources, provisions, relations, subjects; and parties with
agreements.

The agreements themselves (and their steps) are in ratification.api.views, because creating one and
reading its status go through the ratification services and the status engine.
"""

from __future__ import annotations

from urllib.parse import urlencode

import django_filters
from django.db import transaction
from django.db.models import Max
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.reverse import reverse

from apikit.conditional import ConditionalMixin, etag_of
from apikit.filtering import FilterSet
from parties.api.views import PartyViewSet as BasePartyViewSet
from parties.models import Party

from ..models import (
    Agreement,
    Participation,
    Provision,
    ProvisionCategory,
    Relation,
    Source,
    Subject,
)
from ..selectors import (
    PartyAgreementCounts,
    party_agreement_counts,
    party_recent_participations,
)
from ..services import ProvisionInput, provision_add, relation_add, source_upsert
from ..subjects import subject_slugs_canonical
from .serializers import (
    PartyDetailSerializer,
    ProvisionCreateSerializer,
    ProvisionListSerializer,
    RelationInputSerializer,
    RelationSerializer,
    SourceInputSerializer,
    SourceSerializer,
    SubjectSerializer,
)


def agreement_named(slug: str, field: str) -> Agreement:
    """The agreement a body names by slug; an unknown slug is a field error (400), not a 404."""
    agreement = Agreement.objects.filter(slug=slug).first()
    if agreement is None:
        raise exceptions.ValidationError({field: f"No agreement has the slug {slug!r}."})
    return agreement


def source_from(data: dict | None) -> Source | None:
    """The Source for a validated SourceInputSerializer body (upserted), or None."""
    if not data:
        return None
    source, _ = source_upsert(**data)
    return source


class PartyViewSet(BasePartyViewSet):
    """States and organisations; the detail sums up the party's agreements and links to the
    agreement list filtered by the party for all of them."""

    recent_agreements_shown = 20

    def get_serializer_class(self):
        return (
            PartyDetailSerializer if self.action == "retrieve" else super().get_serializer_class()
        )

    def retrieve(self, request, *args, **kwargs):
        party = self.get_object()
        link = f"{reverse('api:agreement-list')}?{urlencode({'party': party.code})}"
        counts = self.agreement_counts(party)
        summary = {
            "total": counts.total,
            "by_status": counts.by_status,
            "recent": self.recent(party),
            "list": request.build_absolute_uri(link),
        }
        context = {**self.get_serializer_context(), "party_agreements": summary}
        return self.with_etag(Response(self.get_serializer(party, context=context).data), party)

    def agreement_counts(self, party: Party) -> PartyAgreementCounts:
        # Memoised per request: the ETag and the body both need it.
        if getattr(self, "_counts", None) is None:
            self._counts = party_agreement_counts(party=party)
        return self._counts

    def recent(self, party: Party) -> list[Participation]:
        # Memoised per request, like the counts.
        if getattr(self, "_recent", None) is None:
            self._recent = party_recent_participations(
                party=party, limit=self.recent_agreements_shown
            )
        return self._recent

    def etag_for(self, obj: Party) -> str:
        # The body holds the party's agreement counts and its recent agreements: the tag is
        # made of exactly those, so a change to any agreement it shows changes it.
        counts = self.agreement_counts(obj)
        recent = [
            (
                p.agreement_id,
                p.agreement.updated_at.isoformat(),
                p.progress,
                str(p.consented_on),
                # The party's own dates (multilateral), derived with the progress.
                str(p.entered_into_force_on),
                p.suspended,
                str(p.withdrawn_on),
                str(p.withdrawal_notified_on),
                p.consent_act,
            )
            for p in self.recent(obj)
        ]
        return etag_of(
            "party", obj.pk, obj.updated_at.isoformat(), sorted(counts.by_status.items()), recent
        )


class SubjectFilter(FilterSet):
    name = django_filters.CharFilter(
        method="filter_name",
        max_length=200,
        help_text="A subject's name, slug or alias (case, spaces and hyphens do not matter): "
        "finds the one subject it means, e.g. `defense logistics` gives 'defence logistics'.",
    )

    class Meta:
        model = Subject
        fields = ["name"]

    def filter_name(self, queryset, name: str, value: str):
        return queryset.filter(slug__in=subject_slugs_canonical([value]))


class SubjectViewSet(
    ConditionalMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """What agreements are about, each with its other names (aliases). Read-only here: a new
    subject is made by naming it on an agreement; editors add aliases and merge subjects in
    the admin. A merged subject's slug is an alias of the survivor: `?name=` finds it."""

    serializer_class = SubjectSerializer
    filterset_class = SubjectFilter
    lookup_field = "slug"

    def get_queryset(self):
        return Subject.objects.prefetch_related("aliases").order_by("name", "pk")

    def etag_for(self, obj: Subject) -> str:
        return etag_of("subject", obj.pk, obj.name, sorted(a.name for a in obj.aliases.all()))


class SourceFilter(FilterSet):
    url = django_filters.CharFilter(help_text="Exact address.")
    publisher = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name.")

    class Meta:
        model = Source
        fields = ["url", "publisher"]


class SourceViewSet(
    ConditionalMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Sources that agreements, signatories, provisions and steps cite."""

    queryset = Source.objects.order_by("-published_on", "title", "pk")
    serializer_class = SourceSerializer
    filterset_class = SourceFilter

    def etag_for(self, obj: Source) -> str:
        return etag_of("source", obj.pk, obj.title, obj.url, obj.publisher, obj.published_on)

    @extend_schema(
        request=SourceInputSerializer,
        responses={
            201: SourceSerializer,
            200: OpenApiResponse(SourceSerializer, "An existing source (same address)."),
        },
        description="Find the source by its address (or by title when it has none) and bring it "
        "up to date, or create it: 201 when created, 200 otherwise. Idempotent.",
    )
    def create(self, request, *args, **kwargs):
        body = SourceInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            source, outcome = source_upsert(**body.validated_data)
        code = status.HTTP_201_CREATED if outcome == "insert" else status.HTTP_200_OK
        return self.with_etag(Response(SourceSerializer(source).data, status=code), source)


class ProvisionFilter(FilterSet):
    agreement = django_filters.CharFilter(field_name="agreement__slug", help_text="Agreement slug.")
    category = django_filters.MultipleChoiceFilter(
        choices=ProvisionCategory.choices, help_text="Category; repeat for any of several."
    )

    class Meta:
        model = Provision
        fields = ["agreement", "category"]


class ProvisionViewSet(
    ConditionalMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Provisions of every agreement (filter by `agreement`); editors add them."""

    serializer_class = ProvisionListSerializer
    filterset_class = ProvisionFilter

    def get_queryset(self):
        return Provision.objects.select_related("agreement", "source").order_by(
            "agreement__slug", "order", "pk"
        )

    def etag_for(self, obj: Provision) -> str:
        return etag_of("provision", obj.pk, obj.category, obj.label, obj.text, obj.source_id)

    @extend_schema(request=ProvisionCreateSerializer, responses={201: ProvisionListSerializer})
    def create(self, request, *args, **kwargs):
        body = ProvisionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        agreement = agreement_named(data.pop("agreement"), "agreement")
        with transaction.atomic():
            source = source_from(data.pop("source"))
            last = agreement.provisions.aggregate(last=Max("order"))["last"] or 0
            provision = provision_add(
                agreement=agreement, data=ProvisionInput(source=source, **data), order=last + 1
            )
        provision = self.get_queryset().get(pk=provision.pk)
        response = Response(self.get_serializer(provision).data, status=status.HTTP_201_CREATED)
        return self.with_etag(response, provision)


class RelationViewSet(
    ConditionalMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Directed links between agreements (amends, supersedes, implements, related to)."""

    serializer_class = RelationSerializer

    def get_queryset(self):
        return Relation.objects.select_related("from_agreement", "to_agreement").order_by("pk")

    def etag_for(self, obj: Relation) -> str:
        return etag_of("relation", obj.pk, obj.kind, obj.note)

    @extend_schema(request=RelationInputSerializer, responses={201: RelationSerializer})
    def create(self, request, *args, **kwargs):
        body = RelationInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        origin = agreement_named(data["from_agreement"], "from_agreement")
        target = agreement_named(data["to_agreement"], "to_agreement")
        with transaction.atomic():
            relation = relation_add(
                from_agreement=origin, to_agreement=target, kind=data["kind"], note=data["note"]
            )
        relation = self.get_queryset().get(pk=relation.pk)
        response = Response(self.get_serializer(relation).data, status=status.HTTP_201_CREATED)
        return self.with_etag(response, relation)
