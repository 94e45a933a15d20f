"""The benchmark's report: what is measured, against which target, and the table it writes.

Every row says its target, whether it holds, and by how much it misses: a p95 as a multiple of
its target and the milliseconds over it; a throughput as a fraction of the bare view's against
the fraction wanted.
"""

# ruff: noqa: S607 (git from the PATH)

from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.config import (
    BENCH,
    CONNECTIONS,
    CORES,
    MIXED_SECONDS,
    ROOT,
    SECONDS,
    SEED,
    SINGLE_REQUESTS,
    STEP_RECORD_WRITES,
    WARMUP,
    WORKERS,
    N,
)
from bench.load import MAX_IN_FLIGHT


@dataclass(frozen=True)
class Endpoint:
    name: str
    what: str
    p95_ms: float | None = None  # target: p95 below this
    share: float | None = None  # target: at least this fraction of the bare view's rps


API_SHARE = 0.1
ENDPOINTS = [
    Endpoint("bare", "bare Django view (constant JSON): the ceiling"),
    Endpoint("list", "GET /api/v1/agreements/ (pages 1-20 of 50)", 50, API_SHARE),
    Endpoint("list_two_parties", "GET /api/v1/agreements/?party=A&party=B", 50, API_SHARE),
    Endpoint("search", "GET /api/v1/agreements/?q=… (full text)", 100, API_SHARE),
    Endpoint("detail", "GET /api/v1/agreements/{slug}/", 50, API_SHARE),
    Endpoint("party", "GET /api/v1/parties/{code}/ (with a summary of its agreements)"),
    Endpoint("party_page", "page /parties/{code}/ (60 parties)", 100),
    Endpoint("feed", "GET /api/v1/status-changes/?since=…"),
    Endpoint("page_home", "page / (home)", 100),
    Endpoint("page_list", "page /agreements/ (pages 1-20)", 100),
    Endpoint("page_list_two_parties", "page /agreements/?party=A&party=B (busiest two)", 100),
    Endpoint("page_search", "page /agreements/?q=WORD (a third of the data)", 150),
    Endpoint("page_agreement", "page /agreements/{slug}/ (up to 5,000 agreements)", 100),
    Endpoint("page_party", "page /parties/{CODE}/ (the busiest party)", 100),
]
BY_NAME = {e.name: e for e in ENDPOINTS}
PAGES = [e.name for e in ENDPOINTS if e.name.startswith("page_")]
# Measured a second time with API_RESPONSE_CACHE_SECONDS=0: every request a miss.
COLD = ["list", "list_two_parties", "search", "detail", *PAGES]
# The reads of the mixed load: every endpoint with a target, in equal shares.
MIXED = [e.name for e in ENDPOINTS if e.p95_ms]
# Read p95 under writes, as a multiple of the same reads' p95 with no writes.
MIXED_FACTOR = {1: 1.5, 10: 2.0}
STEP_RECORD_P95_MS = 200
SWEEP_SECONDS = 30


def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


class Check:
    """A row's targets: collects what is wanted, whether it holds, and by how much it misses."""

    def __init__(self) -> None:
        self.goals: list[str] = []
        self.misses: list[str] = []

    def p95(self, p95_us: float, target_ms: float | None) -> Check:
        if target_ms:
            self.goals.append(f"p95 < {target_ms:g} ms")
            p95_ms = p95_us / 1000
            if p95_ms >= target_ms:
                self.misses.append(
                    f"p95 {p95_ms / target_ms:.1f}× target (+{p95_ms - target_ms:.0f} ms)"
                )
        return self

    def share(self, share: float, wanted: float | None) -> Check:
        if wanted:
            self.goals.append(f"≥ {wanted:g} × bare")
            if share < wanted:
                self.misses.append(f"{share:.2f} × bare ({wanted / max(share, 1e-9):.1f}× short)")
        return self

    def ratio(self, value: float, limit: float, what: str) -> Check:
        self.goals.append(f"{what} ≤ {limit:g} ×")
        if value > limit:
            self.misses.append(f"{what} {value:.2f} × (limit {limit:g} ×)")
        return self

    def not_growing(self, small: int, large: int) -> Check:
        """The variant with more data behind it makes no more queries than the one with less.
        A page's small variant may make a few more: a small filtered result has its facets
        counted in the page, where a large one's are deferred (ratification.selectors)."""
        self.goals.append("queries do not grow")
        if large > small:
            self.misses.append(f"queries grow {small} → {large}")
        return self

    def completed(self, count: int, what: str) -> Check:
        """Nothing completed means no latency was measured at all: never a pass."""
        if not count:
            self.misses.append(f"no {what} completed")
        return self

    def no_errors(self, count: int, what: str) -> Check:
        if count:
            self.misses.append(f"{count} {what}")
        return self

    @property
    def ok(self) -> bool:
        return not self.misses

    def cells(self) -> str:
        goal = "; ".join(self.goals) or "none"
        if not self.goals and not self.misses:
            return f"{goal} | | "
        return f"{goal} | {'yes' if self.ok else 'NO'} | {'; '.join(self.misses)}"


def machine(server_version: str) -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        ram = f"{kib / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "cores": str(CORES),
        "ram": ram,
        "postgresql": server_version,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
        "commit": commit or "unknown",
    }


def _errors(r: dict) -> int:
    return r["non_2xx"] + r["socket_errors"]


def _http_rows(loads: dict, queries: dict | None, checks: list, suffix: str) -> list[str]:
    bare_rps = loads["bare"]["rps"]
    rows = []
    for endpoint in ENDPOINTS:
        if endpoint.name not in loads:
            continue
        r = loads[endpoint.name]
        share = r["rps"] / bare_rps
        check = Check().completed(r["requests"], "request").p95(r["p95_us"], endpoint.p95_ms)
        if endpoint.name != "bare":
            check.share(share, endpoint.share)
        q = ""
        if queries is not None:
            small, large = queries[endpoint.name]["small"], queries[endpoint.name]["large"]
            check.not_growing(small, large)
            q = f" {small} / {large} |"
        check.no_errors(_errors(r), "non-2xx or socket errors")
        checks.append((endpoint.name + suffix, check.ok))
        label = f"{endpoint.name}: {endpoint.what}" if queries is not None else endpoint.name
        rows.append(
            f"| {label} | {r['rps']:.0f} | {ms(r['p50_us'])} | {ms(r['p95_us'])} | "
            f"{ms(r['p99_us'])} | {share:.2f} |{q} {check.cells()} |"
        )
    return rows


def report(
    *,
    info: dict,
    load_average: list,
    hot: dict,
    cold: dict,
    queries: dict,
    search_word: tuple[str, int],
    writes: dict,
    sweeps: tuple[dict, dict],
    celery: dict,
    kept: dict,
    data_today,
    generated: dict,
    total_seconds: float,
) -> str:
    checks: list[tuple[str, bool]] = []
    word, matches = search_word
    lines = [
        f"# Benchmark results: {N:,} agreements",
        "",
        f"Run on {info['date']} · {info['cpu']}, {info['cores']} cores, {info['ram']} RAM · "
        f"PostgreSQL {info['postgresql']} · Python {info['python']} · {info['os']} · "
        f"commit {info['commit']}",
        "",
        f"gunicorn: {WORKERS} sync workers, DEBUG off, cache in Redis (CACHE_URL); load: wrk, "
        f"{CONNECTIONS} connections, {SECONDS} s per endpoint after a {WARMUP} s warm-up, on the "
        f"same machine (loopback). Data as of {data_today} (seed {SEED}). The common-word "
        f"search is `q={word}`: {matches:,} matches ({matches / N:.0%}).",
        "",
        "Load average before / after the HTTP passes: "
        + " / ".join(", ".join(f"{x:.1f}" for x in load) for load in load_average)
        + f" (on {CORES} cores; anything above what this run adds is other work on the machine).",
        "",
        f"Kept ready before the load, as a deployment keeps every agreement's (`manage.py "
        f"kept_renew --all`, then each write and the nightly renewal): the pages of the "
        f"{kept['pages']:,} agreements the agreement page reads and the API details of the "
        f"{kept['details']:,} the detail reads, in {kept['seconds']} s on {CORES} processes. "
        f"Keeping one costs its first render: {kept['page_ms']} ms a page ({kept['page_cpu_ms']} "
        f"ms of CPU), {kept['detail_ms']} ms a detail, in process. A page holds until the first "
        f"day it may read differently (the next, while it shows a running clock): the nightly "
        f"renewal would render about {kept['renewed_nightly']:.0%} of them each night (estimated from "
        "these first builds).",
        "",
        "## HTTP",
        "",
        "| endpoint | rps | p50 ms | p95 ms | p99 ms | × bare | queries (small / large) | "
        "target | holds | misses by |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- |",
        *_http_rows(hot["load"], queries, checks, ""),
        "",
        "With the response cache (the default, apikit.response_cache) a repeated request "
        "costs one query (its generation or stamps; a list's, with its rows' stamps) and a "
        "cache read; the load above repeats a "
        "fixed set of addresses, so after the warm-up most requests are hits (the agreement "
        "page has no response cache: it is served from its kept page either way). The same "
        "endpoints with the cache off (API_RESPONSE_CACHE_SECONDS=0), every "
        "request a miss:",
        "",
        "| endpoint (cache off) | rps | p50 ms | p95 ms | p99 ms | × bare (same pass) | target | "
        "holds | misses by |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
        *_http_rows(cold["load"], None, checks, " (cache off)"),
        "",
        f"### Single requests, no load ({SINGLE_REQUESTS} one after another, as a newcomer "
        "clicking through would feel them)",
        "",
        "Each endpoint's first addresses in turn, on a server that has served nothing else yet "
        "(so, with the cache on, each address's first request is a miss), milliseconds. No "
        "target of their own; the slowest includes a worker's first render of a template.",
        "",
        "| endpoint | addresses | cache on: median | slowest | cache off: median | slowest | "
        "errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for endpoint in ENDPOINTS:
        on, off = hot["single"].get(endpoint.name), cold["single"].get(endpoint.name)
        if on is None:
            continue
        off_cells = f"{ms(off['median_us'])} | {ms(off['max_us'])}" if off else " | "
        errors = on["errors"] + (off["errors"] if off else 0)
        lines.append(
            f"| {endpoint.name} | {on['distinct']} | {ms(on['median_us'])} | "
            f"{ms(on['max_us'])} | {off_cells} | {errors} |"
        )
    lines += _writes(writes, checks)
    lines += _jobs(sweeps, celery, checks)
    lines += [
        "",
        "Queries: small and large variants of each request (page size 5 / 50, a bilateral "
        "agreement / the one with most parties, the party with fewest / most agreements; for "
        "the pages, which show 20 rows, less and more data behind them); the count must not "
        "grow with the data. A page's small variant may make more queries than its large one: "
        "a small filtered result has its facets counted in the page, a large one's wait for a "
        "click.",
        "",
        f"Whole run: {total_seconds / 60:.1f} min"
        + (
            " (including generating the data: "
            + ", ".join(f"{n:,} in {s} s" for n, s in generated.items())
            + ")"
            if generated
            else " (data reused from the template database)"
        )
        + ".",
        "",
    ]
    failing = [name for name, ok in checks if not ok]
    lines.append("Targets: all hold." if not failing else f"Targets missed: {', '.join(failing)}.")
    return "\n".join(lines) + "\n"


def _writes(writes: dict, checks: list) -> list[str]:
    alone = writes["alone"]
    check = (
        Check()
        .completed(alone["writes"], "write")
        .p95(alone["p95_us"], STEP_RECORD_P95_MS)
        .no_errors(alone["errors"], "failed writes")
    )
    checks.append(("step record", check.ok))
    lines = [
        "",
        "## Writes",
        "",
        "An editor's tool records steps through the API (`PATCH /api/v1/steps/{id}/` with a new "
        "note and If-Match, after a GET for the ETag; a 412 is retried with a fresh ETag and "
        "counted as a conflict, not a success). Only the PATCH is timed. A Celery worker runs "
        "throughout, as in production, doing each write's fan-out. Under reads, writes start on "
        f"a fixed schedule, up to {MAX_IN_FLIGHT} at once (several editors), so that a slow "
        "write does not lower the rate; a slot that finds all of them busy is skipped.",
        "",
        "| step record (PATCH), no read load | writes | p50 ms | p95 ms | p99 ms | "
        "412 retried | errors | target | holds | misses by |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
        f"| {STEP_RECORD_WRITES}, one at a time, at most {alone['rate']:g} a second | "
        f"{alone['writes']} | "
        f"{ms(alone['p50_us'])} | {ms(alone['p95_us'])} | {ms(alone['p99_us'])} | "
        f"{alone['conflicts']} | {alone['errors']} | {check.cells()} |",
        "",
        f"Mixed load: the reads of every endpoint with a target, in equal shares ({len(MIXED)} "
        f"endpoints, cache on), under wrk for {MIXED_SECONDS} s after a {WARMUP} s warm-up (the "
        f"read-only pass, which comes first, after {MIXED_SECONDS} s more), while the editor "
        "writes notes. A note moves the data generation but neither the listing generation nor "
        "any party's stamp (ratification 0026, 0027): what is built again is what shows the "
        "written agreement (its API detail and page, its row in a cached list).",
        "",
        "| writes/s (done) | read rps | × bare | read p50 ms | read p95 ms | read p99 ms | "
        "p95 ÷ no writes | writes | write p50 ms | write p95 ms | write p99 ms | 412 retried | "
        "errors | target | holds | misses by |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
        "---: | --- | --- | --- |",
    ]
    bare_rps = writes["bare"]["rps"]
    baseline = writes["mixed"][0]["read"]["p95_us"]
    for rate, result in writes["mixed"].items():
        r, w = result["read"], result["write"]
        factor = r["p95_us"] / baseline
        check = Check().completed(r["requests"], "read")
        if not rate:
            check.goals.append("the baseline")
        if rate in MIXED_FACTOR:
            check.ratio(factor, MIXED_FACTOR[rate], "read p95 ÷ no writes")
        check.no_errors(_errors(r), "read errors")
        if w:
            check.completed(w["writes"], "write").no_errors(w["errors"], "failed writes")
        checks.append((f"mixed {rate} writes/s", check.ok))
        write_cells = (
            f"{w['writes']} | {ms(w['p50_us'])} | {ms(w['p95_us'])} | {ms(w['p99_us'])} | "
            f"{w['conflicts']} | {w['errors']}"
            if w
            else " | | | | | "
        )
        done = ""
        if w:
            skipped = f", {w['skipped']} skipped: {MAX_IN_FLIGHT} under way" if w["skipped"] else ""
            done = f" ({w['achieved_per_second']:g} done{skipped})"
        lines.append(
            f"| {rate}{done} | {r['rps']:.0f} | {r['rps'] / bare_rps:.2f} | {ms(r['p50_us'])} | "
            f"{ms(r['p95_us'])} | {ms(r['p99_us'])} | {factor:.2f} | {write_cells} | "
            f"{check.cells()} |"
        )
    errors = [
        s
        for w in [alone, *(x["write"] for x in writes["mixed"].values() if x["write"])]
        for s in w["error_samples"]
    ]
    if errors:
        lines += ["", "Write errors (first few): " + "; ".join(errors[:5])]
    return lines


def _jobs(sweeps: tuple[dict, dict], celery: dict, checks: list) -> list[str]:
    lines = [
        "",
        "## Jobs",
        "",
        "| job | agreements | time | queries | peak Python memory | result | target | holds |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    big, small = sweeps
    flat = big["peak_python_mib"] <= max(
        2.0 * small["peak_python_mib"], small["peak_python_mib"] + 8
    )
    for s in (small, big):
        ok = s["seconds"] < SWEEP_SECONDS and flat
        lines.append(
            f"| calendar sweep (next day, steady state) | {s['agreements']:,} | {s['seconds']} s | "
            f"{s['queries']:,} | {s['peak_python_mib']} MiB | {s['counts']} | < {SWEEP_SECONDS} s, "
            f"memory flat in N | {'yes' if ok else 'NO'} |"
        )
    checks.append(("sweep", big["seconds"] < SWEEP_SECONDS and flat))
    lines.append(
        f"| status changes via Celery ({CORES} prefork processes, Redis) | {celery['tasks']:,} "
        f"tasks | {celery['seconds']} s | | | {celery['tasks_per_second']} tasks/s, "
        f"{celery['status_changes_per_second']} status changes/s ({celery['status_changes']:,} "
        f"changes) | | |"
    )
    return lines


README_START = "<!-- latest results: written by bench/run.py -->"
README_END = "<!-- end of latest results -->"


def readme_update(text: str) -> None:
    """Put the table into bench/README.md between its two markers."""
    readme = BENCH / "README.md"
    if not readme.exists():
        return
    content = readme.read_text()
    if README_START not in content or README_END not in content:
        return
    head, rest = content.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    body = (
        text.replace("# Benchmark results", "### Benchmark results", 1)
        .replace("\n### ", "\n##### ")
        .replace("\n## ", "\n#### ")
    )
    readme.write_text(f"{head}{README_START}\n{body}{README_END}{tail}")
