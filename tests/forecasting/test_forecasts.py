"""Forecasts from the tracker's own history (forecasting.forecasts): the estimator, the
fallback levels, thin evidence, calendars, the stored rows after a write, the API and the page."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from agreements.models import Agreement
from forecasting import forecasts
from forecasting.forecasts import (
    MIN_SAMPLE,
    CalendarBook,
    DurationTable,
    estimate,
    forecast_snapshot,
    forecasts_refresh,
    snapshot_of,
)
from ratification import tasks
from ratification.models import Forecast, RatificationStep, StatusChange
from ratification.selectors import forecasts_for_agreement
from ratification.services import StepInput, step_record
from tests.factories import SourceFactory
from tests.parties.calendar_fixtures import add_session

D = dt.date
SIGNED = D(2026, 1, 15)
TODAY = D(2026, 1, 20)
pytestmark = pytest.mark.django_db


# The estimator ---------------------------------------------------------------------------------


def test_estimate_needs_at_least_three_cases():
    assert estimate([]) is None
    assert estimate([100, 200]) is None
    assert MIN_SAMPLE == 3


def test_estimate_small_sample_is_median_within_a_wider_range():
    result = estimate([100, 110, 120])
    assert result.median == 110
    assert result.n == 3
    # A prediction interval for one more case is wider than the cases themselves.
    assert result.low < 100 and result.high > 120
    assert "Student" in result.method


def test_estimate_nine_cases_uses_order_statistics():
    result = estimate([10, 20, 30, 40, 50, 60, 70, 80, 90])
    assert (result.median, result.low, result.high) == (50, 10, 90)
    assert result.method == "order statistics 1 and 9 of 9"


def test_estimate_twenty_cases_trims_the_ends():
    result = estimate(list(range(1, 21)))
    # (u - l) / (n + 1) >= 0.8 with l = floor(21 * 0.1) = 2 and u = ceil(21 * 0.9) = 19.
    assert (result.low, result.high) == (2, 19)


@pytest.mark.parametrize("n", [3, 5, 8, 12])
def test_estimate_range_holds_a_new_case_about_eighty_percent_of_the_time(n):
    rng = random.Random(n)
    held = 0
    trials = 2000
    for _ in range(trials):
        cases = [round(math.exp(rng.gauss(5, 0.6))) for _ in range(n)]
        new = round(math.exp(rng.gauss(5, 0.6)))
        result = estimate(cases)
        held += result.low <= new <= result.high
    assert 0.75 <= held / trials <= 0.9


# Building histories -----------------------------------------------------------------------------


def _history(make_agreement, slug, signed, approved, *, codes=("JP", "PH"), subjects=None):
    """A past agreement whose first party signed on `signed` and got Diet approval on `approved`."""
    first = codes[0]
    steps = {
        first: [
            StepInput(kind="signature", status="completed", date=signed),
            StepInput(
                kind="legislative_approval",
                status="completed",
                date=approved,
                body="House of Councillors",
            ),
        ]
    }
    return make_agreement(
        slug=slug,
        signed_on=signed,
        party_codes=list(codes),
        subjects=subjects or ["defence logistics"],
        steps=steps,
    )


def _pending(make_agreement, slug="pending", signed=SIGNED, codes=("JP", "PH"), **extra):
    first = codes[0]
    return make_agreement(
        slug=slug,
        signed_on=signed,
        party_codes=list(codes),
        subjects=extra.pop("subjects", ["defence logistics"]),
        eif_rule="days_after_last_notification",
        eif_days=30,
        steps={
            first: [
                StepInput(kind="signature", status="completed", date=signed),
                StepInput(kind="legislative_approval", body="House of Councillors"),
            ],
            codes[1]: [StepInput(kind="signature", status="completed", date=signed)],
        },
        **extra,
    )


def _rows(agreement, today=TODAY):
    agreement = forecasts._agreements_with_steps([agreement.pk]).get()
    return forecast_snapshot(
        snapshot_of(agreement),
        table=DurationTable.build(),
        calendars=CalendarBook(),
        as_of=today,
    )


def _step_row(rows):
    return next(r for r in rows if r.kind == "legislative_approval")


# Fallback levels and thin evidence -------------------------------------------------------------


def test_forecast_uses_the_same_partys_record_first(make_agreement):
    for n, days in enumerate([100, 150, 200]):
        _history(make_agreement, f"past-{n}", D(2020, 1, 1), D(2020, 1, 1) + dt.timedelta(days))
    row = _step_row(_rows(_pending(make_agreement)))
    assert row.basis == "party"
    assert row.sample_size == 3
    assert row.likely_on == D(2026, 1, 15) + dt.timedelta(days=150)
    assert row.low_on <= row.likely_on <= row.high_on
    assert row.evidence["median_days"] == 150
    assert [s["days"] for s in row.evidence["samples"]] == [200, 150, 100]
    assert row.evidence["samples"][0]["agreement"] == "past-2"
    assert row.evidence["summary"].startswith(
        "Japan, Signature → Legislative approval (House of Councillors): median 150 days over 3"
    )


def test_forecast_falls_back_to_the_subject(make_agreement):
    # Japan has two cases only; the third of the subject is another party's.
    _history(make_agreement, "jp-1", D(2020, 1, 1), D(2020, 4, 10))
    _history(make_agreement, "jp-2", D(2020, 1, 1), D(2020, 5, 30))
    _history(make_agreement, "au-1", D(2020, 1, 1), D(2020, 6, 29), codes=("AU", "PH"))
    _history(
        make_agreement,
        "au-other",
        D(2020, 1, 1),
        D(2021, 1, 1),
        codes=("AU", "GB"),
        subjects=["mutual defence"],
    )
    row = _step_row(_rows(_pending(make_agreement)))
    assert row.basis == "subject"
    assert row.sample_size == 3
    assert {s["agreement"] for s in row.evidence["samples"]} == {"jp-1", "jp-2", "au-1"}


def test_forecast_falls_back_to_every_agreement(make_agreement):
    for n, code in enumerate(["AU", "GB", "US"]):
        _history(
            make_agreement,
            f"other-{n}",
            D(2020, 1, 1),
            D(2020, 3, 1) + dt.timedelta(days=n),
            codes=(code, "PH"),
            subjects=["mutual defence"],
        )
    row = _step_row(_rows(_pending(make_agreement)))
    assert row.basis == "all"
    assert row.sample_size == 3


def test_thin_evidence_gives_no_forecast_and_says_why(make_agreement):
    _history(make_agreement, "only-one", D(2020, 1, 1), D(2020, 4, 10))
    rows = _rows(_pending(make_agreement))
    row = _step_row(rows)
    assert row.likely_on is None
    assert row.basis == "none"
    assert row.reason.startswith("Not enough evidence: fewer than 3 recorded cases")
    assert "1 for Japan" in row.reason
    # Entry into force needs every party's forecast: none, with the reason.
    eif = next(r for r in rows if r.step_id is None)
    assert eif.likely_on is None
    assert "No forecast for Japan" in eif.reason


def test_undated_completed_steps_are_no_evidence(make_agreement):
    for n in range(3):
        make_agreement(
            slug=f"undated-{n}",
            signed_on=D(2020, 1, 1),
            subjects=["defence logistics"],
            steps={
                "JP": [
                    StepInput(kind="signature", status="completed", date=D(2020, 1, 1)),
                    StepInput(
                        kind="legislative_approval",
                        status="completed",
                        body="House of Councillors",
                        source=SourceFactory(),
                    ),
                ]
            },
        )
    assert _step_row(_rows(_pending(make_agreement))).likely_on is None


def test_cases_shorter_than_the_time_already_spent_do_not_count(make_agreement):
    for n, days in enumerate([30, 40, 50, 300, 320, 340]):
        _history(make_agreement, f"past-{n}", D(2020, 1, 1), D(2020, 1, 1) + dt.timedelta(days))
    agreement = _pending(make_agreement)
    row = _step_row(_rows(agreement, today=D(2026, 3, 1)))  # 45 days after signature
    assert row.sample_size == 4  # 50, 300, 320, 340
    assert row.evidence["elapsed_days"] == 45
    assert row.likely_on >= D(2026, 3, 1)


def test_entry_into_force_goes_through_the_rule(make_agreement):
    for n, days in enumerate([100, 150, 200]):
        _history(make_agreement, f"past-{n}", D(2020, 1, 1), D(2020, 1, 1) + dt.timedelta(days))
    rows = _rows(_pending(make_agreement))
    step = _step_row(rows)
    eif = next(r for r in rows if r.step_id is None)
    assert eif.basis == "rule"
    # Philippines has nothing open: Japan's approval is the last notification; 30 days after.
    assert eif.likely_on == step.likely_on + dt.timedelta(days=30)
    assert eif.low_on == step.low_on + dt.timedelta(days=30)
    assert "30 days after the last notification" in eif.evidence["working"]


def test_scheduled_step_is_forecast_on_its_date(make_agreement):
    agreement = make_agreement(
        slug="scheduled",
        signed_on=D(2026, 1, 15),
        steps={
            "JP": [
                StepInput(kind="signature", status="completed", date=D(2026, 1, 15)),
                StepInput(
                    kind="legislative_approval",
                    status="scheduled",
                    date=D(2027, 3, 3),
                    body="House of Councillors",
                ),
            ]
        },
    )
    row = _step_row(_rows(agreement))
    assert (row.basis, row.likely_on, row.low_on, row.high_on) == (
        "scheduled",
        D(2027, 3, 3),
        D(2027, 3, 3),
        D(2027, 3, 3),
    )


# Calendars --------------------------------------------------------------------------------------


def test_a_vote_in_a_recess_moves_to_the_next_session(make_agreement, diet):
    add_session(diet, D(2026, 1, 5), D(2026, 3, 31))
    add_session(diet, D(2026, 9, 1), D(2026, 12, 15), kind="extraordinary")
    # 150 days after 2026-01-15 is 2026-06-14: a recess.
    for n, days in enumerate([100, 150, 200]):
        _history(make_agreement, f"past-{n}", D(2020, 1, 1), D(2020, 1, 1) + dt.timedelta(days))
    row = _step_row(_rows(_pending(make_agreement)))
    assert row.likely_on == D(2026, 9, 1)
    assert any(
        "moved to the next session's opening, 2026-09-01" in n for n in row.evidence["calendar"]
    )


def test_a_date_outside_the_calendar_is_kept_and_said(diet):
    book = CalendarBook()
    on, note = book.in_session_or_next(
        party_id=diet.party_id, body="House of Councillors", on=D(2028, 1, 10)
    )
    assert on == D(2028, 1, 10)
    assert "outside the JP National Diet calendar" in note


def test_a_date_in_session_is_not_moved(diet):
    add_session(diet, D(2026, 1, 5), D(2026, 3, 31))
    book = CalendarBook()
    assert book.in_session_or_next(
        party_id=diet.party_id, body="House of Councillors", on=D(2026, 2, 1)
    ) == (D(2026, 2, 1), "")


# Stored, recomputed, shown ----------------------------------------------------------------------


def test_recomputed_after_a_step_is_recorded(make_agreement):
    for n, days in enumerate([100, 150, 200]):
        _history(make_agreement, f"past-{n}", D(2020, 1, 1), D(2020, 1, 1) + dt.timedelta(days))
    agreement = _pending(make_agreement)
    forecasts_refresh(agreement_ids=[agreement.pk], today=D(2026, 1, 20))
    before = forecasts_for_agreement(agreement=agreement)
    assert [f.step.kind for f in before if f.step] == ["legislative_approval"]

    step = agreement.participations.get(party__code="JP").steps.get(kind="legislative_approval")
    step_record(
        step=step,
        status="completed",
        date=D(2026, 1, 19),
        source=SourceFactory(),
        today=D(2026, 1, 20),
    )
    tasks.agreement_changed(agreement.pk)

    after = forecasts_for_agreement(agreement=agreement)
    assert not [f for f in after if f.step_id == step.pk]
    # Forecasts change no status: refreshing them flags nothing.
    flagged = StatusChange.objects.count()
    forecasts_refresh(agreement_ids=[agreement.pk], today=D(2026, 1, 20))
    assert StatusChange.objects.count() == flagged


def test_refresh_is_idempotent_and_replaces_rows(make_agreement):
    agreement = _pending(make_agreement)
    first = forecasts_refresh(agreement_ids=[agreement.pk], today=D(2026, 1, 20))
    second = forecasts_refresh(agreement_ids=[agreement.pk], today=D(2026, 1, 20))
    assert first == second == Forecast.objects.filter(agreement=agreement).count()


def test_a_refresh_leaves_an_agreement_written_while_it_worked(make_agreement, monkeypatch):
    """Forecasts are worked out without a lock; an agreement changed during every attempt keeps
    what it had instead of getting forecasts of an old record."""
    from django.db.models import F

    agreement = _pending(make_agreement)
    other = _pending(make_agreement, slug="other-pending")
    forecasts_refresh(agreement_ids=[agreement.pk, other.pk], today=D(2026, 1, 20))
    kept = set(Forecast.objects.filter(agreement=agreement).values_list("pk", flat=True))
    assert kept
    labelled = forecasts.evidence_labelled

    def written_meanwhile(rows, table):
        Agreement.objects.filter(pk=agreement.pk).update(version=F("version") + 1)
        labelled(rows, table)

    monkeypatch.setattr(forecasts, "evidence_labelled", written_meanwhile)
    other_before = set(Forecast.objects.filter(agreement=other).values_list("pk", flat=True))
    forecasts_refresh(agreement_ids=[agreement.pk, other.pk], today=D(2026, 1, 21))
    assert set(Forecast.objects.filter(agreement=agreement).values_list("pk", flat=True)) == kept
    other_after = set(Forecast.objects.filter(agreement=other).values_list("pk", flat=True))
    assert other_after and other_after.isdisjoint(other_before)


def test_an_agreement_written_once_while_it_worked_is_worked_out_again(make_agreement, monkeypatch):
    """A write that queues no refresh of its own (a step's note) must not leave the forecasts
    of the write before it unstored: the refresh works such an agreement out again."""
    from django.db.models import F

    agreement = _pending(make_agreement)
    forecasts_refresh(agreement_ids=[agreement.pk], today=D(2026, 1, 20))
    before = set(Forecast.objects.filter(agreement=agreement).values_list("pk", flat=True))
    labelled = forecasts.evidence_labelled
    passes = []

    def written_during_the_first_pass(rows, table):
        if not passes:
            Agreement.objects.filter(pk=agreement.pk).update(version=F("version") + 1)
        passes.append(1)
        labelled(rows, table)

    monkeypatch.setattr(forecasts, "evidence_labelled", written_during_the_first_pass)
    stored = forecasts_refresh(agreement_ids=[agreement.pk], today=D(2026, 1, 21))
    after = set(Forecast.objects.filter(agreement=agreement).values_list("pk", flat=True))
    assert len(passes) == 2
    assert stored == len(after) > 0 and after.isdisjoint(before)


def test_the_daily_refresh_goes_on_past_a_chunk_that_meets_a_deadlock(make_agreement, monkeypatch):
    from django.db import OperationalError

    first = _pending(make_agreement)
    second = _pending(make_agreement, slug="second-pending")
    monkeypatch.setattr(forecasts, "REFRESH_CHUNK", 1)
    refresh = forecasts.forecasts_refresh

    class Deadlock(Exception):
        sqlstate = "40P01"

    def deadlocked_once(*, agreement_ids, **kwargs):
        if first.pk in agreement_ids:
            raise OperationalError("deadlock detected") from Deadlock()
        return refresh(agreement_ids=agreement_ids, **kwargs)

    monkeypatch.setattr(forecasts, "forecasts_refresh", deadlocked_once)
    counts = forecasts.forecasts_refresh_all(today=D(2026, 1, 20))
    assert counts["skipped"] == 1 and counts["agreements"] >= 1
    assert Forecast.objects.filter(agreement=second).exists()
    assert not Forecast.objects.filter(agreement=first).exists()
    # Anything else than a lock conflict (the database gone) still ends the run.

    def gone(*, agreement_ids, **kwargs):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(forecasts, "forecasts_refresh", gone)
    with pytest.raises(OperationalError):
        forecasts.forecasts_refresh_all(today=D(2026, 1, 20))


def test_daily_refresh_covers_open_agreements_only(make_agreement):
    open_one = _pending(make_agreement)
    done = _history(make_agreement, "done", D(2020, 1, 1), D(2020, 4, 1))
    # In force binds both parties: nothing of it is open, whatever steps stay pending.
    done.entered_into_force_on = D(2020, 5, 1)
    done.save(update_fields=["entered_into_force_on"])
    counts = forecasts.forecasts_refresh_all(today=D(2026, 1, 20))
    assert Forecast.objects.filter(agreement=open_one).exists()
    assert not Forecast.objects.filter(agreement=done).exists()
    assert counts["agreements"] >= 1


def test_api_detail_lists_forecasts_labelled_as_such(anon, make_agreement):
    for n, days in enumerate([100, 150, 200]):
        _history(make_agreement, f"past-{n}", D(2020, 1, 1), D(2020, 1, 1) + dt.timedelta(days))
    agreement = _pending(make_agreement)
    forecasts_refresh(agreement_ids=[agreement.pk], today=D(2026, 1, 20))
    body = anon.get(f"/api/v1/agreements/{agreement.slug}/").json()
    rows = body["forecasts"]
    assert {r["label"] for r in rows} == {"forecast"}
    step = next(r for r in rows if r["step_kind"] == "legislative_approval")
    assert step["party"] == "JP"
    assert step["basis"] == "party"
    assert step["median_days"] == 150
    assert step["samples"][0]["agreement"] == "past-2"
    assert step["likely_on"] == (D(2026, 1, 15) + dt.timedelta(days=150)).isoformat()
    eif = next(r for r in rows if r["step"] is None)
    assert eif["step_kind"] == "entry_into_force"


def test_page_shows_the_forecast_label_and_links_the_evidence(client, make_agreement):
    for n, days in enumerate([100, 150, 200]):
        _history(make_agreement, f"past-{n}", D(2020, 1, 1), D(2020, 1, 1) + dt.timedelta(days))
    agreement = _pending(make_agreement)
    forecasts_refresh(agreement_ids=[agreement.pk], today=D(2026, 1, 20))
    html = client.get(f"/agreements/{agreement.slug}/").content.decode()
    likely = (D(2026, 1, 15) + dt.timedelta(days=150)).isoformat()
    assert '<strong class="forecast__label">Forecast:</strong>' in html
    assert f'likely <time datetime="{likely}">' in html
    assert "80 %:" in html
    assert '<a href="/agreements/past-0/">' in html
    assert "<details" in html


def test_page_says_when_there_is_no_forecast(client, make_agreement):
    agreement = _pending(make_agreement)
    forecasts_refresh(agreement_ids=[agreement.pk], today=D(2026, 1, 20))
    html = client.get(f"/agreements/{agreement.slug}/").content.decode()
    assert "none. Not enough evidence" in html


def test_party_page_lists_its_next_forecast_steps(client, make_agreement):
    for n, days in enumerate([100, 150, 200]):
        _history(make_agreement, f"past-{n}", D(2020, 1, 1), D(2020, 1, 1) + dt.timedelta(days))
    agreement = _pending(make_agreement)
    forecasts_refresh(agreement_ids=[agreement.pk], today=TODAY)
    html = client.get("/parties/JP/").content.decode()
    likely = (SIGNED + dt.timedelta(days=150)).isoformat()
    assert "Forecast next steps" in html
    assert f'href="/agreements/{agreement.slug}/#forecasts-JP"' in html
    assert f'likely <time datetime="{likely}">' in html
    # The Philippines has no forecast step: no section on its page.
    assert "Forecast next steps" not in client.get("/parties/PH/").content.decode()


def test_overdue_scheduled_step_is_forecast_from_history(make_agreement):
    for n, days in enumerate([420, 450, 500, 550]):
        _history(make_agreement, f"past-{n}", D(2020, 1, 1), D(2020, 1, 1) + dt.timedelta(days))
    agreement = make_agreement(
        slug="overdue",
        signed_on=SIGNED,
        subjects=["defence logistics"],
        steps={
            "JP": [
                StepInput(kind="signature", status="completed", date=SIGNED),
                StepInput(
                    kind="legislative_approval",
                    status="scheduled",
                    date=D(2027, 3, 3),
                    body="House of Councillors",
                ),
            ]
        },
    )
    # Seen after the scheduled day (419 days after signature): overdue, so the record decides.
    row = _step_row(_rows(agreement, today=D(2027, 3, 10)))
    assert row.basis == "party"
    assert row.sample_size == 4
    assert row.evidence["median_days"] == 475
    assert row.likely_on == SIGNED + dt.timedelta(days=475)
    assert "overdue" in row.evidence["note"]


# Constitutional clocks --------------------------------------------------------------------------


def test_a_running_clock_bounds_the_step_it_waits_for(make_agreement, art61, crag, source):
    """Japan's Art. 61 (30 days in session from the House of Representatives' approval on 15
    January run out on 25 February) brings the Diet's approval by then at the latest; the UK's
    CRaG period means ratification comes no earlier than the day after it runs out."""
    from tests.ratification.clock_fixtures import gb_steps, jp_steps

    agreement = make_agreement(
        party_codes=["JP", "GB"],
        steps={
            "JP": jp_steps(lower_on=D(2026, 1, 15), source=source),
            "GB": gb_steps(laid_on=D(2026, 1, 6), source=source),
        },
    )
    steps = {s.body: s for s in RatificationStep.objects.filter(participation__agreement=agreement)}
    step_record(
        step=steps["House of Councillors"], status="scheduled", date=D(2026, 3, 10), today=TODAY
    )
    step_record(step=steps["Government"], status="scheduled", date=D(2026, 1, 21), today=TODAY)
    forecasts.forecasts_refresh(agreement_ids=[agreement.pk], today=TODAY)
    rows = {
        f.step.body: f for f in Forecast.objects.filter(agreement=agreement, step__isnull=False)
    }

    councillors = rows["House of Councillors"]
    assert councillors.likely_on == councillors.high_on == D(2026, 2, 25)
    assert any(
        "runs out on 2026-02-25: by then at the latest" in n
        for n in councillors.evidence["calendar"]
    )

    ratification = rows["Government"]
    runs_out = next(
        r.runs_out_on
        for r in forecasts.clocks_for_participations(
            participations=list(agreement.participations.filter(party__code="GB")), today=TODAY
        )
    )
    assert ratification.likely_on == ratification.low_on == runs_out + dt.timedelta(days=1)
    assert any("not before the day after" in n for n in ratification.evidence["calendar"])
