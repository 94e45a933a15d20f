"""The benchmark's settings, from the environment (bench/README.md lists them), read once."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"

N = int(os.environ.get("BENCH_AGREEMENTS", "100000"))
SEED = int(os.environ.get("BENCH_SEED", "7"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "5"))
# Under writes the load runs at least 10 s, so that one write a second is at least ten writes.
MIXED_SECONDS = max(SECONDS, 10)
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
CORES = os.cpu_count() or 1
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * CORES)))
CELERY_TASKS = int(os.environ.get("BENCH_CELERY_TASKS", "2000"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")
CACHE = os.environ.get("BENCH_CACHE", "redis://127.0.0.1:6379/13")
PORT = int(os.environ.get("BENCH_PORT", "8765"))
BASE_URL = f"http://127.0.0.1:{PORT}"
DB = "pacttracker_bench"
# The Celery queue of the benchmark's worker (bench.settings.CELERY_TASK_DEFAULT_QUEUE).
QUEUE = "bench"
# Single requests with no load: this many, one after another, per endpoint.
SINGLE_REQUESTS = 20
# The step record cost: this many writes, one at a time, at most 10 a second, no read load.
STEP_RECORD_WRITES = 50
# Write rates (per second) the mixed load is measured at; 0 is its read-only baseline.
WRITE_RATES = (0, 1, 10)
