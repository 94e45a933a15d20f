"""An agreement's API detail: what it reads, its ETag, what it depends on, and the document kept
of it (issue 13).

The kept document is the JSON that `GET /api/v1/agreements/{slug}/` answers, rendered once and
served as it is until what it was built from changes, so a detail read costs one statement
(`_kept_read`) instead of a dozen and the serialising:
- `agreement_scope()` names the stamps it depends on (`SCOPE_SQL`, which the read compares
  with the kept document's in the same statement): the agreement's own, which triggers move
  with every row the detail shows (ratification migrations 0007 and 0020, PostgreSQL only), its
  related agreements' and the reference rows' generation;
- the detail reads relative to today (overdue steps, expected dates, notices, clocks), so it
  is kept until the first day after today that it names or that follows one it names (a
  scheduled step is overdue the day after its date), a day when a clock is counting, and at
  most a week; tests/api/test_kept_detail_postgres.py checks it against fresh builds;
- its own links are rendered under a placeholder origin drawn anew for each build (so no text
  a user wrote can contain it), and the asker's scheme and host put in when served;
- the code that built it is part of its scope (`code_fingerprint`), so a release that changes
  how a detail reads never serves what an older one built.

A document is built on the first read that finds none for the current stamps, and rebuilt by
the worker after a write to an agreement that has one (ratification.tasks), so the next reader
does not wait for it; each night, the documents that no longer hold are built again
(`kept_details_renew`, run by web.tasks.kept_renew).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, OperationalError, connection, models
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpResponse, QueryDict

from agreements.models import (
    Agreement,
    KeptDetail,
    Objection,
    Participation,
    Provision,
    Relation,
    Signatory,
    Statement,
)
from apikit.conditional import etag_of
from apikit.renderers import JSONRenderer
from apikit.response_cache import caching_possible, source_fingerprint, stamps_hold

from ..models import RatificationStep, StatusChange
from ..selectors import forecasts_prefetch
from .serializers import AgreementDetailSerializer

# Columns that no part of the detail reads (nor the engine, the clocks or the forecasts it runs):
# loading them was much of the rows' cost.
_AGREEMENT_UNREAD = ("facet_keys", "cache_stamp")
_PARTY_UNREAD = ("official_name", "kind", "created_at", "updated_at")
_STEP_UNREAD = ("created_at", "recorded_by", "source__created_at")
_STATUS_CHANGE_UNREAD = ("dedupe_key", "fanned_out_at", "followers_notified_at")
_NAMED = ("slug", "title", "short_name", "status")  # what names a related agreement


def agreement_detail_queryset(*, reading: bool = False) -> QuerySet[Agreement]:
    """Everything AgreementDetailSerializer shows: one query per prefetch, however many rows.

    `reading`: for the response only, without the columns it does not show (the agreement's
    facet keys and cache stamp, related agreements past what names them, parties' and steps'
    unread columns); not for an instance that is then saved."""

    def unread(*names: str) -> tuple[str, ...]:
        return names if reading else ()

    party_unread = unread(*(f"party__{name}" for name in _PARTY_UNREAD))
    steps = (
        RatificationStep.objects.select_related("source")
        .defer(*unread(*_STEP_UNREAD))
        .order_by("order", "pk")
    )
    relations_from = Relation.objects.select_related("to_agreement").order_by("pk")
    relations_to = Relation.objects.select_related("from_agreement").order_by("pk")
    if reading:
        relations_from = relations_from.only(
            "kind", "note", "from_agreement", *(f"to_agreement__{name}" for name in _NAMED)
        )
        relations_to = relations_to.only(
            "kind", "note", "to_agreement", *(f"from_agreement__{name}" for name in _NAMED)
        )
    return Agreement.objects.defer(*unread(*_AGREEMENT_UNREAD)).prefetch_related(
        "subjects",
        "sources",
        forecasts_prefetch(),
        Prefetch(
            "participations",
            queryset=Participation.objects.select_related("party")
            .defer(*party_unread)
            .prefetch_related(Prefetch("steps", queryset=steps))
            .order_by("party__name", "pk"),
        ),
        Prefetch(
            "signatories",
            queryset=Signatory.objects.select_related("party", "source").order_by(
                "party__name", "name", "pk"
            ),
        ),
        Prefetch("provisions", queryset=Provision.objects.select_related("source")),
        Prefetch(
            "statements",
            queryset=Statement.objects.select_related("party", "source", "withdrawal_source")
            .prefetch_related(
                Prefetch("objections", queryset=Objection.objects.select_related("party", "source"))
            )
            .order_by("party__name", "made_on", "pk"),
        ),
        Prefetch(
            "status_changes",
            queryset=StatusChange.objects.select_related("party", "corrected_by")
            .defer(*unread(*_STATUS_CHANGE_UNREAD), *party_unread)
            .order_by("-detected_at", "-pk"),
        ),
        Prefetch("relations_from", queryset=relations_from),
        Prefetch("relations_to", queryset=relations_to),
    )


def agreement_etag(agreement: Agreement) -> str:
    # version: its own fields; derived_revision: status, progress and dates the engine derives.
    return etag_of(
        "agreement",
        agreement.pk,
        agreement.version,
        agreement.derived_revision,
        agreement.updated_at.isoformat(),
    )


def agreement_cache_scope(*, slug: str) -> str | None:
    """The key of an agreement's cached API detail (apikit.response_cache); None when nothing
    may be cached."""
    if not caching_possible():
        return None
    found = agreement_scope(slug=slug)
    return None if found is None else found[1]


# What an agreement's API detail depends on (agreement_scope), as text in SQL: its own stamp,
# which triggers move whenever a row it is built from changes (migration 0007; PostgreSQL), the
# stamps of the agreements it names as related, and the generation of the shared reference rows
# (party, subject and source names). Over the agreement `a` and the generation's row `g`; the
# agreement page's kept copy (web.kept) is kept under it too.
SCOPE_SQL = """
    'agreement:' || a.id || ':' || a.cache_stamp || ':'
    || (SELECT coalesce(sum(b.cache_stamp), 0)
          FROM agreements_relation r
          JOIN agreements_agreement b
            ON b.id = CASE WHEN r.from_agreement_id = a.id
                           THEN r.to_agreement_id ELSE r.from_agreement_id END
         WHERE r.from_agreement_id = a.id OR r.to_agreement_id = a.id)
    || ':ref' || g.value
"""


def agreement_scope(*, slug: str | None = None, pk: int | None = None) -> tuple[int, str] | None:
    """The id of the agreement with this slug (or this id) and what its API detail depends on
    (SCOPE_SQL). One indexed query; None for an unknown agreement."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT a.id, {SCOPE_SQL}
              FROM agreements_agreement a, ratification_reference_generation g
             WHERE a.slug = %s OR a.id = %s
            """,  # noqa: S608  # nosec B608 (constant SQL: the text is this module's)
            [slug, pk],
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


# The kept document ---------------------------------------------------------------------------

logger = logging.getLogger(__name__)

KEPT_DAYS_AT_MOST = 7
_DAY = re.compile(rb"\d{4}-\d{2}-\d{2}")


class _Origin:
    """Stands in for the request where the serializers build links: under `origin`. (DRF's
    reverse() asks a request for its versioning scheme, which the API does not use, and for
    its query string, whose format it would carry into the links.)"""

    versioning_scheme = None
    GET = QueryDict()

    def __init__(self) -> None:
        # ".invalid" is reserved (RFC 2606); the random name keeps it out of what users write.
        self.origin = f"https://{secrets.token_hex(16)}.invalid"

    def build_absolute_uri(self, location: str) -> str:
        return self.origin + location


# What a detail is built by: the settings and the domain down to the API kit.
_BUILT_BY = ("pacttracker", "ratification", "agreements", "parties", "apikit")


def code_fingerprint() -> str:
    """A digest of the code that builds a detail (apikit.response_cache.source_fingerprint),
    read when this module is imported, before any request."""
    return source_fingerprint(*_BUILT_BY)


def kept_detail_applies(request: Any, kwargs: dict[str, Any]) -> bool:
    """Whether the kept document answers this request: a plain GET of the JSON (no query
    string, no format suffix), where the stamps hold (a document built inside a transaction
    that then renames a party would be kept under the generation of the new name)."""
    renderer = getattr(request, "accepted_renderer", None)
    return (
        stamps_hold()
        and request.method == "GET"
        and renderer is not None
        and renderer.format == "json"
        and getattr(request, "accepted_media_type", None) == renderer.media_type
        and not kwargs.get("format")
        and not request.GET
    )


def kept_detail_response(request: Any, *, slug: str, today: date) -> HttpResponse | None:
    """The agreement's detail from its kept document, built first when it has none for the
    current stamps and day. None for a slug no agreement has (the usual way answers 404, or
    301 for a merged one)."""
    found = _kept_read(slug=slug, today=today)
    if found is None:
        return None
    agreement_id, scope, kept = found
    if kept is None:
        try:
            kept = kept_detail_build(agreement_id, scope=scope, today=today)
        except Agreement.DoesNotExist:
            return None  # deleted or merged since: the usual way answers 404 or 301
    origin = request.build_absolute_uri("/")[:-1]
    body = bytes(kept.body).replace(f'"{kept.origin}/'.encode(), f'"{origin}/'.encode())
    response = HttpResponse(body, content_type=JSONRenderer.media_type)
    response["ETag"] = kept.etag
    return response


def _kept_read(*, slug: str, today: date) -> tuple[int, str, KeptDetail | None] | None:
    """The agreement's id, its kept document's scope now (_kept_scope) and that document if one
    is kept under it that holds `today`, in one statement (kept_read). None for a slug no
    agreement has."""
    found = kept_read(
        KeptDetail, ("etag", "origin", "body"), slug=slug, today=today, code=code_fingerprint()
    )
    if found is None:
        return None
    agreement_id, scope, _, row = found
    kept = None
    if row is not None:
        etag, origin, body = row
        kept = KeptDetail(
            agreement_id=agreement_id, scope=scope, etag=etag, origin=origin, body=body
        )
    return agreement_id, scope, kept


def kept_read(
    model: type[models.Model],
    kept_columns: tuple[str, ...],
    *,
    slug: str,
    today: date,
    code: str,
    agreement_columns: tuple[str, ...] = (),
) -> tuple[int, str, tuple[Any, ...], tuple[Any, ...] | None] | None:
    """What a reader of the agreement with this slug needs of what `model` keeps of it, in one
    statement, so that a kept read is one round trip to the database: the agreement's id, the
    scope its kept copy is kept under now (SCOPE_SQL and the `code` fingerprint), its
    `agreement_columns`, and the kept copy's `kept_columns` if one is kept under that scope and
    holds `today` (HOLDING_SQL), else None. None for a slug no agreement has. The column names
    are the callers' own (constants), never a user's."""
    carried = "".join(f", a.{column} AS a_{column}" for column in agreement_columns)
    read = "".join(f", s.a_{column}" for column in agreement_columns)
    kept = ", ".join(f"k.{column}" for column in kept_columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT s.id, s.scope, k.agreement_id IS NOT NULL{read}, {kept}
              FROM (SELECT a.id{carried}, {SCOPE_SQL} || ':code' || %s AS scope
                      FROM agreements_agreement a, ratification_reference_generation g
                     WHERE a.slug = %s) s
              LEFT JOIN {model._meta.db_table} k
                ON k.agreement_id = s.id AND k.scope = s.scope AND {HOLDING_SQL}
            """,  # noqa: S608  # nosec B608 (constant SQL: the text is this module's and its callers')
            [code, slug, today, today],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    agreement_id, scope, found, *values = row
    split = len(agreement_columns)
    return agreement_id, scope, tuple(values[:split]), tuple(values[split:]) if found else None


def kept_detail_build(agreement_id: int, *, scope: str, today: date) -> KeptDetail:
    """Builds and keeps the agreement's document under `scope`, read before the rows (so the
    rows are at least as new as the stamps it names; a write in between moves them on, and the
    next reader builds again)."""
    agreement = agreement_detail_queryset(reading=True).get(pk=agreement_id)
    stand_in = _Origin()
    data = AgreementDetailSerializer(agreement, context={"request": stand_in}).data
    body = JSONRenderer().render(data, JSONRenderer.media_type)
    kept = KeptDetail(
        agreement_id=agreement_id,
        scope=scope,
        built_on=today,
        valid_until=kept_until(body, clocks=bool(data["clocks"]), today=today),
        etag=agreement_etag(agreement),
        origin=stand_in.origin,
        body=body,
    )
    try:
        KeptDetail.objects.bulk_create(
            [kept],
            update_conflicts=True,
            unique_fields=["agreement"],
            update_fields=["scope", "built_on", "valid_until", "etag", "origin", "body"],
        )
    except DatabaseError:
        # Deleted since it was read, or a database that takes no writes: served, not kept.
        logger.warning("agreement %s: detail built but not kept", agreement_id, exc_info=True)
    return kept


def kept_detail_refresh(agreement_id: int, *, today: date) -> bool:
    """After a write: rebuilds the agreement's document if it has one (one that was read), so
    the next reader does not wait for it. Whether it did. Only where the stamps hold, as
    reading does (kept_detail_applies)."""
    if not stamps_hold() or not KeptDetail.objects.filter(agreement_id=agreement_id).exists():
        return False
    return kept_detail_ready(agreement_id, kept=None, today=today)


# What is kept of an agreement (its API detail, its page) and holds under `scope` from one day to
# the day before another: (scope, built_on, valid_until).
Held = tuple[str, date, date]
HELD_FIELDS = ("scope", "built_on", "valid_until")


def holding_on(today: date) -> Q:
    """What is kept (a KeptDetail, web's KeptPage) and may be served on `today`."""
    return Q(built_on__lte=today, valid_until__gt=today)


# holding_on in SQL, over the kept row `k`, for the parameters (today, today): kept_read.
HOLDING_SQL = "k.built_on <= %s AND k.valid_until > %s"


def holds(kept: Held | None, *, scope: str, today: date) -> bool:
    """Whether what is kept (`kept`, or nothing) may be served on `today` under `scope`."""
    return kept is not None and kept[0] == scope and kept[1] <= today < kept[2]


def kept_held(model: type[models.Model], agreement_ids: list[int]) -> dict[int, Held]:
    """What `model` keeps of these agreements, by agreement id (one query)."""
    return {
        pk: (scope, built_on, until)
        for pk, scope, built_on, until in model.objects.filter(
            agreement_id__in=agreement_ids
        ).values_list("agreement_id", *HELD_FIELDS)
    }


def kept_renew_batch(
    model: type[models.Model],
    *,
    after: int,
    limit: int,
    ready: Callable[[int, Held], bool],
    seconds: float | None = None,
) -> tuple[int, int | None]:
    """Calls `ready` on what is kept in `model` (KeptDetail, web's KeptPage) for at most `limit`
    agreements after the id `after`, in id order, and for about `seconds` at most: it builds
    again what does not hold. One agreement that cannot be built is logged and passed over, so
    that it does not hold up the others. How many it built, and the last id it looked at when
    more may follow (None when none can)."""
    rows = list(
        model.objects.filter(agreement_id__gt=after)
        .order_by("agreement_id")
        .values_list("agreement_id", *HELD_FIELDS)[:limit]
    )
    deadline = None if seconds is None else time.monotonic() + seconds
    built, last = 0, None
    for pk, scope, built_on, until in rows:
        built += kept_ready_guarded(ready, pk, (scope, built_on, until))
        last = pk
        if deadline is not None and time.monotonic() > deadline:
            break
    more = len(rows) == limit or (rows and last != rows[-1][0])
    return built, (last if more else None)


def kept_ready_guarded(
    ready: Callable[[int, Held | None], bool], pk: int, held: Held | None
) -> bool:
    """`ready(pk, held)`, with an error logged and False returned rather than raised: one
    agreement that cannot be built (a template or data error) must not stop a renewal of
    thousands. A lost database connection and a task's time limit still end the run (the
    task retries the batch, or the next run carries on)."""
    try:
        return ready(pk, held)
    except (OperationalError, SoftTimeLimitExceeded):
        raise
    except Exception:
        logger.exception("agreement %s: what is kept of it could not be built", pk)
        return False


def kept_details_renew(
    *, today: date, after: int = 0, limit: int = 1000, seconds: float | None = None
) -> tuple[int, int | None]:
    """Builds again for `today` each kept document that does not hold today (its time ran
    out, or what it shows changed without a write that builds it again: forecasts replaced, the
    code), so that a detail once read stays ready (web.tasks.kept_renew, each night): at most
    `limit` of them after the id `after`, for about `seconds` (kept_renew_batch). Idempotent."""
    if not stamps_hold():
        return 0, None
    return kept_renew_batch(
        KeptDetail,
        after=after,
        limit=limit,
        seconds=seconds,
        ready=lambda pk, kept: kept_detail_ready(pk, kept=kept, today=today),
    )


def kept_details_build(agreement_ids: list[int], *, today: date) -> int:
    """Builds and keeps for `today` the document of each of these agreements that has none
    holding today (`manage.py kept_renew --all`), passing over (and logging) one that cannot be
    built. Idempotent. How many it built."""
    held = kept_held(KeptDetail, agreement_ids)
    return sum(
        kept_ready_guarded(
            lambda pk, kept: kept_detail_ready(pk, kept=kept, today=today), pk, held.get(pk)
        )
        for pk in agreement_ids
    )


def kept_detail_ready(agreement_id: int, *, kept: Held | None, today: date) -> bool:
    """Builds and keeps the agreement's document unless `kept` (its kept document's scope and
    days) holds today under the current stamps. Whether it built one (not for an agreement
    gone since)."""
    found = _kept_scope(pk=agreement_id)
    if found is None:
        return False
    if holds(kept, scope=found[1], today=today):
        return False
    try:
        kept_detail_build(agreement_id, scope=found[1], today=today)
    except Agreement.DoesNotExist:
        return False  # deleted since
    return True


def _kept_scope(**lookup: Any) -> tuple[int, str] | None:
    """The agreement's id and what its kept document is kept under: what the detail depends on
    (`lookup`: its slug or id) and the code that builds it."""
    found = agreement_scope(**lookup)
    return None if found is None else (found[0], f"{found[1]}:code{code_fingerprint()}")


def kept_until(body: bytes, *, clocks: bool, today: date) -> date:
    """The first day a detail (or an agreement's page, web.kept) may read differently. The
    engine, the notices and the clocks compare dates the detail shows with today, some as "on
    or before" (a step has happened), some as "before" (a scheduled step is overdue), so each
    date the detail shows and the day after it are where it may change: the first of those
    after today (every date-shaped text counts, in notes too: that only shortens it). Tomorrow
    while a clock is shown (its count moves daily); at most a week."""
    if clocks:
        return today + timedelta(days=1)
    later = [today + timedelta(days=KEPT_DAYS_AT_MOST)]
    for text in set(_DAY.findall(body)):
        try:
            day = date.fromisoformat(text.decode())
        except ValueError:
            continue
        after = [day + timedelta(days=1)] if day < date.max else []
        later += [d for d in (day, *after) if d > today]
    return min(later)


code_fingerprint()  # at import, before any request: see code_fingerprint
