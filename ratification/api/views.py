"""API for agreements (list, detail, one-call create, update, delete), their steps, the
status-change feed and the vocabularies.

Agreements live here rather than in agreements.api.views because writing one and reading its status
go through ratification.services and the status engine. Views are thin: they check shapes
(serializers), call one service inside one transaction, and read back through the querysets
below, which run a fixed number of queries whatever the number of parties, steps or rows.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import django_filters
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from agreements.api.filters import UtcIsoDateTimeFilter
from agreements.api.search import RankedMatches, ranked, search_through_index, searched
from agreements.api.serializers import (
    AgreementCsvSerializer,
    AgreementFactsSerializer,
    AgreementListSerializer,
)
from agreements.api.views import PartyViewSet as AgreementsPartyViewSet
from agreements.api.views import source_from
from agreements.duplicates import redirect_target
from agreements.listing import PartiesInCommon, agreements_count, shared_parties
from agreements.models import (
    Agreement,
)
from agreements.services import ProvisionInput, SignatoryInput, agreement_delete
from apikit.conditional import ConditionalMixin, etag_of
from apikit.errors import ErrorSerializer, MovedPermanently
from apikit.estimates import KnownCount, PageOrCursorPagination
from apikit.filtering import FilterSet
from apikit.pagination import StrictPageSizeMixin
from apikit.renderers import CSVRenderer, JSONRenderer
from apikit.response_cache import CachedReadMixin, listing_generation
from parties.models import Party

from ..merging import agreement_merge
from ..models import RatificationStep, StatusChange
from ..participants import participants_list
from ..services import (
    StepInput,
    agreement_create,
    agreement_update,
    step_add,
    step_record,
    step_remove,
)
from .detail import (
    agreement_cache_scope,
    agreement_detail_queryset,
    agreement_etag,
    kept_detail_applies,
    kept_detail_response,
)
from .filters import AgreementGapFilter
from .kept_list import agreement_list_queryset, kept_or_built, kept_pages
from .participants import ParticipantSerializer, ParticipantsQuerySerializer
from .serializers import (
    AgreementCreateSerializer,
    AgreementDetailSerializer,
    AgreementMergeSerializer,
    ProbableDuplicateSerializer,
    StatusChangeSerializer,
    StepCreateSerializer,
    StepRecordSerializer,
    StepSerializer,
    VocabulariesSerializer,
    vocabularies,
)

# Querysets -----------------------------------------------------------------------------------


# The list's parameters whose pages an editor's note on a step (a new source, who recorded it:
# ratification.services.step_record's `shown_only` path) cannot change but for the written
# agreement's row: filters, sorts and pages by what the listing generation covers (ratification
# 0026). Not `updated_since` or a sort by `updated_at` (the note moves the agreement's), nor
# `gap` (a step's source is one). A test checks that every filter is in one set or the other.
LISTING_PARAMS = frozenset(
    {
        *("party", "status", "subject", "provision_category", "signed_after", "signed_before"),
        *("slug", "q", "ordering", "page", "page_size", "pagination", "cursor", "format"),
    }
)
DATA_PARAMS = frozenset({"updated_since", "gap"})


# Whether a cached list still holds, in one statement: the listing generation it was built
# under, and the stamps of the rows it shows (by primary key).
_LIST_HOLDS = """
SELECT g.listing = %s
       AND (SELECT count(*)
              FROM agreements_agreement a
              JOIN unnest(%s::bigint[], %s::bigint[]) AS r (id, stamp)
                ON a.id = r.id AND a.cache_stamp = r.stamp) = %s
  FROM ratification_cache_generation g
 WHERE g.id = 1
"""


def _params_listing_scoped(params) -> bool:
    """Whether a list with these parameters may be kept under the listing generation."""
    ordering = ",".join(params.getlist("ordering"))
    return params.keys() <= LISTING_PARAMS and "updated_at" not in ordering


def step_queryset() -> QuerySet[RatificationStep]:
    return RatificationStep.objects.select_related(
        "participation__agreement", "participation__party", "source", "recorded_by"
    )


def step_etag(step: RatificationStep) -> str:
    return etag_of("step", step.pk, step.version, step.updated_at.isoformat())


def _step_input(data: dict[str, Any]) -> StepInput:
    data = dict(data)
    return StepInput(source=source_from(data.pop("source", None)), **data)


# Agreements ----------------------------------------------------------------------------------

# A merged agreement's slug (ratification.merging) answers 301 at every address under it.
MOVED = {
    301: OpenApiResponse(
        ErrorSerializer,
        description="The agreement was merged into another: `Location` is the same address "
        "under the agreement that stays.",
    )
}


@extend_schema_view(
    list=extend_schema(
        summary="List agreements",
        description="Filter, search and sort agreements. `?format=csv` gives the page as CSV.",
    ),
    retrieve=extend_schema(
        summary="One agreement in full",
        description="Parties with progress and next step, signatories, provisions, steps, "
        "status history, expected entry into force with its arithmetic, related agreements "
        "and sources. The `ETag` header is what If-Match needs for a write.",
        responses={200: AgreementDetailSerializer, **MOVED},
    ),
    create=extend_schema(
        summary="Create an agreement in one call",
        description="A probable duplicate (the same parties and the same signature date, or a "
        "very similar title between the same parties) is refused with 409 "
        "`probable_duplicate` and the candidates; send `confirm_not_duplicate: true` to "
        "create it anyway.",
        request=AgreementCreateSerializer,
        responses={201: AgreementDetailSerializer, 409: ProbableDuplicateSerializer},
    ),
    update=extend_schema(
        summary="Replace the agreement's own fields",
        description="Fields not sent return to their defaults. Parties, signatories, "
        "provisions and sources are not changed here; steps through /steps/.",
        request=AgreementFactsSerializer,
        responses={200: AgreementDetailSerializer, **MOVED},
    ),
    partial_update=extend_schema(
        summary="Change some of the agreement's own fields",
        request=AgreementFactsSerializer,
        responses={200: AgreementDetailSerializer, **MOVED},
    ),
    destroy=extend_schema(
        summary="Delete an agreement with everything it holds", responses={204: None, **MOVED}
    ),
)
class AgreementViewSet(CachedReadMixin, ConditionalMixin, viewsets.ModelViewSet):
    """International agreements, looked up by slug."""

    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    filterset_class = AgreementGapFilter
    pagination_class = PageOrCursorPagination
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            # A merged agreement's slug: 301 to the same address under the survivor's slug.
            slug = self.kwargs.get(self.lookup_field, "")
            target = redirect_target(slug=slug)
            if target is None:
                raise
            path = self.request.get_full_path().replace(
                f"/agreements/{slug}/", f"/agreements/{target}/", 1
            )
            raise MovedPermanently(
                self.request.build_absolute_uri(path),
                f"The agreement '{slug}' was merged into '{target}'.",
            ) from None

    @property
    def write_model(self) -> type:
        # Adding a step needs the step permission, not the agreement one.
        return RatificationStep if self.action == "steps" else Agreement

    def get_renderers(self):
        renderers = super().get_renderers()
        # Without an action (a method the address does not take) the renderers stay as the
        # list's: content negotiation runs first, and `?format=csv` must not turn the 405 into
        # a 404.
        if self.action not in ("list", "participants", None):
            renderers = [r for r in renderers if not isinstance(r, CSVRenderer)]
        return renderers

    def get_queryset(self):
        if self.action == "list":
            return agreement_list_queryset(self.get_serializer_class(), kept_rows=self._kept_rows)
        if self.action in ("steps", "destroy", "merge", "participants"):
            return Agreement.objects.all()
        return agreement_detail_queryset(reading=self.action == "retrieve")

    def list(self, request, *args, **kwargs):
        return self._cached(request, self._list_built, *args, **kwargs)

    def _list_built(self, request, *args, **kwargs):
        """A list the response cache missed: the whole list and a list filtered on parties
        alone, as plain JSON, from kept pages (ratification.api.kept_list); the rest the
        general way."""
        if self._kept_rows:
            pages = kept_pages(request, self.get_serializer_context())
            if pages is not None:
                page = self.paginator.paginate_queryset(pages, request, view=self)
                if page is not None:  # None: no page size (API_PAGE_SIZE=0), the whole list
                    self._shown = pages.shown
                    return self.get_paginated_response(page)
        return viewsets.ModelViewSet.list(self, request, *args, **kwargs)

    def paginate_queryset(self, queryset):
        # The page and its count are the statements a search makes slow (search_through_index);
        # a search in rank order is read a group at a time (RankedMatches). Keyset pages keep
        # their own order.
        # A list filtered on one or two parties alone is counted from the kept counts, as the
        # list page does: counting its matches read tens of thousands of rows. A search that
        # excludes a word, which the planner cannot estimate, is counted exactly when it has
        # few matches.
        with search_through_index(searched(queryset), matches=queryset) as few:
            if not self.paginator.wants_cursor(self.request):
                queryset = self._counted_pages(queryset, few)
            page = super().paginate_queryset(queryset)
        if page is not None and self.action == "list":
            if self._kept_rows:
                page = kept_or_built(page, self.get_serializer_class())
            self._shown = {row.pk: row.cache_stamp for row in page}
        return page

    def _counted_pages(self, queryset, few: int | None):
        """What the page-number paginator slices and counts: a search in rank order a group
        at a time, counted exactly when `few` says so; the whole list, and a list filtered on
        parties alone (which has no search), from the kept counts (exact, where the planner's
        estimate was a guess past 10,000), the latter's pages from the party order table."""
        if ranked(queryset):
            queryset = RankedMatches(queryset, rows=self.get_queryset())
        if few is not None:
            return KnownCount(queryset, few)
        if self.action != "list":
            return queryset
        params = self.request.query_params
        if self.filterset_class.filters_nothing(params):
            return KnownCount(queryset, agreements_count())
        codes = self.filterset_class.parties_only(params)
        if codes:
            return PartiesInCommon(queryset, shared_parties(codes), rows=self.get_queryset())
        return queryset

    def get_serializer_class(self):
        if self.action == "list":
            renderer = getattr(self.request, "accepted_renderer", None)
            if renderer is not None and renderer.format == "csv":
                return AgreementCsvSerializer
            return AgreementListSerializer
        if self.action == "create":
            return AgreementCreateSerializer
        if self.action in ("update", "partial_update"):
            return AgreementFactsSerializer
        if self.action == "steps":
            return StepCreateSerializer if self.request.method == "POST" else StepSerializer
        if self.action == "merge":
            return AgreementMergeSerializer
        if self.action == "participants":
            return ParticipantSerializer
        return AgreementDetailSerializer

    def etag_for(self, obj: Agreement) -> str:
        return agreement_etag(obj)

    def retrieve(self, request, *args, **kwargs):
        # A plain GET of the JSON is the kept document (ratification.api.detail); the rest (the
        # browsable API, a format suffix, a filter in the query string) are built as they come.
        if kept_detail_applies(request, kwargs):
            response = kept_detail_response(
                request, slug=kwargs[self.lookup_field], today=timezone.localdate()
            )
            if response is not None:
                return response
        return super().retrieve(request, *args, **kwargs)

    def cache_scope(self, request) -> str | None:
        # A detail is cached per agreement: a write to one leaves the others' cached.
        if self.action == "retrieve":
            return agreement_cache_scope(slug=self.kwargs[self.lookup_field])
        # A list is kept under its address alone, with the listing generation (which an
        # editor's note on a step does not move: ratification 0026) and its rows' stamps
        # checked on each hit (hit_checks); unless a parameter selects or sorts by what such a
        # note changes (LISTING_PARAMS).
        if self._listing_scoped:
            return "listing"
        return super().cache_scope(request)

    @cached_property
    def _kept_rows(self) -> bool:
        """Whether the list's rows are their kept JSON text (agreements migration 0019): on
        PostgreSQL, whose triggers keep it, for a body orjson encodes, which takes the text as
        it is."""
        renderer = getattr(self.request, "accepted_renderer", None)
        return (
            connection.vendor == "postgresql"
            and type(renderer) is JSONRenderer
            and self.get_serializer_class() is AgreementListSerializer
            and renderer.encodes_fragments(
                self.request.accepted_media_type, self.get_renderer_context()
            )
        )

    @cached_property
    def _listing_scoped(self) -> bool:
        """Whether this request is a list kept under the listing generation (read three times
        a request: the key, before the build, after it)."""
        return self.action == "list" and _params_listing_scoped(self.request.query_params)

    def hit_checks_read(self) -> int | None:
        return listing_generation() if self._listing_scoped else None

    def hit_checks(self, read: int | None) -> tuple | None:
        if not self._listing_scoped:
            return None
        shown = getattr(self, "_shown", None)
        if shown is None:  # no page read: nothing to check, so an entry that never holds
            return (None, [], [])
        # A generation not read (None) never holds either.
        return (read, list(shown), list(shown.values()))

    def hit_holds(self, checks: tuple) -> bool:
        generation, ids, stamps = checks
        with connection.cursor() as cursor:
            cursor.execute(_LIST_HOLDS, [generation, ids, stamps, len(ids)])
            row = cursor.fetchone()
        return bool(row and row[0])

    def _detail_response(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        agreement = agreement_detail_queryset(reading=True).get(pk=pk)
        data = AgreementDetailSerializer(agreement, context=self.get_serializer_context()).data
        response = Response(data, status=code)
        if code == status.HTTP_201_CREATED:
            # str(): DRF's Hyperlink is a str subclass that WSGI servers may refuse as a header.
            response["Location"] = str(data["url"])
        return self.with_etag(response, agreement)

    def create(self, request, *args, **kwargs):
        body = AgreementCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        with transaction.atomic():
            sources = [source_from(s) for s in data.pop("sources")]
            signatories = [
                SignatoryInput(
                    name=s["name"],
                    role=s["role"],
                    party_code=s["party"],
                    source=source_from(s["source"]),
                )
                for s in data.pop("signatories")
            ]
            provisions = [
                ProvisionInput(
                    category=p["category"],
                    text=p["text"],
                    label=p["label"],
                    source=source_from(p["source"]),
                )
                for p in data.pop("provisions")
            ]
            steps = {
                code.strip().upper(): [_step_input(s) for s in items]
                for code, items in data.pop("steps").items()
            }
            agreement = agreement_create(
                slug=data.pop("slug"),
                party_codes=data.pop("parties"),
                subjects=data.pop("subjects"),
                sources=sources,
                signatories=signatories,
                provisions=provisions,
                steps=steps,
                legislative_approval={
                    code.strip().upper(): value
                    for code, value in data.pop("legislative_approval").items()
                },
                user=request.user,
                confirm_not_duplicate=data.pop("confirm_not_duplicate", False),
                **data,
            )
        return self._detail_response(agreement.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        agreement = self.get_object()
        body = AgreementFactsSerializer(agreement, data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        facts = dict(body.validated_data)
        if not partial:
            for name in AgreementFactsSerializer.Meta.fields:
                facts.setdefault(name, Agreement._meta.get_field(name).get_default())
        updated = agreement_update(agreement=agreement, expected_version=agreement.version, **facts)
        return self._detail_response(updated.pk)

    def destroy(self, request, *args, **kwargs):
        agreement = self.get_object()
        # The version as read (and checked against If-Match) is the one deleted, or a 412.
        agreement_delete(agreement=agreement, expected_version=agreement.version)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Merge a duplicate into this agreement",
        description="The duplicate's steps, signatories, provisions, sources, relations, status "
        "history, follows and webhook subscriptions move to this agreement, which is "
        "recomputed; the duplicate is removed and its address answers 301 here. Needs "
        "If-Match with this agreement's ETag, and the editor's rights to change and delete "
        "agreements. 400 lists what stops the merge (different parties, step records that "
        "disagree).",
        request=AgreementMergeSerializer,
        parameters=[
            OpenApiParameter(
                "If-Match",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="The ETag from your last read of this agreement (the one that "
                "stays). Without it: 428; if it is no longer current: 412, and nothing is "
                "merged.",
            )
        ],
        responses={
            200: AgreementDetailSerializer,
            412: OpenApiResponse(ErrorSerializer, description="Stale If-Match."),
            428: OpenApiResponse(ErrorSerializer, description="If-Match missing."),
            **MOVED,
        },
        filters=False,
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def merge(self, request, slug: str | None = None) -> Response:
        survivor = self.get_object()
        self.check_if_match(survivor)
        if not request.user.has_perms(
            ["agreements.change_agreement", "agreements.delete_agreement"]
        ):
            raise exceptions.PermissionDenied("Merging needs the editor role.")
        body = AgreementMergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        duplicate = Agreement.objects.filter(slug=body.validated_data["duplicate"]).first()
        if duplicate is None:
            raise exceptions.ValidationError({"duplicate": ["No agreement with this slug."]})
        agreement_merge(
            survivor=survivor,
            duplicate=duplicate,
            user=request.user,
            reason=body.validated_data["reason"],
            expected_version=survivor.version,
        )
        return self._detail_response(survivor.pk)

    @extend_schema(
        methods=["GET"],
        summary="The agreement's steps, every party",
        responses={200: StepSerializer(many=True), **MOVED},
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a step to a party's procedure",
        request=StepCreateSerializer,
        responses={201: StepSerializer, **MOVED},
        filters=False,
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def steps(self, request, slug: str | None = None) -> Response:
        agreement = self.get_object()
        if request.method == "GET":
            steps = (
                step_queryset()
                .filter(participation__agreement=agreement)
                .order_by("participation__party__name", "order", "pk")
            )
            return Response(StepSerializer(steps, many=True, context={"request": request}).data)
        body = StepCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        party_code, order = data.pop("party"), data.pop("order")
        confirm = data.pop("confirm_out_of_order", False)
        with transaction.atomic():
            step = step_add(
                agreement=agreement,
                party_code=party_code,
                data=_step_input(data),
                order=order,
                user=request.user,
                confirm_out_of_order=confirm,
            )
        step = step_queryset().get(pk=step.pk)
        response = Response(
            StepSerializer(step, context={"request": request}).data, status=status.HTTP_201_CREATED
        )
        response["Location"] = reverse("api:step-detail", args=[step.pk], request=request)
        response["ETag"] = step_etag(step)
        return response

    @extend_schema(
        summary="The participants table",
        description="One row per party as the depositary records it: signature (definitive or "
        "subject to ratification), the consent act and the date of its deposit, entry into "
        "force for that party with its working, provisional application, suspension, "
        "withdrawal, and how many reservations, declarations and understandings it made. "
        "`?format=csv` gives it as CSV. The same rows as the agreement page's table.",
        parameters=[ParticipantsQuerySerializer],
        responses={
            200: ParticipantSerializer(many=True),
            400: OpenApiResponse(ErrorSerializer, description="An unknown `ordering` or `filter`."),
            **MOVED,
        },
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def participants(self, request, slug: str | None = None) -> Response:
        agreement = self.get_object()
        query = ParticipantsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        sort, only = query.validated_data["ordering"], query.validated_data["filter"]
        today = timezone.localdate()
        rows = participants_list(agreement=agreement, today=today, sort=sort, only=only)
        response = Response(ParticipantSerializer(rows, many=True).data)
        # The agreement's own tag moves with every write to it (statements included); the rows
        # also depend on the day (in force, withdrawn), the query and the format.
        renderer = getattr(request, "accepted_renderer", None)
        response["ETag"] = etag_of(
            "participants",
            agreement_etag(agreement),
            sort,
            only,
            today.isoformat(),
            renderer.format if renderer else "",
        )
        return response


# Steps ---------------------------------------------------------------------------------------


@extend_schema_view(
    retrieve=extend_schema(summary="One ratification step"),
    update=extend_schema(
        summary="Record a step's outcome",
        request=StepRecordSerializer,
        responses={200: StepSerializer},
    ),
    partial_update=extend_schema(
        summary="Record part of a step's outcome",
        request=StepRecordSerializer,
        responses={200: StepSerializer},
    ),
    destroy=extend_schema(
        summary="Remove a step from its party's procedure",
        description="Later steps move up one. If the step's outcome had been announced, a "
        "`step_retracted` status change says it no longer stands (and reaches feeds, "
        "webhooks and followers).",
    ),
)
class StepViewSet(
    ConditionalMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A party's ratification step for one agreement. Recording one recomputes the agreement's
    status (read it back from the agreement)."""

    serializer_class = StepSerializer

    def get_queryset(self):
        return step_queryset()

    def etag_for(self, obj: RatificationStep) -> str:
        return step_etag(obj)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        step = self.get_object()
        body = StepRecordSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if not partial and "status" not in data:
            raise exceptions.ValidationError({"status": ["This field is required."]})
        outcome = ("status", "date", "votes_for", "votes_against", "votes_abstaining")
        for name in outcome:
            data.setdefault(name, getattr(step, name) if partial else None)
        with transaction.atomic():
            if "source" in data:
                source = source_from(data.pop("source"))
            else:
                source = step.source if partial else None
            step_record(
                step=step,
                source=source,
                user=request.user,
                expected_version=step.version,
                **data,
            )
        step = step_queryset().get(pk=step.pk)
        return self.with_etag(Response(self.get_serializer(step).data), step)

    def destroy(self, request, *args, **kwargs):
        step = self.get_object()
        # The version as read (and checked against If-Match) is the one removed, or a 412.
        step_remove(step=step, expected_version=step.version)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PartyViewSet(CachedReadMixin, AgreementsPartyViewSet):
    """agreements.api.views's parties, with responses cached like the agreements' (a party's summary
    aggregates over all its agreements: tens of thousands for a busy one)."""


# The change feed -----------------------------------------------------------------------------


class StatusChangeCursor(StrictPageSizeMixin, CursorPagination):
    """Oldest first, by (detected_at, id): a client follows `next` and never sees a row twice."""

    ordering = ("detected_at", "id")


class StatusChangeFilter(FilterSet):
    since = UtcIsoDateTimeFilter(
        field_name="detected_at",
        lookup_expr="gte",
        help_text="Changes recorded at or after this ISO 8601 date-time.",
    )
    agreement = django_filters.CharFilter(field_name="agreement__slug", help_text="Agreement slug.")
    party = django_filters.ModelChoiceFilter(
        queryset=Party.objects.all(), to_field_name="code", help_text="Party code."
    )
    kind = django_filters.MultipleChoiceFilter(
        choices=StatusChange.Kind.choices, help_text="Kind; repeat for any of several."
    )

    class Meta:
        model = StatusChange
        fields = ["since", "agreement", "party", "kind"]


class StatusChangeViewSet(ConditionalMixin, viewsets.ReadOnlyModelViewSet):
    """The change feed: every status change, oldest first. Poll with `?since=` (or follow
    `next`) instead of re-reading agreements."""

    serializer_class = StatusChangeSerializer
    filterset_class = StatusChangeFilter
    pagination_class = StatusChangeCursor

    def get_queryset(self):
        return StatusChange.objects.select_related("agreement", "party", "corrected_by")

    def etag_for(self, obj: StatusChange) -> str:
        # A change never changes, but a later one may come to correct it.
        corrected_by = getattr(obj, "corrected_by", None)
        return etag_of("change", obj.pk, corrected_by.pk if corrected_by else "")


# Vocabularies --------------------------------------------------------------------------------


class VocabulariesView(APIView):
    """Every code the API uses (statuses, progress, step kinds, categories, …) with its label
    and a one-line explanation."""

    @extend_schema(responses={200: VocabulariesSerializer}, summary="Codes and what they mean")
    def get(self, request) -> Response:
        return Response(vocabularies())


__all__ = ["AgreementViewSet", "StatusChangeViewSet", "StepViewSet", "VocabulariesView"]
