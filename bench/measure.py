"""The Django side of the benchmark, run by bench/run.py in its own process (JSON on stdout).

    python bench/measure.py paths      request paths for each HTTP endpoint (sampled with a seed)
    python bench/measure.py queries    queries per request, small and large variant of each
    python bench/measure.py sweep      the calendar sweep: time, queries, peak Python memory
    python bench/measure.py celery K   K status changes through a running Celery worker
    python bench/measure.py editor     an editor's API token and the steps its writes go to
    python bench/measure.py keep I K   keeps ready the agreement pages and API details the load
                                       reads (share I of K; JSON paths on stdin)

The environment (DJANGO_SETTINGS_MODULE=bench.settings, DATABASE_URL, ...) is run.py's.
BENCH_DATA_TODAY is the date the generated data is as of; the sweep runs on the next day, which
is what an hourly or daily sweep meets in steady state.
"""

# ruff: noqa: S311 (seeded sampling of request paths, not secrets)

from __future__ import annotations

import json
import os
import random
import resource
import sys
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from agreements.models import Agreement, Participation  # noqa: E402
from parties.models import Party  # noqa: E402
from ratification.models import RatificationStep, StatusChange  # noqa: E402

SEED = int(os.environ.get("BENCH_SEED", "7"))
SEARCH_TERMS = [
    "reciprocal access",
    "typhoon relief",
    "classified information",
    "cross-servicing",
    "submarine rescue",
    "status of forces",
    "disaster relief cooperation",
    "critical minerals",
    "fuel ammunition",
    "maritime security",
]

# Candidates for the common-word search: words of the generator's titles, summaries and
# provisions. The one whose matches come nearest a third of the agreements is used.
COMMON_WORDS = [
    "defence",
    "security",
    "cooperation",
    "relief",
    "maritime",
    "information",
    "logistics",
    "supplies",
    "consultation",
]
# The agreement page cycles through this many agreements (at most N): more than a run's
# requests at 100,000, so that few are read twice (each page is kept ready beforehand: `keep`).
AGREEMENT_PAGES = 5000


def data_today() -> date:
    return date.fromisoformat(os.environ["BENCH_DATA_TODAY"])


def common_word() -> tuple[str, int]:
    """The candidate word matching nearest a third of the agreements, and its match count."""
    from ratification.selectors import AgreementFilters, agreements_search

    third = Agreement.objects.count() / 3
    counts = {
        word: agreements_search(filters=AgreementFilters.from_query(QueryDict(f"q={word}"))).count()
        for word in COMMON_WORDS
    }
    word = min(COMMON_WORDS, key=lambda w: abs(counts[w] - third))
    return word, counts[word]


def paths() -> dict[str, list[str]]:
    rng = random.Random(SEED)
    slugs = list(Agreement.objects.order_by("pk").values_list("slug", flat=True))
    busiest = list(
        Party.objects.annotate(n=Count("participations"))
        .filter(n__gt=0)
        .order_by("-n", "code")
        .values_list("code", "n")
    )
    top = [code for code, _ in busiest[:25]]
    pairs = set()
    while len(pairs) < 40:
        a, b = rng.sample(top, 2)
        pairs.add(tuple(sorted((a, b))))
    codes = [code for code, _ in busiest]
    today = data_today()
    word, _ = common_word()
    first, second = codes[0], codes[1]
    return {
        "bare": ["/bench/bare/"],
        "list": [f"/api/v1/agreements/?page={p}" for p in range(1, 21)],
        "list_two_parties": [f"/api/v1/agreements/?party={a}&party={b}" for a, b in sorted(pairs)],
        "search": [f"/api/v1/agreements/?q={t.replace(' ', '+')}" for t in SEARCH_TERMS],
        "detail": [f"/api/v1/agreements/{s}/" for s in rng.sample(slugs, min(500, len(slugs)))],
        "party": [f"/api/v1/parties/{c}/" for c in rng.sample(codes, min(60, len(codes)))],
        "party_page": [f"/parties/{c}/" for c in rng.sample(codes, min(60, len(codes)))],
        "feed": [
            f"/api/v1/status-changes/?since={(today - timedelta(days=d)).isoformat()}T00:00:00Z"
            for d in range(1, 366, 7)
        ],
        "page_home": ["/"],
        "page_list": [f"/agreements/?page={p}" for p in range(1, 21)],
        "page_list_two_parties": [
            f"/agreements/?party={first}&party={second}&page={p}" for p in range(1, 11)
        ],
        "page_search": [f"/agreements/?q={word}&page={p}" for p in range(1, 11)],
        "page_agreement": [
            f"/agreements/{s}/" for s in rng.sample(slugs, min(AGREEMENT_PAGES, len(slugs)))
        ],
        "page_party": [f"/parties/{first}/"],
    }


def queries() -> dict[str, dict[str, int]]:
    """Queries per request for a small and a large variant: equal means constant."""
    client = Client(SERVER_NAME="127.0.0.1")
    bilateral = (
        Agreement.objects.filter(kind="bilateral")
        .annotate(n=Count("provisions"))
        .order_by("n")
        .first()
    )
    multilateral = (
        Agreement.objects.filter(kind="multilateral")
        .annotate(n=Count("participations"))
        .order_by("-n", "pk")
        .first()
    )
    parties = list(
        Party.objects.annotate(n=Count("participations")).filter(n__gt=0).order_by("n", "code")
    )
    small_party, big_party = parties[0], parties[-1]
    variants = {
        "list": ("/api/v1/agreements/?page_size=5", "/api/v1/agreements/?page_size=50"),
        "list_two_parties": (
            f"/api/v1/agreements/?party={parties[-1].code}&party={parties[-2].code}&page_size=5",
            f"/api/v1/agreements/?party={parties[-1].code}&party={parties[-2].code}&page_size=50",
        ),
        "search": ("/api/v1/agreements/?q=typhoon&page_size=5", "/api/v1/agreements/?q=typhoon"),
        "detail": (
            f"/api/v1/agreements/{bilateral.slug}/",
            f"/api/v1/agreements/{multilateral.slug}/",
        ),
        "party": (f"/api/v1/parties/{small_party.code}/", f"/api/v1/parties/{big_party.code}/"),
        "party_page": (f"/parties/{small_party.code}/", f"/parties/{big_party.code}/"),
        "feed": ("/api/v1/status-changes/?page_size=5", "/api/v1/status-changes/?page_size=50"),
        "bare": ("/bench/bare/", "/bench/bare/"),
        # Pages: 20 rows each, so "small" is the variant with less data behind it.
        "page_home": ("/", "/"),
        "page_list": (f"/agreements/?party={small_party.code}", "/agreements/"),
        "page_list_two_parties": (
            f"/agreements/?party={small_party.code}&party={big_party.code}",
            f"/agreements/?party={parties[-1].code}&party={parties[-2].code}",
        ),
        "page_search": ("/agreements/?q=typhoon", f"/agreements/?q={common_word()[0]}"),
        "page_agreement": (f"/agreements/{bilateral.slug}/", f"/agreements/{multilateral.slug}/"),
        "page_party": (f"/parties/{small_party.code}/", f"/parties/{big_party.code}/"),
    }
    out = {}
    for name, (small, large) in variants.items():
        counts = []
        for path in (small, large):
            client.get(path)  # warm caches that are allowed to be warm (content types, ...)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path, HTTP_ACCEPT="application/json")
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code}")
            counts.append(len(captured.captured_queries))
        out[name] = {
            "small": counts[0],
            "large": counts[1],
            "small_path": small,
            "large_path": large,
        }
    return out


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def sweep() -> dict[str, object]:
    """Time the next day's sweep, then run it again under tracemalloc; all rolled back, so
    repeatable. First, unmeasured, the sweep of the data's own day: the generator records what
    the sweep would have flagged before, except the constitutional clocks (it has no calendars),
    which a first sweep catches up on once; the hourly sweep's steady state is after that."""
    from ratification.sweep import calendar_sweep

    today = data_today() + timedelta(days=1)
    counter = _Counter()
    with transaction.atomic():
        calendar_sweep(today=data_today())
        with transaction.atomic(), connection.execute_wrapper(counter):
            started = time.perf_counter()
            counts = calendar_sweep(today=today)
            elapsed = time.perf_counter() - started
            transaction.set_rollback(True)
        with transaction.atomic():
            tracemalloc.start()
            calendar_sweep(today=today)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            transaction.set_rollback(True)
        transaction.set_rollback(True)
    return {
        "agreements": Agreement.objects.count(),
        "seconds": round(elapsed, 2),
        "queries": counter.count,
        "peak_python_mib": round(peak / 2**20, 1),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "counts": counts,
    }


def celery(k: int) -> dict[str, object]:
    """Complete K steps behind the services' back, queue K agreement_changed tasks, and wait
    until the worker has recomputed all K agreements."""
    from ratification.tasks import agreement_changed

    today = data_today()
    picked: list[tuple[int, int, int]] = []  # (step id, agreement id, old derived revision)
    seen: set[int] = set()
    candidates = (
        Participation.objects.filter(progress="not_started", agreement__status="signed")
        .values_list("pk", "agreement_id", "agreement__derived_revision")
        .order_by("pk")
    )
    for participation_id, agreement_id, revision in candidates.iterator(chunk_size=2000):
        if agreement_id in seen:
            continue
        step = (
            RatificationStep.objects.filter(participation_id=participation_id, status="pending")
            .exclude(kind__in=["suspension", "termination_notice", "withdrawal"])
            .order_by("order")
            .values_list("pk", flat=True)
            .first()
        )
        if step is None:
            continue
        seen.add(agreement_id)
        picked.append((step, agreement_id, revision))
        if len(picked) == k:
            break
    ids = [a for _, a, _ in picked]
    old = {a: r for _, a, r in picked}
    RatificationStep.objects.filter(pk__in=[s for s, _, _ in picked]).update(
        status="completed", date=today
    )
    before = StatusChange.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    started = time.perf_counter()
    for agreement_id in ids:
        agreement_changed.delay(agreement_id)
    queued = time.perf_counter() - started
    deadline = started + 600
    done = 0
    while time.perf_counter() < deadline:
        revisions = dict(Agreement.objects.filter(pk__in=ids).values_list("pk", "derived_revision"))
        done = sum(1 for pk, rev in revisions.items() if rev > old[pk])
        if done == len(ids):
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    changes = StatusChange.objects.filter(pk__gt=before).count()
    return {
        "tasks": len(ids),
        "done": done,
        "seconds": round(elapsed, 2),
        "queue_seconds": round(queued, 2),
        "tasks_per_second": round(done / elapsed, 1),
        "status_changes": changes,
        "status_changes_per_second": round(changes / elapsed, 1),
    }


def editor(count: int = 200) -> dict[str, object]:
    """An editor (group `editors`) with an API token, and `count` pending steps of different
    agreements for its writes to go to (a note changes nothing but the step's version)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.services import token_create

    user, _ = get_user_model().objects.get_or_create(username="bench-editor")
    user.groups.add(Group.objects.get(name="editors"))
    _, raw = token_create(user=user, name="bench: mixed load")
    rng = random.Random(SEED + 1)
    pending = list(
        RatificationStep.objects.filter(status="pending")
        .order_by("participation__agreement_id", "pk")
        .distinct("participation__agreement_id")
        .values_list("pk", flat=True)
    )
    steps = rng.sample(pending, min(count, len(pending)))
    return {"token": raw, "steps": [f"/api/v1/steps/{pk}/" for pk in steps]}


def keep(part: int, parts: int, paths: dict[str, list[str]]) -> dict[str, object]:
    """Keeps ready, for today, the pages and API details of the agreements the load reads (this
    process's share of them), as a deployment has every agreement's (`manage.py kept_renew
    --all`, then the writes and the nightly renewal keep them): the load then reads what users
    of such a site read. Building all 100,000 would take an hour here. Returns how many were
    built and the time each took: an agreement's first render, which is what keeping costs."""
    from django.http import HttpRequest
    from django.utils import timezone

    from ratification.api.detail import kept_details_build
    from web import kept
    from web.views import agreement_body

    today = timezone.localdate()

    def ids(endpoint: str) -> list[int]:
        slugs = [path.rstrip("/").rsplit("/", 1)[1] for path in paths[endpoint]][part::parts]
        return list(Agreement.objects.filter(slug__in=slugs).values_list("pk", flat=True))

    pages = ids("page_agreement")
    started = time.perf_counter()
    cpu = time.process_time()
    built = kept.pages_build(
        pages, today=today, render=lambda slug: agreement_body(HttpRequest(), slug, today)
    )
    page_seconds, page_cpu = time.perf_counter() - started, time.process_time() - cpu
    from web.models import KeptPage

    held = [
        (until - built).days
        for built, until in KeptPage.objects.filter(agreement_id__in=pages).values_list(
            "built_on", "valid_until"
        )
    ]
    details = ids("detail")
    started = time.perf_counter()
    detail_built = kept_details_build(details, today=today)
    return {
        "pages": built,
        "page_ms": round(page_seconds * 1000 / max(built, 1), 1),
        "page_cpu_ms": round(page_cpu * 1000 / max(built, 1), 1),
        # The share of pages a night renews, estimated from these first builds (each once per
        # its days held): a page built late in its period holds less long than it will once
        # renewed at the period's start, and the forecasts' nightly refresh is not counted.
        "renewed_nightly": [sum(1 / days for days in held), len(held)],
        "details": detail_built,
        "detail_ms": round((time.perf_counter() - started) * 1000 / max(len(details), 1), 1),
    }


def main() -> None:
    command = sys.argv[1]
    if command == "paths":
        result: object = paths()
    elif command == "queries":
        result = queries()
    elif command == "sweep":
        result = sweep()
    elif command == "celery":
        result = celery(int(sys.argv[2]))
    elif command == "common_word":
        result = common_word()
    elif command == "editor":
        result = editor()
    elif command == "keep":
        result = keep(int(sys.argv[2]), int(sys.argv[3]), json.load(sys.stdin))
    else:
        raise SystemExit(f"unknown command {command!r}")
    print("RESULT_JSON " + json.dumps(result, default=str))


if __name__ == "__main__":
    main()
