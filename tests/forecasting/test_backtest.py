"""The forecasts' backtest (forecasting.backtest, manage.py backtest_forecasts)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from forecasting import backtest, forecasts
from ratification.services import StepInput

D = dt.date
pytestmark = pytest.mark.django_db


def _history(make_agreement, slug, signed, days):
    return make_agreement(
        slug=slug,
        signed_on=signed,
        subjects=["defence logistics"],
        steps={
            "JP": [
                StepInput(kind="signature", status="completed", date=signed),
                StepInput(
                    kind="legislative_approval",
                    status="completed",
                    date=signed + dt.timedelta(days=days),
                    body="House of Councillors",
                ),
            ]
        },
    )


def _councillors_key() -> tuple:
    """The duration table's key for Japan's signature -> House of Councillors approval."""
    japan = forecasts.Party.objects.get(code="JP").pk
    return ("party", japan, "signature", "legislative_approval", "house of councillors")


def test_as_of_rolls_the_record_back(make_agreement):
    agreement = _history(make_agreement, "a", D(2020, 1, 1), 100)
    snapshot = forecasts.snapshot_of(forecasts._agreements_with_steps([agreement.pk]).get())
    rolled = backtest.as_of(snapshot, D(2020, 1, 1))
    japan = next(p for p in rolled.facts.parties if p.code == "JP")
    approval = next(s for s in japan.steps if s.kind == "legislative_approval")
    assert (approval.status, approval.date) == ("pending", None)
    assert rolled.facts.signed_on == D(2020, 1, 1)


def test_no_leakage_evidence_is_only_what_was_recorded_before(make_agreement):
    # Three cases finish in 2020; the fourth agreement is signed on 2020-03-01, before two of
    # them finished: on that day only one case was known, so it gets no forecast.
    _history(make_agreement, "a", D(2020, 1, 1), 30)  # done 2020-01-31
    _history(make_agreement, "b", D(2020, 1, 1), 100)  # done 2020-04-10
    _history(make_agreement, "c", D(2020, 1, 1), 120)  # done 2020-04-30
    _history(make_agreement, "d", D(2020, 3, 1), 60)
    # A later agreement, signed when a, b, c and d were all known, and the record old enough
    # (two years) to have shown cases as slow as its range.
    _history(make_agreement, "e", D(2022, 1, 1), 90)
    report = backtest.backtest()
    group = report.groups[("Japan", "legislative_approval (House of Councillors)")]
    assert group.cases == 5
    # a, b, c: fewer than 3 earlier cases; d: only a was known on 2020-03-01; e: a, b, c, d.
    assert group.forecast == 1
    table = forecasts.DurationTable.build()
    key = _councillors_key()
    known = table.durations(key, exclude_agreement=0, known_by=D(2020, 3, 1), longer_than=-1)
    assert len(known) == 1
    # Strictly before: a case completed on the day itself is not yet known.
    assert (
        len(table.durations(key, exclude_agreement=0, known_by=D(2020, 1, 31), longer_than=-1)) == 0
    )


def test_a_record_too_young_for_slow_cases_gives_no_forecast(make_agreement):
    """Cases finished within five months of the record's first anchor can only be quick ones:
    a range read from them would be too short (the backtest's first years held two thirds)."""
    for n, days in enumerate([30, 60, 100, 120]):
        _history(make_agreement, f"h{n}", D(2020, 1, 1), days)
    _history(make_agreement, "young", D(2020, 6, 1), 90)
    _history(make_agreement, "old", D(2022, 6, 1), 90)
    report = backtest.backtest()
    group = report.groups[("Japan", "legislative_approval (House of Councillors)")]
    # h0-h3: too few earlier cases; young: a record begun 152 days before; old: a forecast.
    assert (group.cases, group.forecast) == (6, 1)
    table = forecasts.DurationTable.build()
    assert table.record_age([_councillors_key()], D(2020, 6, 1)) == 152
    young = forecasts.Agreement.objects.get(slug="young")
    snapshot = forecasts.snapshot_of(forecasts._agreements_with_steps([young.pk]).get())
    rows = forecasts.forecast_snapshot(
        backtest.as_of(snapshot, D(2020, 6, 1)),
        table=table,
        calendars=forecasts.CalendarBook(),
        as_of=D(2020, 6, 1),
        labelled=False,
    )
    row = next(r for r in rows if r.kind == "legislative_approval")
    assert row.likely_on is None
    assert row.reason.startswith(
        "Not enough evidence: fewer than 3 recorded cases of Signature → Legislative approval "
        "(House of Councillors), or a record too young to hold slow ones (4 for Japan, its "
        "record too young (152 days); 4 for agreements of the same subject"
    )


def test_a_record_is_as_old_as_the_cases_finished_by_the_day(make_agreement):
    """A case begun long before but finished after the day was not in the record then: it does
    not make the record older (no leakage from the future)."""
    for n, days in enumerate([30, 60, 100, 120]):
        _history(make_agreement, f"h{n}", D(2020, 1, 1), days)
    _history(make_agreement, "ancient", D(2015, 1, 1), 2000)  # finished on 2020-06-23
    table = forecasts.DurationTable.build()
    key = _councillors_key()
    assert table.record_age([key], D(2020, 6, 1)) == 152
    assert table.record_age([key], D(2020, 7, 1)) == (D(2020, 7, 1) - D(2015, 1, 1)).days
    assert table.record_age([key], D(2019, 1, 1)) is None
    assert table.record_age([("party", 0, "nothing")], D(2020, 7, 1)) is None


def test_a_long_reason_is_cut_after_a_whole_level():
    reason = (
        "Not enough evidence: (" + "; ".join(f"{n} for level {n}" * 8 for n in range(20)) + ")."
    )
    clipped = forecasts._clipped(reason, 500)
    assert len(clipped) <= 500
    assert clipped.endswith("; …).")
    assert reason.startswith(clipped[: -len("; …).")])
    assert forecasts._clipped("short", 500) == "short"


@pytest.mark.parametrize("block", [1, 2, 64])
def test_evidence_is_the_most_recent_cases_before_the_day(make_agreement, monkeypatch, block):
    """A level's evidence is at most RECENT_CASES of its cases, the newest completed before the
    day asked about, newest first; older ones, and the agreement forecast, are left out. The
    same whatever the blocks the search skips (SPAN_BLOCK)."""
    monkeypatch.setattr(forecasts, "SPAN_BLOCK", block)
    for n, days in enumerate([10, 20, 30, 40, 50]):
        _history(make_agreement, f"r{n}", D(2020, 1, 1) + dt.timedelta(days=100 * n), days)
    table = forecasts.DurationTable.build()
    key = _councillors_key()
    days = [
        table.days(i)
        for i in table.durations(key, exclude_agreement=0, known_by=D(2022, 1, 1), longer_than=-1)
    ]
    assert days == [50, 40, 30, 20, 10]
    newest_three = table.durations(
        key, exclude_agreement=0, known_by=D(2022, 1, 1), longer_than=-1, most=3
    )
    assert [table.days(i) for i in newest_three] == [50, 40, 30]
    # Before r4 finished (2021-03-26), and without r3's own case.
    r3 = forecasts.Agreement.objects.get(slug="r3").pk
    before = table.durations(key, exclude_agreement=r3, known_by=D(2021, 2, 1), longer_than=15)
    assert [table.days(i) for i in before] == [30, 20]


def test_scores_hold_and_error(make_agreement):
    for n, days in enumerate([100, 110, 120, 130]):
        _history(make_agreement, f"h{n}", D(2020, 1, 1) + dt.timedelta(days=200 * n), days)
    report = backtest.backtest()
    group = report.groups[("Japan", "legislative_approval (House of Councillors)")]
    # Only the fourth has three earlier cases: median 110 days, real 130 → error 20.
    assert (group.forecast, group.errors) == (1, [20])
    assert group.held == 1


def test_command_writes_the_doc(tmp_path, make_agreement):
    for n, days in enumerate([100, 110, 120, 130]):
        _history(make_agreement, f"h{n}", D(2020, 1, 1) + dt.timedelta(days=200 * n), days)
    doc = tmp_path / "forecasts.md"
    doc.write_text(
        "# Head\n<!-- backtest:demo:start -->\nold\n<!-- backtest:demo:end -->\nTail\n",
        encoding="utf-8",
    )
    call_command("backtest_forecasts", "--doc", str(doc))
    text = doc.read_text(encoding="utf-8")
    assert "old" not in text
    assert text.startswith("# Head\n<!-- backtest:demo:start -->\nReplayed on the")
    assert (
        "| Japan | legislative_approval (House of Councillors) | 4 | 1 | 100 % (1/1) | 20 |" in text
    )
    assert text.endswith("<!-- backtest:demo:end -->\nTail\n")


def test_command_refuses_a_doc_without_markers(tmp_path):
    doc = tmp_path / "forecasts.md"
    doc.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(CommandError, match="markers"):
        call_command("backtest_forecasts", "--doc", str(doc))
    with pytest.raises(CommandError, match="label"):
        call_command("backtest_forecasts", "--doc", str(doc), "--label", "other")


def test_a_long_report_lists_its_busiest_rows_and_sums_the_rest():
    report = backtest.Report()
    for n, (party, forecast, held) in enumerate([("A", 10, 8), ("B", 5, 4), ("C", 2, 1)]):
        group = backtest.Group(party, "signature", cases=forecast + 1, forecast=forecast, held=held)
        group.errors = [n + 1] * forecast
        report.groups[(party, "signature")] = group
    text = backtest.report_markdown(report, most=1)
    assert "| A | signature | 11 | 10 | 80 % (8/10) | 1 |" in text
    assert "| B |" not in text and "| C |" not in text
    assert "| *2 other party and step pairs* | | 9 | 7 | 71 % (5/7) | 2 |" in text
    assert "| B | signature |" in backtest.report_markdown(report)
