"""`make bench`: generate data, load-test the pages and the API, time writes and jobs, report.

Steps (each figure is from this one run, on this machine):
0. Prerequisites (bench/prerequisites.py): wrk, PostgreSQL as a superuser, Redis; wrk is
   installed with apt-get when we run as root, otherwise the run stops with the command to run.
1. Data: N agreements (BENCH_AGREEMENTS, default 100,000) generated once into a template
   database keyed by N, seed and the generator's source; every run clones it into a fresh
   `pacttracker_bench` database (and migrates the clone), so runs start from the same rows.
2. Queries per request: each endpoint's and page's small and large variant, in-process.
3. Reads (bench/load.py): gunicorn with production settings (DEBUG off, PostgreSQL) and, for
   each API endpoint and analyst page, first single requests one after another with no load,
   then `wrk` in a second process on loopback (16 connections, one endpoint at a time: warm-up,
   then BENCH_SECONDS of load), with the bare Django view (bench/urls.py) in the same pass. All
   of it twice: with the response cache, and without (API_RESPONSE_CACHE_SECONDS=0).
4. Jobs: the calendar sweep at N and at N/10 (time, queries, peak memory).
5. Writes: an editor recording steps through the API with no read load, then the reads of
   every endpoint with a target under wrk while the editor writes 0, 1 and 10 times a second;
   a Celery worker does the writes' fan-out meanwhile.
6. Status changes per second through a real Celery worker on Redis.
7. The table (bench/report.py) goes to stdout and bench/results/latest.md.

Environment: see bench/config.py and bench/README.md. It never touches any database but its own
(`pacttracker_bench*`).
"""

# ruff: noqa: S603 (fixed argument lists: our own venv binaries)

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import prerequisites  # noqa: E402
from bench.config import (  # noqa: E402
    BASE_URL,
    CACHE,
    CELERY_TASKS,
    CORES,
    DB,
    MIXED_SECONDS,
    PG,
    QUEUE,
    REDIS,
    RESULTS,
    SECONDS,
    SEED,
    SINGLE_REQUESTS,
    STEP_RECORD_WRITES,
    WARMUP,
    WORKERS,
    WRITE_RATES,
    N,
)
from bench.load import (  # noqa: E402
    Editor,
    drain,
    interleave,
    single_requests,
    start,
    stop,
    wait_http,
    wrk_load,
)
from bench.report import COLD, ENDPOINTS, MIXED, machine, readme_update, report  # noqa: E402

BIN = Path(sys.executable).parent


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def admin_conn() -> psycopg.Connection:
    return psycopg.connect(f"{PG}/postgres", autocommit=True)


def env_for(database: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-" + hashlib.sha256(b"pact-tracker-bench").hexdigest(),
            "ALLOWED_HOSTS": "127.0.0.1",
            # wrk speaks plain http to gunicorn on loopback: no redirect to https.
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": f"{PG}/{database}",
            "API_THROTTLE_ANON": "100000000/minute",
            "API_THROTTLE_TOKEN": "100000000/minute",
            "API_THROTTLE_USER": "100000000/minute",
            "CELERY_BROKER_URL": REDIS,
            "CACHE_URL": CACHE,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def run(args: list[str], env: dict[str, str], **kwargs) -> str:
    result = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, check=False, **kwargs
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"failed: {' '.join(args)}")
    return result.stdout


def measure(command: list[str], env: dict[str, str], **kwargs) -> object:
    out = run([str(BIN / "python"), "bench/measure.py", *command], env, **kwargs)
    line = next(line for line in out.splitlines() if line.startswith("RESULT_JSON "))
    return json.loads(line.removeprefix("RESULT_JSON "))


# Databases --------------------------------------------------------------------------------------


def template_key(n: int) -> str:
    """What the template's rows depend on: N, the seed, the generator, the migrations.

    A template migrated by a migration that has since changed or gone could not be migrated on;
    regenerating costs a few minutes, so any change to a migration file regenerates it.
    """
    digest = hashlib.sha256()
    files = [ROOT / "bench/management/commands/generate_agreements.py"]
    files += sorted(ROOT.glob("*/migrations/0*.py"))
    files += sorted(ROOT.glob("parties/data/*.json"))  # the calendars and clock rules
    for file in files:
        digest.update(file.name.encode() + file.read_bytes())
    return f"n={n} seed={SEED} sources={digest.hexdigest()[:12]}"


def ensure_template(n: int) -> date:
    """The template database for N agreements, generated unless a matching one exists."""
    name = f"{DB}_tpl_{n}_{SEED}"
    key = template_key(n)
    with admin_conn() as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
        if row and row[0] and os.environ.get("BENCH_REGENERATE") != "1":
            meta = json.loads(row[0])
            if meta.get("key") == key:
                log(f"reusing {name} (data as of {meta['today']})")
                return date.fromisoformat(meta["today"])
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = env_for(name)
    log(f"generating {n:,} agreements into {name}")
    started = time.monotonic()
    run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"], env)
    today = date.today()
    out = run(
        [
            str(BIN / "python"),
            "manage.py",
            "generate_agreements",
            f"--agreements={n}",
            f"--seed={SEED}",
            f"--today={today.isoformat()}",
        ],
        env,
    )
    print(out.strip(), flush=True)
    # The shipped calendars and clock rules, as load_demo puts them in: the sweep and the party
    # pages count the UK's, Australia's and Japan's clocks on the generated agreements.
    print(run([str(BIN / "python"), "manage.py", "load_calendars"], env).strip(), flush=True)
    seconds = round(time.monotonic() - started, 1)
    meta = {"key": key, "today": today.isoformat(), "generate_seconds": seconds}
    with admin_conn() as conn:
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{json.dumps(meta)}'")
    GENERATED[n] = seconds
    return today


GENERATED: dict[int, float] = {}
# Load averages (1, 5, 15 min) before and after the HTTP passes: other work on the machine.
LOAD: list[tuple[float, float, float]] = []


def clone(n: int, database: str) -> None:
    template = f"{DB}_tpl_{n}_{SEED}"
    with admin_conn() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        # As docker-compose.yml configures production's PostgreSQL (SSD storage).
        conn.execute(f'ALTER DATABASE "{database}" SET random_page_cost = 1.1')
    # Migrations newer than the template (e.g. indexes) apply to the clone.
    run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"], env_for(database))
    # A data migration rewrites rows (agreements 0019 fills every agreement's kept list row):
    # the dead versions and the GIN indexes' pending entries would slow every read until
    # autovacuum came by, as it does after such a migration in production. Vacuumed now, the
    # clone reads as a database some time after its upgrade.
    with psycopg.connect(f"{PG}/{database}", autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def drop(database: str) -> None:
    with admin_conn() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# Processes --------------------------------------------------------------------------------------


@contextmanager
def serving(env: dict[str, str]) -> Iterator[None]:
    """gunicorn with `env`, answering on BASE_URL until the block ends."""
    gunicorn = start(
        [
            str(BIN / "gunicorn"),
            "pacttracker.wsgi:application",
            f"--bind={BASE_URL.removeprefix('http://')}",
            f"--workers={WORKERS}",
            "--worker-class=sync",
            "--backlog=256",
            "--log-level=warning",
            "--timeout=60",
        ],
        env,
        ROOT / "var" / "bench-gunicorn.log",
    )
    try:
        wait_http(f"{BASE_URL}/bench/bare/")
        yield
    finally:
        stop(gunicorn)


@contextmanager
def celery_worker(env: dict[str, str]) -> Iterator[None]:
    """A Celery worker (prefork, one process per core) on the benchmark's queue."""
    worker = start(
        [
            str(BIN / "celery"),
            "-A",
            "pacttracker",
            "worker",
            f"--concurrency={CORES}",
            "--pool=prefork",
            "--loglevel=WARNING",
            "-Q",
            QUEUE,
            "-n",
            f"bench-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        env,
        ROOT / "var" / "bench-celery.log",
    )
    try:
        time.sleep(4)  # the worker connects to Redis and forks its pool
        yield
    finally:
        stop(worker)


def load(name: str, paths: list[str], workdir: Path, seconds: int = SECONDS) -> dict:
    wrk_load(paths, WARMUP, workdir)  # warm-up: connections, caches, PostgreSQL buffers
    r = wrk_load(paths, seconds, workdir)
    if not r["requests"]:
        log(f"{name}: no request completed in {seconds} s (the report counts it as a miss)")
    # Requests wrk gave up on may still occupy workers: let them finish first.
    drain(f"{BASE_URL}/bench/bare/")
    log(
        f"{name:<22} {r['rps']:8.1f} rps  p50 {r['p50_us'] / 1000:7.1f} ms  "
        f"p95 {r['p95_us'] / 1000:7.1f} ms  p99 {r['p99_us'] / 1000:7.1f} ms  "
        f"non-2xx {r['non_2xx']}  timeouts/errors {r['socket_errors']}"
    )
    return r


def http_bench(env: dict[str, str], paths: dict[str, list[str]], names: list[str]) -> dict:
    """Single requests with no load, then wrk, for each endpoint in `names` (bare first)."""
    workdir = Path(tempfile.mkdtemp(prefix="pt-bench-"))
    try:
        with serving(env):
            # Before any load, so that each address's first request is a first request.
            single = {name: single_requests(paths[name], SINGLE_REQUESTS) for name in names}
            for name, r in single.items():
                log(
                    f"{name:<22} single: median {r['median_us'] / 1000:7.1f} ms  "
                    f"slowest {r['max_us'] / 1000:7.1f} ms  errors {r['errors']}"
                )
            loads = {name: load(name, paths[name], workdir) for name in names}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"single": single, "load": loads}


def write_bench(env: dict[str, str], paths: dict[str, list[str]]) -> dict:
    """The editor alone, then the mixed reads under 0, 1 and 10 writes a second."""
    editor = measure(["editor"], env)
    mixed_paths = interleave([paths[name] for name in MIXED], rounds=500)
    workdir = Path(tempfile.mkdtemp(prefix="pt-bench-"))
    broker = redis.Redis.from_url(REDIS)
    try:
        with celery_worker(env), serving(env):
            writer = Editor(
                token=editor["token"],
                steps=editor["steps"],
                rate=10,
                limit=STEP_RECORD_WRITES,
                in_flight=1,
            )
            writer.start()
            alone = writer.finish()
            log(f"step record, no read load: {summary(alone)}")
            bare = load("bare", paths["bare"], workdir)
            # The read-only pass comes first: warmed up as long as it runs, so that it is not
            # the one that renders each process's party pages for the first time.
            wrk_load(mixed_paths, MIXED_SECONDS, workdir)
            mixed = {}
            for rate in WRITE_RATES:
                writer = Editor(token=editor["token"], steps=editor["steps"], rate=rate or 1)
                if rate:
                    writer.start()
                read = load(f"mixed, {rate} writes/s", mixed_paths, workdir, MIXED_SECONDS)
                write = writer.stop() if rate else None
                if write:
                    log(f"  writes: {summary(write)}")
                mixed[rate] = {"read": read, "write": write}
            # The fan-out of the last writes, before the worker stops (it would come back to
            # the queue and into the Celery measurement otherwise).
            deadline = time.monotonic() + 120
            while broker.llen(QUEUE) and time.monotonic() < deadline:
                time.sleep(0.5)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"alone": alone, "bare": bare, "mixed": mixed}


def keep_ready(env: dict[str, str], paths: dict[str, list[str]]) -> dict:
    """The pages and API details the load reads, kept ready as a deployment keeps every
    agreement's (bench/measure.py keep), one process per core."""
    log("keeping ready the agreement pages and API details the load reads")
    started = time.monotonic()
    with ThreadPoolExecutor(CORES) as pool:
        parts = list(
            pool.map(
                lambda part: measure(["keep", str(part), str(CORES)], env, input=json.dumps(paths)),
                range(CORES),
            )
        )
    kept = {
        "pages": sum(p["pages"] for p in parts),
        "details": sum(p["details"] for p in parts),
        "page_ms": round(sum(p["page_ms"] for p in parts) / len(parts), 1),
        "page_cpu_ms": round(sum(p["page_cpu_ms"] for p in parts) / len(parts), 1),
        "detail_ms": round(sum(p["detail_ms"] for p in parts) / len(parts), 1),
        "seconds": round(time.monotonic() - started, 1),
        "renewed_nightly": round(
            sum(p["renewed_nightly"][0] for p in parts)
            / max(sum(p["renewed_nightly"][1] for p in parts), 1),
            2,
        ),
    }
    log(f"  {kept}")
    return kept


def summary(w: dict) -> str:
    return (
        f"{w['writes']} writes ({w['achieved_per_second']}/s)  p50 {w['p50_us'] / 1000:.1f} ms  "
        f"p95 {w['p95_us'] / 1000:.1f} ms  p99 {w['p99_us'] / 1000:.1f} ms  "
        f"412 retried {w['conflicts']}  errors {w['errors']}  slots skipped {w['skipped']} "
        f"{w['error_samples'][:2]}"
    )


def celery_bench(env: dict[str, str]) -> dict:
    with celery_worker(env):
        return measure(["celery", str(CELERY_TASKS)], env)


def main() -> None:
    prerequisites.check(postgresql=PG, broker=REDIS, cache=CACHE)
    started = time.monotonic()
    (ROOT / "var").mkdir(exist_ok=True)
    with admin_conn() as conn:
        info = machine(conn.execute("SHOW server_version").fetchone()[0])
    # The clone starts at data generation 1 every run: responses cached by an earlier run
    # (perhaps of other data) must go. This Redis database is the benchmark's own.
    redis.Redis.from_url(CACHE).flushdb()
    data_today = ensure_template(N)
    small_n = max(1000, N // 10)
    small_today = ensure_template(small_n)
    log(f"cloning the template into {DB}")
    clone(N, DB)
    env = env_for(DB)
    env["BENCH_DATA_TODAY"] = data_today.isoformat()
    env["BENCH_SEED"] = str(SEED)
    cold_env = {**env, "API_RESPONSE_CACHE_SECONDS": "0"}
    try:
        run([str(BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"], env)
        paths = measure(["paths"], env)
        kept = keep_ready(env, paths)
        search_word = measure(["common_word"], env)
        log(f"common-word search: q={search_word[0]} ({search_word[1]:,} matches)")
        log("queries per request (response cache off: what a miss costs)")
        queries = measure(["queries"], cold_env)
        names = [e.name for e in ENDPOINTS]
        log(f"HTTP: {len(names)} endpoints × {SECONDS} s")
        LOAD.append(os.getloadavg())
        hot = http_bench(env, paths, names)
        log(f"HTTP without the response cache: {', '.join(COLD)}")
        cold = http_bench(cold_env, paths, ["bare", *COLD])
        LOAD.append(os.getloadavg())
        log("calendar sweep")
        sweep_big = measure(["sweep"], env)
        log(f"  {sweep_big}")
        clone(small_n, f"{DB}_small")
        small_env = {**env_for(f"{DB}_small"), "BENCH_DATA_TODAY": small_today.isoformat()}
        sweep_small = measure(["sweep"], small_env)
        drop(f"{DB}_small")
        log(f"  {sweep_small}")
        log(f"writes: alone, then under reads at {', '.join(map(str, WRITE_RATES))} writes/s")
        writes = write_bench(env, paths)
        log(f"Celery: {CELERY_TASKS} status changes")
        celery = celery_bench(env)
        log(f"  {celery}")
    finally:
        drop(DB)
    text = report(
        info=info,
        load_average=LOAD,
        hot=hot,
        cold=cold,
        queries=queries,
        search_word=tuple(search_word),
        writes=writes,
        sweeps=(sweep_big, sweep_small),
        celery=celery,
        kept=kept,
        data_today=data_today,
        generated=GENERATED,
        total_seconds=time.monotonic() - started,
    )
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / ("latest.md" if N == 100_000 else f"latest-{N}.md")
    target.write_text(text)
    if N == 100_000:
        readme_update(text)
    print()
    print(text)
    log(f"written to {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
