"""Cached API read responses, invalidated exactly by a database generation number.

Building an agreement page of the API costs a count over the whole table, a page query, two to
nine prefetches and serialising every nested row; at 100,000 agreements that is tens of
milliseconds, while the data changes rarely. So a rendered JSON response is kept in the cache
under a key that holds the *data generation*: a counter in PostgreSQL that every committed write
to any table a response is built from moves on (migration 0004_response_cache_generation, by
trigger, so every writer is covered). A write therefore invalidates every cached response at
once; nothing is ever served from before the last commit. The generation is read before the
data, so a response computed from newer data can at worst be stored under an older number, never
the other way round.

A view can narrow what a response is kept under (`CachedReadMixin.cache_scope`): an agreement's
detail is kept under that agreement's own stamp, which triggers move when a row it is built from
changes (ratification migration 0007), plus its related agreements' stamps and a generation of
the names many details share (parties, subjects, sources). So a write to one agreement leaves
every other agreement's cached detail in place. A list is kept under the *listing
generation*, which moves with the data generation except at the commit of a write whose every
row changes no list's membership, order or counts (an editor's note on a step: ratification
0026 tells them apart by trigger); such a write changes at most the written agreement's row (its
`updated_at`). So a list's entry is kept under its address alone and holds what it was built
under (`hit_checks`): the listing generation and the stamps of the rows it shows, which a hit
checks in one query (`hit_holds`) before it is served; a stale entry is built again in place.
The pages are built from kept rows and counts (agreements.listing) and are not cached. A
miss of the API's whole list, or of its lists on parties alone, as plain JSON, is read from
kept pages (ratification.api.kept_list).

The key also holds what else a response depends on: the address (path, query, host, scheme),
the negotiated media type, the user (permissions could differ) and today's date (the detail
shows overdue steps and expected dates relative to today).

Only JSON responses with status 200 are cached, only on PostgreSQL, and only when
settings.API_RESPONSE_CACHE_SECONDS (default 300; 0 turns it off) allows. The timeout only
bounds memory: correctness comes from the generation. Entries go to the default cache, which
CACHE_URL makes shared (Redis), so one process's miss serves the others; and to a small memory in
each process in front of it, which saves the round trip and the unpickling on a repeated hit.
Both are keyed by generation, so neither can serve what a write has replaced.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.utils import timezone

DEFAULT_SECONDS = 300
# A cached response keeps every header the view set (ETag, Link, X-Total-Count, Allow, Vary, …):
# it is stored when DRF renders it, before middleware adds its own on the way out.
NOT_KEPT = frozenset({"set-cookie"})
# Entries kept in each process's own memory (responses are tens of kB: a few MB at most).
LOCAL_ENTRIES = 200


class _LocalResponses:
    """The most recently used cached responses of this process, as they are (no pickling)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[str, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def set(self, key: str, value: Any) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_local = _LocalResponses(LOCAL_ENTRIES)


def _get(key: str) -> Any:
    hit = _local.get(key)
    if hit is None:
        hit = cache.get(key)
        if hit is not None:
            _local.set(key, hit)
    return hit


def _set(key: str, value: Any) -> None:
    _local.set(key, value)
    cache.set(key, value, _seconds())


def data_generation() -> int | None:
    """The current data generation, or None when responses must not be cached.

    None on SQLite (no generation), and inside a transaction: what it reads may include its own
    uncommitted writes, which the generation only counts at commit (and tests run inside one).
    """
    return _generation("SELECT value FROM ratification_cache_generation WHERE id = 1")


def listing_generation() -> int | None:
    """The current listing generation (ratification 0026): the data generation but for the
    commits whose every row written changes no list's membership, order or counts (an editor's
    note on a step). None as for data_generation."""
    return _generation("SELECT listing FROM ratification_cache_generation WHERE id = 1")


def _generation(sql: str) -> int | None:
    if not caching_possible():
        return None
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    return row[0] if row else None


class KeptInProcess:
    """Values this process builds once and keeps under what they were built from (their scope:
    generations, stamps, the day), one per key: `get` returns the kept value while the caller's
    scope is the same, and builds and keeps a new one otherwise. The caller reads the scope
    before `build` reads the rows, so what is kept is at least as new as its scope says."""

    def __init__(self) -> None:
        self._kept: dict[Hashable, tuple[Hashable, Any]] = {}

    def get(self, key: Hashable, scope: Hashable, build: Callable[[], Any]) -> Any:
        """The value kept for `key` under `scope`, or `build()`'s (kept unless None)."""
        kept = self._kept.get(key)
        if kept is not None and kept[0] == scope:
            return kept[1]
        value = build()
        if value is not None:
            self._kept[key] = (scope, value)
        return value


def reference_generation() -> int:
    """The generation of the shared reference rows (parties, subjects, sources, clock rules and
    calendars; ratification 0007 and 0020), which their triggers move once per transaction that
    writes them. PostgreSQL; read it before what is kept under it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM ratification_reference_generation WHERE id = 1")
        return cursor.fetchone()[0]


def data_generation_move() -> None:
    """Moves the data and listing generations and every party's stamp, for a write that no
    trigger counts (one to a table that is not stamped, such as the kept facet counts). Its row
    stays locked until the transaction ends, holding off writers' commits: call it last.
    PostgreSQL; nothing where the generation's table is not there (yet: a migration running
    before ratification's 0004)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass('ratification_cache_generation') IS NOT NULL, "
            "to_regprocedure('ratification_parties_stamp(text, bigint)') IS NOT NULL, "
            "EXISTS (SELECT FROM pg_attribute WHERE attname = 'listing' AND NOT attisdropped "
            "AND attrelid = to_regclass('ratification_cache_generation'))"
        )
        generation_there, party_stamps_there, listing_there = cursor.fetchone()
        if not generation_there:
            return
        cursor.execute(
            "UPDATE ratification_cache_generation SET value = value + 1, listing = listing + 1 "
            "WHERE id = 1 RETURNING value"
            if listing_there  # (ratification 0026; not yet there when an earlier one runs)
            else "UPDATE ratification_cache_generation SET value = value + 1 WHERE id = 1 "
            "RETURNING value"
        )
        if party_stamps_there:
            # What no trigger counts may be on any party's page (its counts): every party's
            # stamp moves to the new generation, under its lock as at commit (ratification
            # 0025).
            cursor.execute("SELECT ratification_parties_stamp('*', %s)", [cursor.fetchone()[0]])


def stamps_hold() -> bool:
    """Whether what is read now may be kept under the stamps and generations that triggers
    move: on PostgreSQL (the triggers' home) and outside a transaction (see data_generation;
    the reference rows' generation moves once per transaction)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


@functools.cache
def _installed() -> str:
    """Every installed library and its version, read once per process (each fingerprint names
    them all)."""
    return " ".join(
        sorted(f"{dist.metadata['Name']} {dist.version}" for dist in metadata.distributions())
    )


@functools.cache
def source_fingerprint(*packages: str, templates: bool = False) -> str:
    """A digest of the code that renders what is kept under it: the packages' Python source
    (migrations aside), the project's templates if `templates`, the version of every installed
    library (Django, DRF, the Markdown renderer and HTML sanitiser of the pages' notes …) and
    the time zone. A release or an upgrade that changes any of them keys its representations
    anew, so none an older one built is served. Read once per process (call it at import)."""
    digest = hashlib.sha256(f"{_installed()} tz {settings.TIME_ZONE}".encode())
    root = Path(settings.BASE_DIR)
    paths = [
        path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
        if "migrations" not in path.parts
    ]
    if templates:
        paths += sorted((root / "templates").rglob("*.html"))
    for path in paths:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def caching_possible() -> bool:
    """Whether a response read now may be kept: where the stamps hold, unless
    API_RESPONSE_CACHE_SECONDS turns the cache off."""
    return stamps_hold() and _seconds() > 0


def _seconds() -> int:
    return int(getattr(settings, "API_RESPONSE_CACHE_SECONDS", DEFAULT_SECONDS))


def database_key(prefix: str, scope: object, *parts: str) -> str:
    """A cache key for what depends on the database (its name: two databases may share one
    Redis), `scope` (its data generation, or what a view narrowed it to), today's date (pages
    show overdue steps and expected dates relative to it) and `parts`."""
    whole = [str(connection.settings_dict.get("NAME")), str(scope)]
    whole += [timezone.localdate().isoformat(), *parts]
    digest = hashlib.sha256("\x1f".join(whole).encode()).hexdigest()
    return f"{prefix}:{digest}"


class CachedReadMixin:
    """For DRF viewsets: cache `list` and `retrieve` JSON responses (see the module docstring).

    Runs after authentication, permissions and throttling (DRF's `initial()`), so a cached
    response is only ever given to a request that would have been allowed to build it.
    """

    cached_actions = ("list", "retrieve")

    def cache_scope(self, request) -> str | None:
        """What a cached response depends on besides its address: by default the data generation,
        which any committed write moves on. A view narrows it to what the response shows (an
        agreement's detail: that agreement's stamp), or leaves it to `hit_checks` (a list).
        None: do not cache."""
        generation = data_generation()
        return None if generation is None else f"g{generation}"

    def hit_checks_read(self) -> Any:
        """On a miss, before the response is built: what `hit_checks` needs read first (a list:
        the listing generation), or None."""
        return None

    def hit_checks(self, read: Any) -> Any:
        """After the response was built, from what `hit_checks_read` gave: what a hit checks
        before it is served (`hit_holds`), for a view whose key's scope does not cover every
        change to what it shows (a list: the listing generation and the stamps of the rows it
        shows). None: the scope covers it all."""
        return None

    def hit_holds(self, checks: Any) -> bool:
        """Whether a cached response whose `hit_checks` were `checks` may still be served."""
        raise NotImplementedError("A view whose hit_checks gives checks holds them here.")

    def _response_cache_key(self, request) -> str | None:
        if request.method != "GET" or self.action not in self.cached_actions:
            return None
        if not caching_possible():
            return None
        renderer = getattr(request, "accepted_renderer", None)
        if renderer is None or renderer.format != "json":
            return None  # the browsable API is HTML with a CSRF token: never shared
        scope = self.cache_scope(request)
        if scope is None:
            return None
        user = request.user.pk if request.user and request.user.is_authenticated else 0
        return database_key(
            # ".2": an entry holds what a hit checks (the release before's did not).
            "api-response.2",
            scope,
            str(user),
            request.scheme,
            request.get_host(),
            request.get_full_path(),
            getattr(request, "accepted_media_type", ""),
        )

    def _cached(self, request, handler, *args: Any, **kwargs: Any):
        key = self._response_cache_key(request)
        if key is None:
            return handler(request, *args, **kwargs)
        hit = _get(key)
        if hit is not None:
            content, headers, checks = hit
            if checks is None or self.hit_holds(checks):
                response = HttpResponse(content, status=200)
                for name, value in headers:
                    response[name] = value
                return response
        read = self.hit_checks_read()
        response = handler(request, *args, **kwargs)
        if response.status_code == 200:
            checks = self.hit_checks(read)

            def store(rendered) -> None:
                headers = [(h, v) for h, v in rendered.items() if h.lower() not in NOT_KEPT]
                _set(key, (rendered.content, tuple(headers), checks))

            response.add_post_render_callback(store)
        return response

    def list(self, request, *args, **kwargs):
        return self._cached(request, super().list, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        return self._cached(request, super().retrieve, *args, **kwargs)
