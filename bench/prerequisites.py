"""What `make bench` needs before it starts: wrk, PostgreSQL as a superuser, Redis.

Everything is checked up front, so that a run does not stop after ten minutes of data
generation for want of a tool. The one thing it repairs by itself is a missing `wrk` on a machine
where that is safe and simple (root, apt-get): anywhere else it says the exact command to run.
"""

# ruff: noqa: S607 (a fixed argument list: apt-get from the PATH)

from __future__ import annotations

import os
import shutil
import subprocess

import psycopg
import redis


def _apt_install_wrk() -> bool:
    subprocess.run(
        ["apt-get", "install", "-y", "wrk"],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        capture_output=True,
        check=False,
    )
    return shutil.which("wrk") is not None


def _wrk() -> str | None:
    """Install wrk with apt-get when running as root; otherwise the command to run by hand."""
    if shutil.which("wrk"):
        return None
    if shutil.which("apt-get") is None:
        return "wrk is not installed: build it from https://github.com/wg/wrk and put it on PATH"
    if os.geteuid() != 0:
        return "wrk is not installed: run `sudo apt-get install -y wrk`"
    print("[bench] wrk is not installed: apt-get install -y wrk", flush=True)
    if _apt_install_wrk():
        return None
    # A fresh container often has no package lists yet: update them once and try again.
    subprocess.run(["apt-get", "update"], capture_output=True, check=False)
    if _apt_install_wrk():
        return None
    return "wrk is not installed and `apt-get install -y wrk` failed: run it to see why"


def _postgresql(server: str) -> str | None:
    try:
        with psycopg.connect(f"{server}/postgres", connect_timeout=5) as conn:
            superuser = conn.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()[0]
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"PostgreSQL at {server} does not answer ({first_line}): start it, or point "
            "BENCH_PG at one (postgres://USER@HOST:PORT)"
        )
    if not superuser:
        return (
            f"the PostgreSQL role in {server} is not a superuser (the generator switches "
            "triggers off while it loads): use one, e.g. BENCH_PG=postgres://postgres@HOST:PORT"
        )
    return None


def _redis(url: str, what: str, variable: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        return f"Redis ({what}) at {url} does not answer ({exc}): start it, or set {variable}"
    return None


def check(*, postgresql: str, broker: str, cache: str) -> None:
    """Stop with every missing prerequisite and what to do about it; install wrk if we may."""
    problems = [_wrk(), _postgresql(postgresql)]
    problems.append(_redis(broker, "Celery broker", "BENCH_REDIS"))
    problems.append(_redis(cache, "shared cache", "BENCH_CACHE"))
    problems = [p for p in problems if p]
    if problems:
        raise SystemExit("make bench cannot start:\n" + "\n".join(f"  - {p}" for p in problems))
