"""The kept started clocks (ratification.models.StartedClock): after any sequence of writes, by
every path that writes steps or clock rules, they equal a fresh computation from the steps, and
the pages that read them show what a computation from the steps shows."""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
from collections import defaultdict

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parties.models import ClockRule
from ratification.clocks import DONE, clocks_running_for_party, started_clocks_rebuild
from ratification.merging import agreement_merge
from ratification.models import RatificationStep, StartedClock, StepStatus
from ratification.services import StepInput, step_add, step_record, step_remove

from .clock_fixtures import gb_steps, jp_steps

pytestmark = pytest.mark.django_db
D = dt.date
TODAY = D(2027, 6, 1)


@pytest.fixture
def make_agreement(make_agreement):
    """JP–GB agreements recorded in 2027, so that the steps of 2026 have happened."""
    return functools.partial(make_agreement, today=TODAY, party_codes=["JP", "GB"])


def fresh() -> set[tuple[int, int]]:
    """(rule, start step) of every started, unstopped clock, worked out in Python from every
    participation's steps: the definition the kept rows must follow, independent of their SQL."""
    pairs = set()
    by_participation = defaultdict(list)
    for step in RatificationStep.objects.select_related("participation"):
        by_participation[step.participation].append(step)

    def matches(step, kind, body):
        return step.kind == kind and (not body or step.body.casefold() == body.casefold())

    for rule in ClockRule.objects.all():
        for participation, steps in by_participation.items():
            if participation.party_id != rule.party_id:
                continue
            for start in steps:
                if not matches(start, rule.starts_kind, rule.starts_body):
                    continue
                if start.status != StepStatus.COMPLETED or start.date is None:
                    continue
                stopped = any(
                    other.order > start.order
                    and other.status in DONE
                    and matches(other, rule.stops_kind, rule.stops_body)
                    for other in steps
                )
                if not stopped:
                    pairs.add((rule.pk, start.pk))
    return pairs


def kept() -> set[tuple[int, int]]:
    return set(StartedClock.objects.values_list("rule_id", "step_id"))


def both(make_agreement, source, *, lower_on=None, laid_on=None, upper=None):
    return make_agreement(
        steps={
            "JP": jp_steps(lower_on=lower_on, upper=upper, source=source),
            "GB": gb_steps(laid_on=laid_on, source=source),
        }
    )


def test_a_completed_start_step_is_kept_and_its_stop_removes_it(art61, make_agreement, source):
    agreement = both(make_agreement, source)
    assert kept() == set()
    lower, upper = agreement.participations.get(party__code="JP").steps.order_by("order")

    step_record(step=lower, status="completed", date=D(2026, 1, 15), source=source, today=TODAY)
    assert kept() == {(art61.pk, lower.pk)} == fresh()

    step_record(step=upper, status="completed", date=D(2026, 2, 3), source=source, today=TODAY)
    assert kept() == set() == fresh()


def test_a_rule_added_or_changed_recomputes_its_clocks(clock_diet, make_agreement, source, request):
    agreement = both(make_agreement, source, lower_on=D(2026, 1, 15))
    assert kept() == set()
    rule = request.getfixturevalue("art61")  # the rule is added after the step was recorded
    lower = agreement.participations.get(party__code="JP").steps.get(order=1)
    assert kept() == {(rule.pk, lower.pk)} == fresh()

    rule.starts_body = "House of Councillors"  # a start no agreement has reached
    rule.save()
    assert kept() == set() == fresh()

    rule.starts_body = "house of representatives"  # bodies match whatever their case
    rule.save()
    assert kept() == {(rule.pk, lower.pk)} == fresh()

    rule.delete()
    assert kept() == set()


def test_a_removed_step_takes_its_clock_with_it(art61, make_agreement, source):
    agreement = both(make_agreement, source, lower_on=D(2026, 1, 15))
    assert len(kept()) == 1
    step_remove(step=agreement.participations.get(party__code="JP").steps.get(order=1), today=TODAY)
    assert kept() == set() == fresh()


def test_a_merge_keeps_the_clocks_of_the_steps_it_moves(art61, make_agreement, source, editor):
    survivor = both(make_agreement, source)
    duplicate = both(make_agreement, source, lower_on=D(2026, 1, 15))
    # The survivor's own steps are still pending: the duplicate's record of them moves over.
    agreement_merge(survivor=survivor, duplicate=duplicate, user=editor, reason="Twice.")
    moved = survivor.participations.get(party__code="JP").steps.get(status="completed")
    assert kept() == {(art61.pk, moved.pk)} == fresh()


def test_a_step_recorded_through_the_api_is_kept(art61, make_agreement, source, editor_client):
    agreement = both(make_agreement, source)
    lower = agreement.participations.get(party__code="JP").steps.get(order=1)
    url = reverse("api:step-detail", args=[lower.pk])
    response = editor_client.patch(
        url,
        {"status": "completed", "date": "2026-01-15", "source": {"title": "Diet record"}},
        format="json",
        HTTP_IF_MATCH=editor_client.get(url)["ETag"],
    )
    assert response.status_code == 200, response.content
    assert kept() == {(art61.pk, lower.pk)} == fresh()


def test_the_rebuild_recomputes_what_was_lost(art61, crag, make_agreement, source):
    both(make_agreement, source, lower_on=D(2026, 1, 15), laid_on=D(2026, 1, 12))
    expected = fresh()
    assert len(expected) == 2 and kept() == expected
    StartedClock.objects.all().delete()
    assert started_clocks_rebuild() == 2
    assert kept() == expected
    StartedClock.objects.all().delete()
    call_command("recompute_agreements", stdout=io.StringIO())
    assert kept() == expected


def test_the_party_page_reads_the_kept_clocks(art61, make_agreement, source, client):
    agreement = both(make_agreement, source, lower_on=D(2026, 1, 15))
    running = clocks_running_for_party(party_id=art61.party_id, today=D(2026, 2, 5))
    assert [a.pk for a, _ in running] == [agreement.pk]
    assert running[0][1].runs_out_on == D(2026, 2, 25)
    # Not started within the horizon as of a day before the start: not read.
    assert clocks_running_for_party(party_id=art61.party_id, today=D(2026, 1, 14)) == []


# Any sequence of writes ------------------------------------------------------------------------

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
KINDS = [
    ("legislative_approval", "House of Representatives"),
    ("legislative_approval", "House of Councillors"),
    ("legislative_approval", "house of councillors"),
    ("submission_to_legislature", "Parliament"),
    ("executive_ratification", "Government"),
]
STATUSES = ["completed", "failed", "pending", "scheduled", "not_required"]

record = st.tuples(
    st.just("record"), st.integers(0, 20), st.sampled_from(STATUSES), st.integers(1, 300)
)
add = st.tuples(
    st.just("add"),
    st.sampled_from(["JP", "GB"]),
    st.sampled_from(KINDS),
    st.sampled_from(["completed", "pending", "failed"]),
    st.integers(1, 300),
    st.integers(1, 6),
)
remove = st.tuples(st.just("remove"), st.integers(0, 20))
rule_edit = st.tuples(
    st.just("rule"), st.sampled_from(["Parliament", "Government", ""]), st.sampled_from(KINDS)
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(st.one_of(record, add, remove, rule_edit), max_size=12))
def test_after_any_writes_the_kept_clocks_equal_a_fresh_computation(
    art61, crag, make_agreement, source, operations
):
    agreements = [
        both(make_agreement, source, lower_on=D(2026, 1, 15)),
        both(make_agreement, source, laid_on=D(2026, 1, 12)),
    ]
    for n, operation in enumerate(operations):
        agreement = agreements[n % 2]
        steps = list(
            RatificationStep.objects.filter(participation__agreement=agreement).order_by("pk")
        )
        try:
            if operation[0] == "record" and steps:
                _, index, status, day = operation
                dated = status in ("completed", "failed", "scheduled")
                when = (TODAY + dt.timedelta(days=day)) if status == "scheduled" else D(2026, 1, 1)
                step_record(
                    step=steps[index % len(steps)],
                    status=status,
                    date=(when + dt.timedelta(days=day % 200)) if dated else None,
                    source=source,
                    confirm_out_of_order=True,
                    today=TODAY,
                )
            elif operation[0] == "add":
                _, party, (kind, body), status, day, order = operation
                step_add(
                    agreement=agreement,
                    party_code=party,
                    data=StepInput(
                        kind=kind,
                        body=body,
                        status=status,
                        date=D(2026, 1, 1) + dt.timedelta(days=day)
                        if status != "pending"
                        else None,
                        source=source,
                    ),
                    order=order,
                    confirm_out_of_order=True,
                    today=TODAY,
                )
            elif operation[0] == "remove" and steps:
                step_remove(step=steps[operation[1] % len(steps)], today=TODAY)
            elif operation[0] == "rule":
                _, starts_body, (stops_kind, stops_body) = operation
                crag.starts_body = starts_body
                crag.stops_kind, crag.stops_body = stops_kind, stops_body
                crag.save()
        except ValidationError:
            pass  # a write the services refuse changes nothing; the rows must still agree
        assert kept() == fresh(), operation
    StartedClock.objects.all().delete()
    started_clocks_rebuild()
    assert kept() == fresh()
