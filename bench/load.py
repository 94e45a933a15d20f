"""HTTP load for the benchmark: the server's processes, wrk, single requests and an editor.

- `wrk_load`: wrk in its own process, cycling through a list of addresses (bench/wrk_report.lua).
- `single_requests`: requests one after another with nothing else running, as one newcomer
  clicking through would feel them.
- `Editor`: a thread that records steps through the API at a fixed rate while wrk reads, the
  way an editor's tool would: read the step's ETag, PATCH its note with If-Match, and on a 412
  (someone wrote in between) read the new ETag and try again.
"""

# ruff: noqa: S310, S603, S607 (loopback URLs; fixed argument lists: wrk)

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.config import BASE_URL, BENCH, CONNECTIONS, ROOT

# An editor gives up on a step after this many lost races in a row (and counts an error).
MAX_ATTEMPTS = 5
# Writes under way at once, at most (each another editor, on another step).
MAX_IN_FLIGHT = 8


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
            with urllib.request.urlopen(url, timeout=2) as response:
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
            with urllib.request.urlopen(url, timeout=5):
                pass
            if time.monotonic() - started < 0.1:
                return
        except OSError:
            pass
        time.sleep(0.5)


# Reads ------------------------------------------------------------------------------------------


def accept_for(path: str) -> str:
    """What a client of that address asks for: JSON from the API, HTML from the pages."""
    return "application/json" if path.startswith("/api/") else "text/html"


def wrk_load(paths: list[str], seconds: int, workdir: Path) -> dict[str, float]:
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
            BASE_URL,
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


def single_requests(paths: list[str], count: int) -> dict[str, float]:
    """`count` requests one after another, cycling through `paths` from its start (so that with
    enough addresses each is a first visit): median and slowest, in microseconds."""
    times = []
    errors = 0
    for index in range(count):
        path = paths[index % len(paths)]
        request = urllib.request.Request(BASE_URL + path, headers={"Accept": accept_for(path)})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
        except OSError:  # HTTPError included: a 4xx or 5xx is an error here
            errors += 1
        times.append((time.perf_counter() - started) * 1e6)
    return {
        "n": count,
        "distinct": min(count, len(paths)),
        "median_us": statistics.median(times),
        "max_us": max(times),
        "errors": errors,
    }


def interleave(lists: list[list[str]], rounds: int) -> list[str]:
    """One address of each list in turn, `rounds` times: every endpoint equally often."""
    return [items[index % len(items)] for index in range(rounds) for items in lists]


# Writes -----------------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    """Nearest rank, like wrk's: the smallest value with at least pct % of values at or below."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


class Editor(threading.Thread):
    """Record steps' notes through the API at `rate` writes a second, until `stop()` or until
    `limit` writes have been started.

    Each write is a GET of the step (for its ETag) and a PATCH with If-Match; only the PATCH is
    timed. A 412 means the step changed since the GET: the write is retried with a fresh ETag
    and the 412 counted as a conflict, never as a success. Anything else that is not a 2xx, a
    connection error, or MAX_ATTEMPTS lost races in a row counts as an error.

    Writes start on a fixed schedule, each in its own thread (several editors at once, each on
    another step), so a slow write does not lower the rate; at most `in_flight` are under way,
    and a slot that finds them all busy is skipped and counted.
    """

    def __init__(
        self,
        *,
        token: str,
        steps: list[str],
        rate: float,
        limit: int | None = None,
        in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        super().__init__(daemon=True)
        self.token = token
        self.steps = steps
        self.rate = rate
        self.limit = limit
        self.latencies_us: list[float] = []
        self.conflicts = 0
        self.errors = 0
        self.skipped = 0
        self.error_samples: list[str] = []
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = threading.Semaphore(in_flight)
        self._writers: list[threading.Thread] = []
        self._count = 0
        self._began = 0.0
        self._elapsed = 0.0

    def stop(self) -> dict[str, float]:
        """Start no more writes, wait for those under way, and sum up."""
        self._halt.set()
        self.join()
        return self.summary()

    def finish(self) -> dict[str, float]:
        """Wait until `limit` writes are done, and sum up."""
        self.join()
        return self.summary()

    def run(self) -> None:
        interval = 1 / self.rate
        self._began = time.monotonic()
        next_at = self._began
        while not self._halt.is_set() and (self.limit is None or self._count < self.limit):
            wait = next_at - time.monotonic()
            if wait > 0:
                self._halt.wait(wait)
                continue
            next_at += interval
            if not self._in_flight.acquire(blocking=False):
                self.skipped += 1
                continue
            step = self.steps[self._count % len(self.steps)]
            writer = threading.Thread(target=self._write, args=(step, self._count), daemon=True)
            self._count += 1
            self._writers.append(writer)
            writer.start()
        for writer in self._writers:
            writer.join()
        self._elapsed = time.monotonic() - self._began

    def _write(self, path: str, number: int) -> None:
        try:
            self._record(path, number)
        finally:
            self._in_flight.release()

    def _request(
        self, method: str, path: str, number: int, **headers: str
    ) -> urllib.request.Request:
        headers["Authorization"] = f"Bearer {self.token}"
        headers["Accept"] = "application/json"
        data = None
        if method == "PATCH":
            body = {"note": f"Checked by the benchmark's editor (write {number})."}
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return urllib.request.Request(BASE_URL + path, data=data, method=method, headers=headers)

    def _error(self, what: str) -> None:
        with self._lock:
            self.errors += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(what)

    def _record(self, path: str, number: int) -> None:
        for _attempt in range(MAX_ATTEMPTS):
            try:
                get = self._request("GET", path, number)
                with urllib.request.urlopen(get, timeout=30) as response:
                    response.read()
                    etag = response.headers["ETag"]
                started = time.perf_counter()
                request = self._request("PATCH", path, number, **{"If-Match": etag})
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                with self._lock:
                    self.latencies_us.append((time.perf_counter() - started) * 1e6)
                return
            except urllib.error.HTTPError as exc:
                if exc.code == 412:
                    with self._lock:
                        self.conflicts += 1
                    continue
                self._error(f"{path}: HTTP {exc.code} {exc.read()[:200]!r}")
                return
            except OSError as exc:
                self._error(f"{path}: {exc}")
                return
        self._error(f"{path}: {MAX_ATTEMPTS} lost races (412) in a row")

    def summary(self) -> dict[str, float]:
        lat = self.latencies_us
        return {
            "rate": self.rate,
            "writes": len(lat),
            "achieved_per_second": round(len(lat) / self._elapsed, 2) if self._elapsed else 0.0,
            "p50_us": percentile(lat, 50),
            "p95_us": percentile(lat, 95),
            "p99_us": percentile(lat, 99),
            "conflicts": self.conflicts,
            "errors": self.errors,
            "skipped": self.skipped,
            "error_samples": self.error_samples,
        }
