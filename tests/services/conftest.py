"""Helpers for the tests against real services: a webhook receiver on localhost, and Celery
worker and gunicorn subprocesses that use this test's database (pytest-django's test database,
so the tests using them must be transactional) and a broker of the test's choice."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


class Receiver:
    """Records deliveries; the first `hold_first` requests are held open for `hold_seconds`."""

    def __init__(self, hold_first: int = 0, hold_seconds: float = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.first_arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                receiver.first_arrived.set()
                if len(receiver.received) <= hold_first:
                    time.sleep(hold_seconds)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def change_ids(self) -> list[int]:
        """The StatusChange id of every delivery received, repeats included."""
        return [json.loads(body)["change"]["id"] for _, body in list(self.received)]


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def this_database_url(*, port: int | None = None) -> str:
    """This test's database (read inside a transactional test), or a proxy to it on `port`."""
    db = connection.settings_dict
    host = "127.0.0.1" if port else db["HOST"]
    return f"postgres://{db['USER']}@{host}:{port or db['PORT']}/{db['NAME']}"


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def subprocess_env(db) -> dict[str, str]:
    """The environment for worker and web subprocesses: this test's database and broker.

    Tests change it (another broker, a proxied database) before starting the processes.
    """
    return {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": this_database_url(),
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1",
        "DB_CONN_MAX_AGE": "0",
    }


@pytest.fixture
def start_worker(db, settings, subprocess_env) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start Celery worker processes on this test's database and broker; stop them afterwards.

    Keyword arguments are added to the worker's environment.
    """
    import redis

    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver is on 127.0.0.1

    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).flushdb()
    workers: list[subprocess.Popen] = []

    def start(**env: str) -> subprocess.Popen:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "pacttracker",
                "worker",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env={**subprocess_env, **env},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        _stop(worker)


@pytest.fixture(scope="session")
def collected_static() -> None:
    """DEBUG off serves hashed static files from STATIC_ROOT, as in production (Dockerfile)."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "0", "SECRET_KEY": "collectstatic-only"},
        check=True,
    )


@pytest.fixture
def start_web(db, subprocess_env, collected_static, tmp_path) -> Iterator[Callable[..., str]]:
    """Start gunicorn with production settings (DEBUG off); returns its base URL once it answers.

    Keyword arguments are added to its environment. Its log is in tmp_path/gunicorn.log.
    """
    servers: list[subprocess.Popen] = []

    def start(**env: str) -> str:
        port = free_port()
        log = (tmp_path / "gunicorn.log").open("ab")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "pacttracker.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--timeout",
                "30",
                "--no-control-socket",  # its default path is shared by every gunicorn here
            ],
            cwd=ROOT,
            env={
                **subprocess_env,
                "DEBUG": "0",
                "SECRET_KEY": "fault-tests-" + os.urandom(16).hex(),
                "ALLOWED_HOSTS": "127.0.0.1",
                # Plain http on loopback, no proxy in front: the redirect to https, on by
                # default with DEBUG off, is turned off as such a deployment would.
                "SECURE_SSL_REDIRECT": "0",
                # Connections are kept between requests, as in production: recovering from an
                # outage must not depend on a fresh connection per request.
                "DB_CONN_MAX_AGE": "60",
                "API_THROTTLE_ANON": "100000/minute",
                "API_THROTTLE_TOKEN": "100000/minute",
                **env,
            },
            start_new_session=True,
            stdout=log,
            stderr=log,
        )
        servers.append(server)
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return requests.get(f"{url}/glossary/", timeout=5).status_code == 200
            except requests.RequestException:  # refused, or too slow while the workers boot
                return False

        assert wait_for(answers, 30), (tmp_path / "gunicorn.log").read_text()[-3000:]
        return url

    yield start
    for server in servers:
        _stop(server)
