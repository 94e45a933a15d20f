"""Faults: Redis or PostgreSQL goes away while a real gunicorn (DEBUG off) and a real Celery
worker run. The site answers clearly while it is down, recovers by itself when it returns, and
no recorded step or status change is lost or duplicated (CI only; never skipped there).

Killing a Celery worker in the middle of its work is tests/services/test_worker.py
(`test_worker_killed_mid_delivery_loses_nothing`).

Every write here goes through the HTTP API of the gunicorn subprocess, with an editor's token;
the test reads the database directly to check what was recorded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass

import pytest
import redis
import requests

from accounts.services import token_create
from notify.webhooks import subscription_create
from pacttracker.celery import app as celery_app
from ratification.models import RatificationStep, StatusChange, StepStatus

from .conftest import Receiver, free_port, this_database_url, wait_for

pytestmark = [
    pytest.mark.services,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
YESTERDAY = (dt.date.today() - dt.timedelta(days=1)).isoformat()
SOURCE = {"title": "Official gazette", "url": "https://example.org/gazette"}


# Services the test can stop --------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of this test's own on a free port, with nothing saved to disk: stopping
    it loses every queued message, the worst case for the broker."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        nothing_on_disk = ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", *nothing_on_disk],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        assert wait_for(lambda: self._answers(client), 10), "redis-server did not start"

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as when the machine or container dies."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)


class CuttableProxy:
    """A TCP proxy from a free port on 127.0.0.1 to PostgreSQL, which the test can cut.

    `cut()` closes the listening socket and every open connection: new connections are refused
    and open ones drop, which is what the web server and the worker see when PostgreSQL stops.
    `trip_on(text)` cuts the moment a client sends `text` (a statement), so a write can be
    interrupted half-way through its transaction. `restore()` listens again on the same port.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.trip: bytes | None = None
        self.tripped = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def trip_on(self, text: bytes) -> None:
        self.tripped.clear()
        self.trip = text

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                _hang_up(sock)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # cut
            client.settimeout(None)
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        tail = b""  # the last bytes seen, so that a statement split across reads still trips
        try:
            while data := source.recv(65536):
                if from_client and self.trip and self.trip in tail + data:
                    self.trip = None
                    self.tripped.set()
                    self.cut()  # before the statement reaches PostgreSQL
                    return
                tail = data[-256:]
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            _hang_up(sock)


def _hang_up(sock: socket.socket) -> None:
    """End both directions now, which close() alone does not while another thread reads."""
    with contextlib.suppress(OSError):  # already closed by the other side or the other pump
        sock.shutdown(socket.SHUT_RDWR)


# The API, as a tool would use it ---------------------------------------------------------------


@dataclass
class Api:
    base: str
    token: str

    def _headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.base}{path}", headers=self._headers(), timeout=20)

    def post(self, path: str, body: dict) -> requests.Response:
        return requests.post(f"{self.base}{path}", json=body, headers=self._headers(), timeout=20)

    def agreement_create(self, slug: str) -> list[int]:
        """A JP–PH agreement; returns the ids of Japan's steps in procedure order."""
        body = {"slug": slug, "title": f"Fault test {slug}", "kind": "bilateral"}
        response = self.post("/api/v1/agreements/", {**body, "parties": ["JP", "PH"]})
        assert response.status_code == 201, response.text
        steps = self.get(f"/api/v1/agreements/{slug}/steps/").json()
        jp = sorted((s for s in steps if s["party"] == "JP"), key=lambda s: s["order"])
        return [s["id"] for s in jp]

    def step_complete(self, step_id: int) -> requests.Response:
        """Record a step as completed yesterday, reading its ETag first as a tool must."""
        url = f"{self.base}/api/v1/steps/{step_id}/"
        etag = requests.get(url, headers=self._headers(), timeout=20).headers["ETag"]
        body = {"status": "completed", "date": YESTERDAY, "source": SOURCE}
        return requests.patch(
            url, json=body, headers=self._headers(**{"If-Match": etag}), timeout=20
        )


@pytest.fixture
def api_token(editor) -> str:
    return token_create(user=editor)[1]


@pytest.fixture
def receiver(settings, editor) -> Receiver:
    """A webhook receiver subscribed to every change, before any change is made."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    receiver = Receiver()
    subscription_create(owner=editor, url=receiver.url)
    return receiver


def assert_each_change_delivered_once(receiver: Receiver, timeout: float = 60) -> None:
    """Every StatusChange reached the receiver, and none twice."""
    expected = set(StatusChange.objects.values_list("pk", flat=True))
    assert expected, "the test recorded no change"
    arrived = wait_for(lambda: expected <= set(receiver.change_ids()), timeout)
    assert arrived, f"missing deliveries for changes {expected - set(receiver.change_ids())}"
    time.sleep(2)  # a duplicate would arrive now
    assert sorted(receiver.change_ids()) == sorted(expected)
    assert not StatusChange.objects.filter(fanned_out_at__isnull=True).exists()


def assert_completed_once(step_ids: list[int]) -> None:
    for step_id in step_ids:
        assert RatificationStep.objects.get(pk=step_id).status == StepStatus.COMPLETED
        changes = StatusChange.objects.filter(step_id=step_id, kind="step_completed").count()
        assert changes == 1, f"step {step_id} has {changes} step_completed changes"


def assert_no_traceback(response: requests.Response) -> None:
    for leak in ("Traceback", "OperationalError", "psycopg", 'File "'):
        assert leak not in response.text, f"{response.url} shows {leak!r}"


# Redis -----------------------------------------------------------------------------------------


def test_redis_down_writes_are_accepted_and_every_change_is_delivered_once_after_it_returns(
    subprocess_env, start_worker, start_web, api_token, receiver
):
    """The broker and the cache share one private Redis, killed with SIGKILL and restarted empty.

    While it is down, steps recorded through the API are accepted (they and their status changes
    commit; only queueing the follow-up task fails, after commit, and is logged), and pages and
    API reads answer 200 (the cache degrades to misses). When Redis returns, the same worker
    reconnects by itself. The messages queued before the outage are gone with it, so the test
    sends the periodic sweep (`ratification.sweep_calendar`, which beat runs in production) through
    the restarted broker, and that alone fans out the changes recorded during the outage. A step
    recorded after the restart is then delivered through the normal path (the web server's
    producer reconnected too). Each change reaches the webhook receiver exactly once.
    """
    private = PrivateRedis()
    private.start()
    try:
        broker = private.url(0)
        subprocess_env.update({"CELERY_BROKER_URL": broker, "CACHE_URL": private.url(1)})
        # Pending deliveries count as lost (for the sweep) after 3 × this; keep it short.
        start_worker(WEBHOOK_TIMEOUT_SECONDS="2")
        api = Api(start_web(), api_token)
        steps = api.agreement_create("redis-fault")
        assert len(steps) >= 5, steps

        for step_id in steps[:2]:
            assert api.step_complete(step_id).status_code == 200
        assert api.get("/api/v1/agreements/redis-fault/").status_code == 200  # now cached
        assert_each_change_delivered_once(receiver)

        private.kill()
        for step_id in steps[2:4]:
            response = api.step_complete(step_id)
            assert response.status_code == 200, response.text
        for path in ("/", "/agreements/redis-fault/", "/api/v1/agreements/"):
            response = api.get(path)
            assert response.status_code == 200, (path, response.status_code)
            assert_no_traceback(response)
        detail = api.get("/api/v1/agreements/redis-fault/").json()
        recorded = {
            step["id"]: step["status"] for party in detail["parties"] for step in party["steps"]
        }
        assert all(recorded[step_id] == "completed" for step_id in steps[:4]), "a stale read"
        assert_completed_once(steps[:4])

        private.start()  # same port, empty
        with celery_app.connection_for_write(broker) as connection:
            celery_app.send_task("ratification.sweep_calendar", connection=connection)
        assert_each_change_delivered_once(receiver, timeout=60)  # the sweep alone did it

        assert api.step_complete(steps[4]).status_code == 200
        assert_each_change_delivered_once(receiver)
        assert_completed_once(steps[:5])
    finally:
        if private.process is not None and private.process.poll() is None:
            private.kill()


# PostgreSQL ------------------------------------------------------------------------------------


def test_database_down_answers_503_and_recovers_without_losing_or_half_writing(
    subprocess_env, start_worker, start_web, api_token, receiver
):
    """PostgreSQL is reached through a TCP proxy that the test cuts and restores.

    Why a proxy and not a private cluster: the machine's PostgreSQL is shared with other suites
    and must not stop, and a proxy cuts and comes back instantly and every time, while initdb and
    a cluster start take seconds and run as another user. From the web server's side a cut proxy
    is PostgreSQL gone: open connections drop, new ones are refused.

    The cut happens in the middle of a write: the proxy trips on the INSERT of the step's status
    change, after the step's UPDATE was sent in the same transaction. That request answers a 503
    in JSON, and PostgreSQL rolls the transaction back, so nothing of it is recorded. While the
    database is down, pages answer the 503 page and the API 503 JSON, with Retry-After and no
    traceback. When it returns, the same gunicorn answers again (its kept connections are
    replaced), the failed write succeeds when sent again, the steps recorded before the outage
    are there exactly once, and every change reaches the webhook receiver exactly once.
    """
    from django.db import connection

    proxy = CuttableProxy((connection.settings_dict["HOST"], int(connection.settings_dict["PORT"])))
    subprocess_env["DATABASE_URL"] = this_database_url(port=proxy.port)
    start_worker()
    api = Api(start_web(), api_token)
    steps = api.agreement_create("database-fault")
    for step_id in steps[:2]:
        assert api.step_complete(step_id).status_code == 200
    assert_each_change_delivered_once(receiver)

    proxy.trip_on(b'INSERT INTO "ratification_statuschange"')
    interrupted = api.step_complete(steps[2])
    assert proxy.tripped.is_set(), "the write never reached its status change"
    assert interrupted.status_code == 503, interrupted.text
    assert interrupted.json()["code"] == "service_unavailable"

    for path in ("/", "/agreements/database-fault/"):
        page = api.get(path)
        assert page.status_code == 503, (path, page.status_code)
        assert page.headers["Retry-After"]
        assert "Temporarily unavailable" in page.text
        assert "cannot reach its database" in page.text
        assert_no_traceback(page)
    for response in (
        api.get("/api/v1/agreements/"),
        api.post("/api/v1/agreements/", {"slug": "during", "title": "D", "parties": ["JP"]}),
    ):
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"]
        assert response.json()["code"] == "service_unavailable"
        assert_no_traceback(response)
    # Nothing of the interrupted write: neither the step's new status nor its change.
    assert RatificationStep.objects.get(pk=steps[2]).status != StepStatus.COMPLETED
    assert not StatusChange.objects.filter(step_id=steps[2]).exists()

    proxy.restore()
    assert wait_for(lambda: api.get("/").status_code == 200, 20), "the server did not recover"
    assert api.get("/api/v1/agreements/database-fault/").status_code == 200
    assert api.step_complete(steps[2]).status_code == 200  # the client retries the 503
    assert api.step_complete(steps[3]).status_code == 200

    assert_completed_once(steps[:4])
    assert not RatificationStep.objects.filter(participation__agreement__slug="during").exists()
    assert_each_change_delivered_once(receiver)
    proxy.cut()
