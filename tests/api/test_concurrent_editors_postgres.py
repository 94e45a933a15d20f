"""Many editors at once through the HTTP API, on real PostgreSQL: nothing accepted is lost.

Editors are threads, each with its own token, talking to the live server (a threaded WSGI server,
one database connection per request thread) exactly as tools do: read the step, send the change
with `If-Match`, and on 412 read again and retry. Afterwards the database must agree with what
the clients were told:

* every 200 is in the database and in the step's history, once (version and history rows count
  the accepted writes, and the last accepted note is the stored one);
* every refusal is a 412 (someone else changed the step first), never a 5xx or a silent success;
* each status change and each step completion is recorded exactly once.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests

from accounts.services import token_create
from ratification.models import RatificationStep, StatusChange, StepStatus

from ..factories import EditorFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
TODAY = dt.date.today()
SOURCE = {"title": "Exchange of notes", "url": "https://www.mofa.go.jp/notes.html"}


@dataclass
class Tally:
    """What the clients were told, gathered from every thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter = field(default_factory=Counter)
    accepted: Counter = field(default_factory=Counter)  # step id → number of 200s
    last_note: dict[int, tuple[int, str]] = field(default_factory=dict)  # id → (version, note)
    errors: list[str] = field(default_factory=list)

    def record(self, step_id: int, response: requests.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code == 200:
                body = response.json()
                self.accepted[step_id] += 1
                previous = self.last_note.get(step_id, (-1, ""))
                if body["version"] > previous[0]:
                    self.last_note[step_id] = (body["version"], body["note"])
            elif response.status_code != 412:
                self.errors.append(f"{response.status_code} {response.text[:300]}")


def editor_session(n: int) -> requests.Session:
    _, raw = token_create(user=EditorFactory(username=f"editor{n}"), name=f"tool {n}")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {raw}"
    return session


def change_step(
    session: requests.Session, base: str, step_id: int, body: dict, tally: Tally, retries: int = 50
) -> bool:
    """Read, send with If-Match, and on 412 read again and retry; True once accepted."""
    url = f"{base}/api/v1/steps/{step_id}/"
    for _ in range(retries):
        etag = session.get(url, timeout=30).headers["ETag"]
        response = session.patch(url, json=body, headers={"If-Match": etag}, timeout=30)
        tally.record(step_id, response)
        if response.status_code == 200:
            return True
        if response.status_code != 412:
            return False
    return False


def run_threads(targets: list) -> None:
    errors: list[BaseException] = []

    def run(target) -> None:
        try:
            target()
        except BaseException as exc:  # surfaced in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads), "an editor thread hung"


def open_steps(agreement) -> list[RatificationStep]:
    """The steps still to do, in the order a careful editor completes them."""
    return list(
        RatificationStep.objects.filter(participation__agreement=agreement)
        .exclude(status=StepStatus.NOT_REQUIRED)
        .exclude(kind="signature")  # completed already: they follow the signature date
        .order_by("participation__party__code", "order")
    )


def history_rows(step_ids: list[int], since) -> Counter:
    model = RatificationStep.history.model
    return Counter(
        model.objects.filter(id__in=step_ids, history_date__gte=since).values_list("id", flat=True)
    )


def test_editors_racing_on_one_step_get_one_200_and_412s_and_one_status_change(
    live_server, make_agreement
):
    """Eight editors send the last missing step of the same agreement with the same ETag: one
    wins, seven are told 412, and the agreement's change to `ratified` is recorded once."""
    agreement = make_agreement(signed_on=TODAY - dt.timedelta(days=100), today=TODAY)
    steps = open_steps(agreement)
    sessions = [editor_session(n) for n in range(8)]
    base = live_server.url
    tally = Tally()
    for step in steps[:-1]:
        assert change_step(
            sessions[0],
            base,
            step.pk,
            {"status": "completed", "date": str(TODAY - dt.timedelta(days=10)), "source": SOURCE},
            tally,
        )
    last = steps[-1]
    url = f"{base}/api/v1/steps/{last.pk}/"
    etag = sessions[0].get(url, timeout=30).headers["ETag"]
    barrier = threading.Barrier(len(sessions))

    def racer(session: requests.Session):
        def go() -> None:
            barrier.wait()
            body = {"status": "completed", "date": str(TODAY - dt.timedelta(days=5))}
            response = session.patch(
                url, json={**body, "source": SOURCE}, headers={"If-Match": etag}, timeout=30
            )
            tally.record(last.pk, response)

        return go

    before = tally.statuses[200]
    run_threads([racer(session) for session in sessions])

    assert tally.errors == []
    assert tally.statuses[200] - before == 1
    assert tally.statuses[412] == 7
    agreement.refresh_from_db()
    assert agreement.status == "ratified"
    changes = StatusChange.objects.filter(agreement=agreement)
    assert changes.filter(kind="status_changed", to_value="ratified").count() == 1
    # and the two signature steps, completed from signed_on when the agreement was made
    assert changes.filter(kind="step_completed").count() == len(steps) + 2
    last.refresh_from_db()
    assert last.history.filter(status="completed").count() == 1


def test_many_editors_on_the_same_and_different_agreements_lose_nothing(
    live_server, make_agreement
):
    """Four editors keep annotating the steps of a shared agreement and of each other's, while
    four more complete their own agreement's steps in order. Afterwards every accepted write is
    in the database and in the history exactly once, and each agreement's changes are recorded
    once each."""
    from django.utils import timezone

    shared = make_agreement(slug="shared", signed_on=TODAY - dt.timedelta(days=100), today=TODAY)
    own = [
        make_agreement(slug=f"own-{n}", signed_on=TODAY - dt.timedelta(days=100), today=TODAY)
        for n in range(4)
    ]
    started = timezone.now()
    base = live_server.url
    tally = Tally()
    shared_ids = [step.pk for step in open_steps(shared)]
    own_steps = [open_steps(agreement) for agreement in own]
    contested_ids = shared_ids + [step.pk for steps in own_steps for step in steps]
    versions_before = dict(
        RatificationStep.objects.filter(pk__in=contested_ids).values_list("pk", "version")
    )
    annotators = [editor_session(n) for n in range(4)]
    completers = [editor_session(n) for n in range(4, 8)]
    refused: list[str] = []

    def annotate(n: int, session: requests.Session):
        rng = random.Random(n)  # deterministic choice of steps per thread

        def go() -> None:
            for i in range(12):
                step_id = rng.choice(shared_ids if i % 2 == 0 else contested_ids)
                change_step(session, base, step_id, {"note": f"editor{n} pass {i}"}, tally)

        return go

    def complete(n: int, session: requests.Session):
        def go() -> None:
            for k, step in enumerate(own_steps[n]):
                body = {
                    "status": "completed",
                    "date": str(TODAY - dt.timedelta(days=60 - k)),
                    "source": SOURCE,
                }
                if not change_step(session, base, step.pk, body, tally):
                    refused.append(f"own-{n} step {step.pk}")

        return go

    run_threads(
        [annotate(n, s) for n, s in enumerate(annotators)]
        + [complete(n, s) for n, s in enumerate(completers)]
    )

    assert tally.errors == [], tally.errors
    assert refused == []
    assert set(tally.statuses) <= {200, 412}
    # Every accepted write is stored once: one version step and one history row each.
    history = history_rows(contested_ids, started)
    for step in RatificationStep.objects.filter(pk__in=contested_ids):
        accepted = tally.accepted[step.pk]
        assert step.version == versions_before[step.pk] + accepted, step.pk
        assert history[step.pk] == accepted, step.pk
        if step.pk in tally.last_note:
            assert step.note == tally.last_note[step.pk][1]
    # Each change exactly once: one completion flag per step, one status change per status.
    for agreement, steps in zip(own, own_steps, strict=True):
        agreement.refresh_from_db()
        assert agreement.status == "ratified"
        changes = StatusChange.objects.filter(agreement=agreement)
        completed = Counter(
            changes.filter(kind="step_completed")
            .exclude(step__kind="signature")  # completed from signed_on at creation
            .values_list("step", flat=True)
        )
        assert completed == Counter(step.pk for step in steps)
        to_values = list(
            changes.filter(kind="status_changed")
            .order_by("detected_at", "id")
            .values_list("to_value", flat=True)
        )
        assert len(to_values) == len(set(to_values)), to_values
        assert to_values[-1:] == ["ratified"]
