"""Pages kept ready for readers who may only view (issue 13).

An agreement's page: everything below its heading (key facts, timeline, each party's track,
clocks, forecasts, provisions, statements, history, sources) is the same for every reader who
may only view, so it is rendered once and kept (`web.models.KeptPage`), as the API detail is
(ratification.api.detail). A reader's page is then its heading, rendered for them (their
follow button), around the kept HTML:
- it is kept under the stamps the API detail depends on (`agreement_scope`: the agreement's
  own, which triggers move with every row the page shows, its related agreements' and the
  reference rows' generation, which the parties' calendars and clock rules move too) and a
  fingerprint of the code and templates that render it;
- the page reads relative to today (overdue steps, clocks, its timeline), so what is kept holds
  until the first day it may read differently, as the API detail does
  (ratification.api.detail.kept_until), and no later than the end of the seven days its
  timeline is drawn for (web.timeline.shown_period); on a later day of those its timeline's
  today line is moved to the day it is read on, which makes it the page rendered that day;
- it is kept ready: a write renders the page again if one is kept, and each night the pages
  that run out are rendered again for the new day (`pages_renew`);
- it applies to a plain GET (no query string: the participants table reads it) by a reader
  who may only view (editors' links are part of it), where the stamps hold (PostgreSQL,
  outside a transaction).

A party's page: everything below its heading is kept in each process under the party's stamp,
which moves at the commit of any write to the party or its agreements (`party_page`).

The home page shows the whole database's lists (counts, newest changes, waiting and overdue
lists), so its body is kept in each process under the generations that every write which may
change a list moves (`whole_data_body`): all but an editor's note on a step.

tests/web/test_kept_page_postgres.py checks them against the usual rendering after writes
through every path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe

from agreements.models import Agreement, KeptDetail
from apikit.response_cache import (
    KeptInProcess,
    database_key,
    source_fingerprint,
    stamps_hold,
)
from parties.models import Party
from ratification.api.detail import (
    Held,
    agreement_scope,
    holding_on,
    holds,
    kept_held,
    kept_read,
    kept_ready_guarded,
    kept_renew_batch,
    kept_until,
)

from .models import KeptPage
from .timeline import shown_period, today_mark_moved, without_today_mark

logger = logging.getLogger(__name__)

# What renders a page: every package it reads through, and the templates.
_RENDERED_BY = (
    "pacttracker",
    "web",
    "notify",
    "ratification",
    "agreements",
    "parties",
    "accounts",
    "apikit",
)
# What the heading reads of the agreement (the rest of the page is kept).
HEADING_FIELDS = ("slug", "title", "summary", "status", "status_since")


def code_fingerprint() -> str:
    """A digest of the code and templates that render a page, read at import."""
    return source_fingerprint(*_RENDERED_BY, templates=True)


def page_applies(request: HttpRequest) -> bool:
    """Whether the kept part answers this request (see the module's docstring)."""
    return (
        stamps_hold()
        # In development the templates change under a running process (Django reloads them).
        and not settings.DEBUG
        and request.method in ("GET", "HEAD")
        and not request.GET
        and may_only_view(request.user)
    )


def may_only_view(user) -> bool:
    """Anyone signed out, and those who hold view permissions only (the `viewers` group): the
    page shows what it offers to add, change or delete to those who may, and nothing else
    differs between readers below its heading."""
    if user.is_superuser:
        return False
    return all(name.partition(".")[2].startswith("view_") for name in user.get_all_permissions())


@dataclass(frozen=True)
class Page:
    """What a reader's page is made of: the agreement (for its heading), its label, and the
    kept HTML below the heading."""

    agreement: Agreement
    label: str
    body: SafeString


@dataclass(frozen=True)
class Rendering:
    """An agreement's page as a reader who may only view sees it: the agreement it read (with
    at least HEADING_FIELDS), its label, the HTML below its heading, and whether that shows a
    clock (whose count of days left moves each day)."""

    agreement: Agreement
    label: str
    body: str
    clocks: bool


# Renders the page of the agreement with this slug for a day; None when no agreement has the
# slug any longer.
Renderer = Callable[[str], "Rendering | None"]


def agreement_page(*, slug: str, today: date, render: Renderer) -> Page | None:
    """The agreement's kept page, rendered by `render` and kept first when it has none for the
    current stamps and code that holds today. None for a slug no agreement has (the usual way
    answers 404, or 301 for a merged one)."""
    try:
        found = _kept_read(slug=slug, today=today)
    except DatabaseError:
        # E.g. code deployed before its migration ran: the usual way still answers.
        logger.warning("agreement %s: kept page not read", slug, exc_info=True)
        return None
    if found is None:
        return None
    agreement_id, scope, kept = found
    if kept is not None:
        agreement, label, body, built_on = kept
        body = body if built_on == today else today_mark_moved(body, today)
        return Page(agreement, label, _rendered(body))
    return _render_and_keep(agreement_id, scope=scope, today=today, render=render, slug=slug)


# The agreement's columns its page's heading reads besides its id, in the model's order, which
# Model.from_db takes them in (the id comes first: it is the first of the model's fields).
_HEADING_COLUMNS = tuple(
    field.attname for field in Agreement._meta.concrete_fields if field.attname in HEADING_FIELDS
)


def _kept_read(
    *, slug: str, today: date
) -> tuple[int, str, tuple[Agreement, str, str, date] | None] | None:
    """The agreement's id, its kept page's scope now (_page_scope) and, if a page is kept under
    it that holds `today`, the agreement (HEADING_FIELDS), the page's label, body and the day it
    was built, in one statement (kept_read). None for a slug no agreement has."""
    found = kept_read(
        KeptPage,
        ("label", "body", "built_on"),
        slug=slug,
        today=today,
        code=code_fingerprint(),
        agreement_columns=_HEADING_COLUMNS,
    )
    if found is None:
        return None
    agreement_id, scope, heading, kept = found
    if kept is None:
        return agreement_id, scope, None
    agreement = Agreement.from_db(
        connection.alias, ["id", *_HEADING_COLUMNS], [agreement_id, *heading]
    )
    return agreement_id, scope, (agreement, *kept)


def page_refresh(agreement_id: int, *, today: date, render: Renderer) -> bool:
    """After a write: renders the agreement's page again if one is kept for today (it was read,
    or renewed), so the next reader does not wait for it. Whether it did. Only where the stamps
    hold, as reading does."""
    if not stamps_hold():
        return False
    kept = (
        KeptPage.objects.filter(holding_on(today), agreement_id=agreement_id).only("scope").first()
    )
    found = _page_scope(pk=agreement_id) if kept is not None else None
    if found is None or found[1] == kept.scope:
        return False  # not kept, deleted since, or already as the stamps are
    return _render_and_keep(agreement_id, scope=found[1], today=today, render=render) is not None


def pages_renew(
    *,
    today: date,
    render: Renderer,
    after: int = 0,
    limit: int = 1000,
    seconds: float | None = None,
) -> tuple[int, int | None]:
    """Keeps ready for `today` the pages kept so far: renders again each that does not hold
    today (its time ran out, or what it shows changed without a write that renders it again:
    forecasts replaced, a calendar, the code), so that a page once read stays ready for its
    readers (web.tasks.kept_renew, each night; `manage.py kept_renew`): at most `limit` of
    them after the id `after`, for about `seconds` (ratification.api.detail.kept_renew_batch).
    Idempotent: what it renders holds today."""
    if not stamps_hold():
        return 0, None
    return kept_renew_batch(
        KeptPage,
        after=after,
        limit=limit,
        seconds=seconds,
        ready=lambda pk, kept: _keep_ready(pk, kept=kept, today=today, render=render),
    )


def pages_build(agreement_ids: list[int], *, today: date, render: Renderer) -> int:
    """Renders and keeps for `today` the page of each of these agreements that has none
    holding today (`manage.py kept_renew --all`, for a database whose pages were never read),
    passing over (and logging) one that cannot be rendered. Idempotent. How many it rendered."""
    held = kept_held(KeptPage, agreement_ids)
    return sum(
        kept_ready_guarded(
            lambda pk, kept: _keep_ready(pk, kept=kept, today=today, render=render),
            pk,
            held.get(pk),
        )
        for pk in agreement_ids
    )


def _keep_ready(agreement_id: int, *, kept: Held | None, today: date, render: Renderer) -> bool:
    """Renders and keeps the agreement's page unless `kept` (its kept page's scope and days)
    holds today under the current stamps. Whether it rendered one (not for an agreement gone
    since)."""
    found = _page_scope(pk=agreement_id)
    if found is None:
        return False
    if holds(kept, scope=found[1], today=today):
        return False
    return _render_and_keep(agreement_id, scope=found[1], today=today, render=render) is not None


def _page_scope(**lookup: Any) -> tuple[int, str] | None:
    """The agreement's id and what its page is kept under: what it depends on (`lookup`: its
    slug or id) and the code that renders it."""
    found = agreement_scope(**lookup)
    return None if found is None else (found[0], f"{found[1]}:code{code_fingerprint()}")


def _render_and_keep(
    agreement_id: int, *, scope: str, today: date, render: Renderer, slug: str | None = None
) -> Page | None:
    """Renders the page and keeps it under `scope`, read before the rows (so the rows are at
    least as new as what it names; a write in between moves them on, and the next reader
    renders again), until the first day it may read differently: a date it shows (as the API
    detail), the next day while it shows a clock, the end of its timeline's period. None when
    the agreement is gone, or no longer has `slug`."""
    if slug is None:
        slug = Agreement.objects.filter(pk=agreement_id).values_list("slug", flat=True).first()
    rendered = render(slug) if slug is not None else None
    if rendered is None or rendered.agreement.pk != agreement_id:
        return None  # deleted, merged or renamed since: the usual way answers
    shown = without_today_mark(rendered.body)  # today's date there is moved, not shown
    valid_until = min(
        kept_until(shown.encode(), clocks=rendered.clocks, today=today),
        shown_period(today, phase=agreement_id)[1],
    )
    try:
        KeptPage.objects.bulk_create(
            [
                KeptPage(
                    agreement_id=agreement_id,
                    scope=scope,
                    built_on=today,
                    valid_until=valid_until,
                    label=rendered.label,
                    body=rendered.body,
                )
            ],
            update_conflicts=True,
            unique_fields=["agreement"],
            update_fields=["scope", "built_on", "valid_until", "label", "body"],
        )
    except DatabaseError:
        # Deleted since it was read, or a database that takes no writes: served, not kept.
        logger.warning("agreement %s: page rendered but not kept", agreement_id, exc_info=True)
    return Page(rendered.agreement, rendered.label, _rendered(rendered.body))


# Party pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyPage:
    """What a reader's party page is made of: the party and its agreements' count (for the
    heading) and the kept HTML below the heading."""

    party: Party
    total: int
    body: SafeString


# The party's page below its heading and its count of agreements, as a reader who may only view
# sees them; None when no party has the code any longer.
PartyRenderer = Callable[[str], "tuple[Party, int, str] | None"]

# Each party's page read by this process, under its stamp, the reference generation and the day.
_party_pages = KeptInProcess()
# How long the shared cache keeps a party's latest rendering (one entry a party and day: each
# rendering replaces the one before it): the day it was rendered for, and a margin.
PARTY_PAGE_SHARED_SECONDS = 26 * 3600


def party_page(*, code: str, today: date, render: PartyRenderer) -> PartyPage | None:
    """The party's page as `render` gives it, kept in this process under the party's stamp
    (ratification 0025: it moves at the commit of any write to the party, its procedure, its
    participations or any of its agreements' rows, which every part of an agreement moves),
    the reference generation (partners' names, clock rules, calendars) and the day (running
    clocks, forecasts). So a write to one agreement renders again the pages of its parties
    only. One query when kept. None for a code no party has (the usual way answers 404).

    A process that has no page for the scope first looks in the shared cache (Redis, where
    CACHE_URL names it): one entry a party, database, day and rendering code, holding the
    latest rendering with its scope, served only under the same scope. So the web processes
    render each party's page once between them, not once each (the busiest party's takes
    about 200 ms), and a stamp's move leaves no rendering behind in the cache."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(s.value, 0), r.value FROM parties_party p "
                "LEFT JOIN ratification_party_stamp s ON s.party_id = p.id, "
                "ratification_reference_generation r WHERE p.code = %s",
                [code.upper()],
            )
            found = cursor.fetchone()
    except DatabaseError:
        logger.warning("party %s: stamp not read", code, exc_info=True)
        return None
    if found is None:
        return None

    scope = (*found, today)
    shared_key = database_key("party-page.2", code.upper(), code_fingerprint())

    def build() -> PartyPage | None:
        shared = cache.get(shared_key)
        if shared is not None and shared[0] == scope:
            rendered = shared[1]
        else:
            rendered = render(code)
            if rendered is None:
                return None
            cache.set(shared_key, (scope, rendered), PARTY_PAGE_SHARED_SECONDS)
        party, total, body = rendered
        return PartyPage(party, total, _rendered(body))

    return _party_pages.get(code.upper(), scope, build)


# Pages built from the whole database ---------------------------------------------------------


# Each such page, kept in this process under the listing and reference generations and the day.
_whole_data = KeptInProcess()


def whole_data_body(name: str, *, today: date, render: Callable[[], str]) -> SafeString | None:
    """A page built from the whole database's lists (the home page's counts, waiting and overdue
    lists, newest status changes), as `render` gives it to a reader who may only view, kept in
    this process under the listing and reference generations and the day: rendered again at
    most once per process after each committed write that may change a list (not an editor's
    note on a step, ratification 0026) or calendar change, and served as it is until then.
    None where the generations do not hold (page_applies); the caller renders."""
    if not stamps_hold():
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT d.listing, r.value FROM ratification_cache_generation d, "
                "ratification_reference_generation r"
            )
            listing, reference = cursor.fetchone()
    except DatabaseError:
        logger.warning("%s: the generations were not read", name, exc_info=True)
        return None
    # Rendered after the generations were read: at least as new as they say (a write in
    # between moves them on, and the next reader renders again).
    return _whole_data.get(name, (listing, reference, today), lambda: _rendered(render()))


def _rendered(html: str) -> SafeString:
    """HTML that our templates rendered (escaping what users wrote) and this module kept: safe
    to put in a page as it is. Nothing else writes the kept pages."""
    return mark_safe(html)  # noqa: S308  # nosec B308 B703  # rendered by our templates


def kept_prune(*, today: date) -> int:
    """Deletes the kept pages and API details that no longer hold on `today` (after
    `pages_renew`, the pages it could not render again), which the next read would build again
    anyway: a page is about 11 KB stored. How many rows it deleted."""
    pages, _ = KeptPage.objects.filter(valid_until__lte=today).delete()
    details, _ = KeptDetail.objects.filter(valid_until__lte=today).delete()
    return pages + details


code_fingerprint()  # at import, before any request
