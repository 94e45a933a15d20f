"""`make bench`: generate data, load-test the HTTP endpoints, time the jobs, write the report.

Steps (each figure is from this one run, on this machine):
1. Data: N agreements (BENCH_AGREEMENTS, default 100,000) generated once into a template
   database keyed by N, seed and the generator's source; every run clones it into a fresh
   `pacttracker_bench` database (and migrates the clone), so runs start from the same rows.
2. HTTP: gunicorn with production settings (DEBUG off, PostgreSQL) and `wrk` in a second process
   on loopback, 16 connections, one endpoint at a time: warm-up, then BENCH_SECONDS of load.
   Throughput is also given as a fraction of a bare Django view's (bench/urls.py).
3. Queries per request: each endpoint's small and large variant, in-process.
4. Jobs: the calendar sweep at N and at N/10 (time, queries, peak memory), and status changes
   per second through a real Celery worker on Redis.
5. The table goes to stdout and bench/results/latest.md.

Environment: BENCH_AGREEMENTS, BENCH_SEED, BENCH_SECONDS (per endpoint, default 15),
BENCH_CONNECTIONS (16), BENCH_WORKERS (gunicorn workers, default 2 × cores), BENCH_CELERY_TASKS
(2000), BENCH_REGENERATE=1 (rebuild the template), BENCH_PG (server URL, default
postgres://postgres@127.0.0.1:5432), BENCH_REDIS (Celery broker, default
redis://127.0.0.1:6379/14), BENCH_CACHE (the web processes' shared cache, CACHE_URL; default
redis://127.0.0.1:6379/13, emptied at the start of each run).
It never touches any database but its own (`pacttracker_bench*`).
"""

# ruff: noqa: S603, S607 (fixed argument lists: our own venv binaries, wrk, git)

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, datetime
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import prerequisites  # noqa: E402

BENCH = ROOT / "bench"
BIN = Path(sys.executable).parent
RESULTS = BENCH / "results"

N = int(os.environ.get("BENCH_AGREEMENTS", "100000"))
SEED = int(os.environ.get("BENCH_SEED", "7"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
CORES = os.cpu_count() or 1
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * CORES)))
CELERY_TASKS = int(os.environ.get("BENCH_CELERY_TASKS", "2000"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")
CACHE = os.environ.get("BENCH_CACHE", "redis://127.0.0.1:6379/13")
PORT = int(os.environ.get("BENCH_PORT", "8765"))
DB = "pacttracker_bench"

# Endpoints measured a second time with API_RESPONSE_CACHE_SECONDS=0: every request a miss.
COLD = ["list", "list_two_parties", "search", "detail"]
ENDPOINTS = [
    # name, what, target p95 (ms) or None
    ("bare", "bare Django view (constant JSON): the ceiling", None),
    ("list", "GET /api/v1/agreements/ (pages 1-20 of 50)", 50),
    ("list_two_parties", "GET /api/v1/agreements/?party=A&party=B", 50),
    ("search", "GET /api/v1/agreements/?q=… (full text)", 100),
    ("detail", "GET /api/v1/agreements/{slug}/", 50),
    ("party", "GET /api/v1/parties/{code}/ (with a summary of its agreements)", None),
    ("party_page", "GET /parties/{code}/ (HTML page)", None),
    ("feed", "GET /api/v1/status-changes/?since=…", None),
]


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


def measure(command: list[str], env: dict[str, str]) -> object:
    out = run([str(BIN / "python"), "bench/measure.py", *command], env)
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


def drop(database: str) -> None:
    with admin_conn() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# Processes --------------------------------------------------------------------------------------


def start(args: list[str], env: dict[str, str], logfile: Path) -> subprocess.Popen:
    handle = logfile.open("w")
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer")


def drain(url: str, seconds: float = 120) -> None:
    """Wait until the server answers the bare view within 100 ms again."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 (loopback)
                pass
            if time.monotonic() - started < 0.1:
                return
        except OSError:
            pass
        time.sleep(0.5)


def wrk(paths: list[str], seconds: int, workdir: Path) -> dict[str, float]:
    file = workdir / "paths.txt"
    file.write_text("\n".join(paths) + "\n")
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH / "wrk_report.lua"),
            f"http://127.0.0.1:{PORT}",
        ],
        env={**os.environ, "WRK_PATHS": str(file)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


def http_bench(
    env: dict[str, str], paths: dict[str, list[str]], names: list[str]
) -> dict[str, dict]:
    workdir = Path(tempfile.mkdtemp(prefix="pt-bench-"))
    gunicorn = start(
        [
            str(BIN / "gunicorn"),
            "pacttracker.wsgi:application",
            f"--bind=127.0.0.1:{PORT}",
            f"--workers={WORKERS}",
            "--worker-class=sync",
            "--backlog=256",
            "--log-level=warning",
            "--timeout=60",
        ],
        env,
        ROOT / "var" / "bench-gunicorn.log",
    )
    results = {}
    try:
        wait_http(f"http://127.0.0.1:{PORT}/bench/bare/")
        for name in names:
            wrk(paths[name], WARMUP, workdir)  # warm-up: connections, caches, PostgreSQL buffers
            results[name] = wrk(paths[name], SECONDS, workdir)
            r = results[name]
            # Requests wrk gave up on may still occupy workers: let them finish first.
            drain(f"http://127.0.0.1:{PORT}/bench/bare/")
            log(
                f"{name:<17} {r['rps']:8.1f} rps  p50 {r['p50_us'] / 1000:7.1f} ms  "
                f"p95 {r['p95_us'] / 1000:7.1f} ms  p99 {r['p99_us'] / 1000:7.1f} ms  "
                f"non-2xx {r['non_2xx']}  timeouts/errors {r['socket_errors']}"
            )
    finally:
        stop(gunicorn)
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def celery_bench(env: dict[str, str]) -> dict:
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
            "bench",
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
        return measure(["celery", str(CELERY_TASKS)], env)
    finally:
        stop(worker)


# Report -----------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
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
    with admin_conn() as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "cores": str(CORES),
        "ram": ram,
        "postgresql": pg,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
        "commit": commit or "unknown",
    }


def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def report(info, http, cold, queries, sweeps, celery, data_today, total_seconds) -> str:
    bare_rps = http["bare"]["rps"]
    lines = [
        f"# Benchmark results: {N:,} agreements",
        "",
        f"Run on {info['date']} · {info['cpu']}, {info['cores']} cores, {info['ram']} RAM · "
        f"PostgreSQL {info['postgresql']} · Python {info['python']} · {info['os']} · "
        f"commit {info['commit']}",
        "",
        f"gunicorn: {WORKERS} sync workers, DEBUG off, cache in Redis (CACHE_URL); load: wrk, {CONNECTIONS} connections, "
        f"{SECONDS} s per endpoint after a {WARMUP} s warm-up, on the same machine (loopback). "
        f"Data as of {data_today} (seed {SEED}).",
        "",
        "Load average before / after the HTTP passes: "
        + " / ".join(", ".join(f"{x:.1f}" for x in load) for load in LOAD)
        + f" (on {CORES} cores; anything above what this run adds is other work on the machine).",
        "",
        "## HTTP",
        "",
        "| endpoint | rps | p50 ms | p95 ms | p99 ms | × bare | queries (small / large) | "
        "target | holds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    checks = []
    for name, what, target in ENDPOINTS:
        r = http[name]
        q = queries[name]
        share = r["rps"] / bare_rps
        goals = []
        ok = True
        if target:
            goals.append(f"p95 < {target} ms")
            ok = ok and r["p95_us"] / 1000 < target
        if name == "list":
            goals.append("≥ 0.25 × bare")
            ok = ok and share >= 0.25
        constant = q["small"] == q["large"]
        goals.append("constant queries")
        ok = ok and constant and r["non_2xx"] == 0 and r["socket_errors"] == 0
        checks.append((name, ok))
        lines.append(
            f"| {name}: {what} | {r['rps']:.0f} | {ms(r['p50_us'])} | {ms(r['p95_us'])} | "
            f"{ms(r['p99_us'])} | {share:.2f} | {q['small']} / {q['large']}"
            f"{'' if constant else ' (differs)'} | {'; '.join(goals)} | {'yes' if ok else 'NO'} |"
        )
    lines += [
        "",
        "With the response cache (the default, apikit.response_cache) a repeated request "
        "costs one query (the data generation) and a cache read; the load above repeats a "
        "fixed set of addresses, so after the warm-up most requests are hits. The same "
        "endpoints with the cache off (API_RESPONSE_CACHE_SECONDS=0), every request a miss:",
        "",
        "| endpoint (cache off) | rps | p50 ms | p95 ms | p99 ms | × bare (same pass) | target | "
        "holds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    cold_bare = cold["bare"]["rps"]
    for name, _what, target in ENDPOINTS:
        if name not in cold:
            continue
        r = cold[name]
        share = r["rps"] / cold_bare
        goal = f"p95 < {target} ms" if target else ""
        ok = (not target or r["p95_us"] / 1000 < target) and (name != "list" or share >= 0.25)
        if name == "list":
            goal += "; ≥ 0.25 × bare"
        lines.append(
            f"| {name} | {r['rps']:.0f} | {ms(r['p50_us'])} | {ms(r['p95_us'])} | "
            f"{ms(r['p99_us'])} | {share:.2f} | {goal} | {'yes' if ok else 'NO'} |"
        )
    errors = {
        n: f"{r['non_2xx']} non-2xx, {r['socket_errors']} timeouts (> 10 s) or socket errors"
        for n, r in http.items()
        if r["non_2xx"] or r["socket_errors"]
    }
    if errors:
        lines += ["", f"Errors: {errors}"]
    lines += [
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
        ok = s["seconds"] < 30 and flat
        lines.append(
            f"| calendar sweep (next day, steady state) | {s['agreements']:,} | {s['seconds']} s | "
            f"{s['queries']:,} | {s['peak_python_mib']} MiB | {s['counts']} | < 30 s, memory "
            f"flat in N | {'yes' if ok else 'NO'} |"
        )
    checks.append(("sweep", big["seconds"] < 30 and flat))
    lines.append(
        f"| status changes via Celery ({CORES} prefork processes, Redis) | {celery['tasks']:,} "
        f"tasks | {celery['seconds']} s | | | {celery['tasks_per_second']} tasks/s, "
        f"{celery['status_changes_per_second']} status changes/s ({celery['status_changes']:,} "
        f"changes) | | |"
    )
    lines += [
        "",
        "Queries: small and large variants of each request (page size 5 / 50, a bilateral "
        "agreement / the one with most parties, the party with fewest / most agreements); "
        "equal means the count does not grow with the data.",
        "",
        f"Whole run: {total_seconds / 60:.1f} min"
        + (
            f" (including generating the data: {', '.join(f'{n:,} in {s} s' for n, s in GENERATED.items())})"
            if GENERATED
            else " (data reused from the template database)"
        )
        + ".",
        "",
    ]
    failing = [name for name, ok in checks if not ok]
    lines.append("Targets: all hold." if not failing else f"Targets missed: {', '.join(failing)}.")
    return "\n".join(lines) + "\n"


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
    body = text.replace("# Benchmark results", "### Benchmark results", 1).replace(
        "\n## ", "\n#### "
    )
    readme.write_text(f"{head}{README_START}\n{body}{README_END}{tail}")


def main() -> None:
    prerequisites.check(postgresql=PG, broker=REDIS, cache=CACHE)
    started = time.monotonic()
    (ROOT / "var").mkdir(exist_ok=True)
    info = machine()
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
    try:
        run([str(BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"], env)
        paths = measure(["paths"], env)
        log("queries per request (response cache off: what a miss costs)")
        queries = measure(["queries"], {**env, "API_RESPONSE_CACHE_SECONDS": "0"})
        log(f"HTTP: {len(ENDPOINTS)} endpoints × {SECONDS} s")
        LOAD.append(os.getloadavg())
        http = http_bench(env, paths, [name for name, _, _ in ENDPOINTS])
        log(f"HTTP without the response cache: {', '.join(COLD)}")
        cold = http_bench({**env, "API_RESPONSE_CACHE_SECONDS": "0"}, paths, ["bare", *COLD])
        LOAD.append(os.getloadavg())
        log("calendar sweep")
        sweep_big = measure(["sweep"], env)
        log(f"  {sweep_big}")
        clone(small_n, f"{DB}_small")
        small_env = {**env_for(f"{DB}_small"), "BENCH_DATA_TODAY": small_today.isoformat()}
        sweep_small = measure(["sweep"], small_env)
        drop(f"{DB}_small")
        log(f"  {sweep_small}")
        log(f"Celery: {CELERY_TASKS} status changes")
        celery = celery_bench(env)
        log(f"  {celery}")
    finally:
        drop(DB)
    text = report(
        info,
        http,
        cold,
        queries,
        (sweep_big, sweep_small),
        celery,
        data_today,
        time.monotonic() - started,
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
