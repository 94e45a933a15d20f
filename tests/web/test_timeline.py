"""The agreement page's timeline: its geometry (pure, no database) and the page that draws it."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from parties.models import Legislature
from ratification.models import RatificationStep
from ratification.services import step_record
from tests.conftest import TODAY
from tests.parties.calendar_fixtures import add_session
from web import timeline as tl
from web.timeline import Bar, Lane, Mark, Range, Shade

D = dt.date
SVG = "{http://www.w3.org/2000/svg}"


# Geometry -------------------------------------------------------------------------------------


def test_scale_maps_the_first_and_last_day_to_the_ends_and_is_linear():
    scale = tl.Scale(D(2026, 1, 1), D(2026, 1, 11), 10, 110)
    assert scale.x(D(2026, 1, 1)) == 10
    assert scale.x(D(2026, 1, 11)) == 110
    assert scale.x(D(2026, 1, 6)) == 60
    assert scale.clamp(D(2025, 6, 1)) == 10 and scale.clamp(D(2027, 1, 1)) == 110


def test_scale_of_a_single_day_does_not_divide_by_zero():
    scale = tl.Scale(D(2026, 1, 1), D(2026, 1, 1), 0, 100)
    assert scale.x(D(2026, 1, 1)) == 0


def test_range_covers_every_event_and_today_with_padding():
    lanes = [
        Lane("JP", "Japan", marks=[Mark(D(2024, 1, 10), "Signature", "completed")]),
        Lane("PH", "Philippines", marks=[Mark(D(2026, 6, 1), "Senate", "scheduled")]),
    ]
    start, end = tl.date_range(lanes, today=D(2025, 3, 1))
    assert start < D(2024, 1, 10) and end > D(2026, 6, 1)
    # Padding is a few percent, not a year.
    assert (D(2024, 1, 10) - start).days < 60


def test_range_includes_today_when_every_event_is_in_the_past():
    lanes = [Lane("JP", "Japan", marks=[Mark(D(2020, 1, 1), "Signature", "completed")])]
    start, end = tl.date_range(lanes, today=D(2026, 1, 20))
    assert start < D(2020, 1, 1) and end > D(2026, 1, 20)


def test_one_day_range_is_widened_to_a_month_around_it():
    lanes = [Lane("JP", "Japan", marks=[Mark(TODAY, "Signature", "completed")])]
    start, end = tl.date_range(lanes, today=TODAY)
    assert (end - start).days >= tl.MIN_SPAN_DAYS
    assert start < TODAY < end


@pytest.mark.parametrize("phase", range(7))
def test_a_period_is_the_seven_days_around_today_and_the_same_on_each(phase):
    today = D(2026, 12, 6)
    first, end = tl.shown_period(today, phase=phase)
    assert first <= today < end == first + dt.timedelta(days=tl.PERIOD_DAYS)
    assert (first.toordinal() - phase) % 7 == 0
    for day in (first + dt.timedelta(days=n) for n in range(7)):
        assert tl.shown_period(day, phase=phase) == (first, end)
    assert tl.shown_period(end, phase=phase)[0] == end


def test_periods_end_on_every_day_of_the_week_as_the_phase_varies():
    ends = {tl.shown_period(D(2026, 12, 6), phase=pk)[1].weekday() for pk in range(1, 8)}
    assert ends == set(range(7))


def test_a_picture_for_a_period_is_the_same_on_each_of_its_days_but_for_today():
    lanes = [Lane("JP", "Japan", marks=[Mark(D(2024, 1, 10), "Signature", "completed")])]
    first, end = tl.shown_period(D(2026, 12, 6), phase=3)
    drawn = [
        tl.timeline_layout(lanes=lanes, today=first + dt.timedelta(days=n), period=(first, end))
        for n in range(7)
    ]
    assert {(t.start, t.end, tuple(t.ticks)) for t in drawn} == {
        (drawn[0].start, drawn[0].end, tuple(drawn[0].ticks))
    }
    assert drawn[0].end > end  # every day of the period, the last included, is inside
    assert len({t.today_x for t in drawn}) == 7


def test_todays_line_moved_is_the_line_drawn_on_that_day():
    lanes = [Lane("JP", "Japan", marks=[Mark(D(2024, 1, 10), "Signature", "completed")])]
    first, end = tl.shown_period(D(2026, 12, 6), phase=5)
    built = tl.timeline_layout(lanes=lanes, today=first, period=(first, end))
    page = f"<p>before</p><svg>{built.today_mark}</svg><p>after</p>"
    for n in range(7):
        day = first + dt.timedelta(days=n)
        drawn = tl.timeline_layout(lanes=lanes, today=day, period=(first, end))
        assert (
            tl.today_mark_moved(page, day)
            == f"<p>before</p><svg>{drawn.today_mark}</svg><p>after</p>"
        )
        assert f"Today, {day.isoformat()}" in drawn.today_mark
    assert tl.without_today_mark(page) == "<p>before</p><svg></svg><p>after</p>"
    # Whatever numbers the scale is written with.
    scale = tl.Scale(first, end + dt.timedelta(days=30), -3.5, 1e-05)
    odd = f"<svg>{tl.today_mark(scale=scale, label_y=-2, axis_y=97.25, today=first)}</svg>"
    moved = tl.today_mark_moved(odd, first + dt.timedelta(days=2))
    expected = tl.today_mark(
        scale=scale, label_y=-2, axis_y=97.25, today=first + dt.timedelta(days=2)
    )
    assert moved == f"<svg>{expected}</svg>"
    # Outside the picture (never served so): the line is left out, the group kept.
    moved = tl.today_mark_moved(page, built.end + dt.timedelta(days=1))
    assert "tl-today-mark" in moved and "Today" not in moved


def test_sessions_do_not_widen_the_picture():
    mark = Mark(D(2026, 1, 10), "Signature", "completed")
    plain = tl.date_range([Lane("JP", "Japan", marks=[mark])], today=TODAY)
    shaded = tl.date_range(
        [Lane("JP", "Japan", marks=[mark], shades=[Shade(D(2000, 1, 1), D(2030, 1, 1), "S")])],
        today=TODAY,
    )
    assert plain == shaded


def test_empty_agreement_still_draws_an_axis_and_today():
    t = tl.timeline_layout(lanes=[], today=TODAY)
    assert t.lanes == [] and t.rows == []
    assert t.today_x is not None and t.ticks
    assert t.start < TODAY < t.end
    assert t.description.startswith("Nothing is recorded yet")


@pytest.mark.parametrize(("unit", "step"), [("day", 1), ("day", 7), ("month", 1), ("year", 1)])
def test_a_step_too_fine_is_told_without_listing_the_whole_span(unit, step):
    """Choosing the ticks of a century-long record lists at most limit + 1 candidates per
    step, the first ones, in order; a step that fits lists them all."""
    start, end = D(1926, 3, 4), D(2026, 3, 4)
    days = tl._tick_days(start, end, unit, step, 8)
    assert len(days) == 9 and days == sorted(days) and days[0] >= start
    every = tl._tick_days(start, end, unit, step, 10**6)
    assert every[:9] == days and len(every) > 9
    assert tl._tick_days(start, end, "year", 20, 8) == [D(y, 1, 1) for y in range(1940, 2021, 20)]


@pytest.mark.parametrize(
    ("start", "end", "first_label"),
    [
        (D(2026, 1, 1), D(2026, 1, 5), "1 Jan"),  # days
        (D(2026, 1, 1), D(2026, 2, 15), None),  # weeks (Mondays)
        (D(2025, 1, 15), D(2026, 1, 15), "Mar 2025"),  # every other month
        (D(1990, 6, 1), D(2026, 1, 1), None),  # years
    ],
)
def test_ticks_are_round_days_and_few(start, end, first_label):
    scale = tl.Scale(start, end, 0, 700)
    ticks = tl.ticks(scale)
    assert 2 <= len(ticks) <= tl.MAX_TICKS
    assert all(start <= t.on <= end for t in ticks)
    xs = [t.x for t in ticks]
    assert xs == sorted(xs) and all(0 <= x <= 700 for x in xs)
    if first_label:
        assert ticks[0].label == first_label
    spans = (end - start).days
    if spans > 400:
        assert all(t.on.month == 1 and t.on.day == 1 for t in ticks)
        assert all(t.label.isdigit() for t in ticks)
    elif spans > 60:
        assert all(t.on.day == 1 for t in ticks)
    elif spans > 10:
        assert all(t.on.weekday() == 0 for t in ticks)


def test_every_other_tick_is_minor_and_edge_labels_point_inwards():
    ticks = tl.ticks(tl.Scale(D(2025, 12, 31), D(2026, 12, 31), 0, 700))
    assert [t.minor for t in ticks[:3]] == [False, True, False]
    assert ticks[0].anchor == "start"


def test_lanes_stack_and_marks_sit_on_their_lane():
    lanes = [
        Lane("JP", "Japan", marks=[Mark(D(2026, 1, 5), "Signature", "completed")]),
        Lane("PH", "Philippines", marks=[Mark(D(2026, 3, 1), "Senate", "scheduled")]),
    ]
    t = tl.timeline_layout(lanes=lanes, today=TODAY)
    japan, philippines = t.lanes
    assert philippines.top == japan.top + tl.LANE_HEIGHT
    assert japan.marks[0].y == japan.middle and philippines.marks[0].y == philippines.middle
    assert japan.marks[0].x < t.today_x < philippines.marks[0].x
    assert t.axis_y > philippines.top + tl.LANE_HEIGHT - 1
    assert t.height > t.axis_y


def test_undated_steps_are_listed_not_drawn():
    lanes = [
        Lane(
            "JP",
            "Japan",
            marks=[
                Mark(None, "Cabinet approval", "completed"),
                Mark(D(2026, 1, 5), "Signature", "completed"),
            ],
        )
    ]
    t = tl.timeline_layout(lanes=lanes, today=TODAY)
    assert [m.mark.label for m in t.lanes[0].marks] == ["Signature"]
    assert t.undated == 1
    assert t.rows[-1].on is None and t.rows[-1].what == "Cabinet approval"
    assert "1 without a recorded date" in t.description


def test_marks_on_the_same_day_are_staggered():
    day = D(2026, 1, 5)
    lanes = [Lane("JP", "Japan", marks=[Mark(day, "A", "completed"), Mark(day, "B", "completed")])]
    t = tl.timeline_layout(lanes=lanes, today=TODAY)
    first, second = t.lanes[0].marks
    assert first.x == second.x and first.y != second.y


def test_bars_run_to_their_deadline_or_the_edge():
    lanes = [
        Lane(
            "JP",
            "Japan",
            bars=[
                Bar("JP", D(2026, 1, 5), D(2026, 2, 4), "Art. 61: 30 days"),
                Bar("JP", D(2026, 1, 10), None, "CRaG: 21 sitting days"),
            ],
        )
    ]
    t = tl.timeline_layout(lanes=lanes, today=TODAY)
    closed, open_ = t.lanes[0].bars
    scale = tl.Scale(t.start, t.end, t.plot_left, t.plot_right)
    assert closed.x == scale.x(D(2026, 1, 5))
    assert closed.x + closed.width == pytest.approx(scale.x(D(2026, 2, 4)))
    assert not closed.open_end and "runs out 2026-02-04" in closed.title
    assert open_.open_end and open_.x + open_.width == pytest.approx(t.plot_right)
    assert "end not yet known" in open_.title


def test_forecast_ranges_are_shaded_with_their_most_likely_day_and_marked_tentative():
    rng = Range(None, D(2026, 4, 1), D(2026, 6, 1), D(2026, 9, 1), "Entry into force")
    t = tl.timeline_layout(lanes=[Lane(None, "Agreement", ranges=[rng])], today=TODAY)
    drawn = t.lanes[0].ranges[0]
    assert drawn.kind == "tentative"
    assert drawn.x < drawn.x_likely < drawn.x + drawn.width
    assert "forecast" in drawn.title and "most likely 2026-06-01" in drawn.title
    assert t.rows[0].state == "Forecast"


def test_sessions_are_clipped_to_the_picture():
    mark = Mark(D(2026, 1, 10), "Signature", "completed")
    lanes = [
        Lane(
            "JP",
            "Japan",
            marks=[mark],
            shades=[
                Shade(D(2020, 1, 1), D(2026, 1, 12), "Long session"),
                Shade(D(1990, 1, 1), D(1990, 2, 1), "Long ago"),
                Shade(D(2026, 1, 15), D(2026, 1, 18), "Assumed", assumed=True),
            ],
        )
    ]
    t = tl.timeline_layout(lanes=lanes, today=TODAY)
    shades = t.lanes[0].shades
    assert [s.kind for s in shades] == ["session", "assumed"]
    assert shades[0].x == t.plot_left
    assert "assumed" in shades[1].title


def test_rows_are_in_date_order_with_undated_last():
    lanes = [
        Lane(
            "JP",
            "Japan",
            marks=[
                Mark(D(2026, 3, 1), "Later", "scheduled"),
                Mark(None, "Undated", "completed"),
                Mark(D(2026, 1, 1), "Earlier", "completed"),
            ],
        )
    ]
    rows = tl.timeline_layout(lanes=lanes, today=TODAY).rows
    assert [r.what for r in rows] == ["Earlier", "Later", "Undated"]
    assert [r.state for r in rows] == ["Completed", "Scheduled", "Completed"]


# The page -------------------------------------------------------------------------------------


@pytest.fixture
def today(monkeypatch):
    """The pages read today's date; the tests' agreements are made as of TODAY."""
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)
    return TODAY


def _svg(response) -> ET.Element:
    html = response.content.decode()
    start = html.index('<svg class="tl-svg"')
    end = html.index("</svg>", start) + len("</svg>")
    return ET.fromstring(html[start:end])


@pytest.mark.django_db
def test_agreement_page_draws_the_timeline_with_steps_sessions_and_today(
    client, make_agreement, source, today
):
    agreement = make_agreement(signed_on=D(2025, 12, 1))
    japan = agreement.participations.get(party__code="JP")
    steps = list(japan.steps.order_by("order"))
    scheduled = next(s for s in steps if s.status == "pending")
    step_record(
        step=scheduled, status="scheduled", date=D(2026, 3, 2), body="Diet <&> Senate", today=TODAY
    )
    diet = Legislature.objects.create(
        party=japan.party,
        name="National Diet",
        calendar_starts_on=D(2025, 1, 1),
        calendar_ends_on=D(2026, 12, 31),
    )
    add_session(diet, D(2026, 1, 5), D(2026, 6, 3), name="220th ordinary session")

    response = client.get(f"/agreements/{agreement.slug}/")
    assert response.status_code == 200
    svg = _svg(response)
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "tl-svg-title tl-svg-desc"
    assert svg.find(f"{SVG}title").text.startswith("Timeline of")
    titles = [t.text for t in svg.iter(f"{SVG}title")]
    assert any(t.startswith("220th ordinary session: 2026-01-05 to 2026-06-03") for t in titles)
    # Text is escaped: the SVG parses, and the body reads as written.
    assert any(t.endswith("(Diet <&> Senate): scheduled, 2026-03-02") for t in titles)
    assert any(t.startswith("Signed: signed, 2025-12-01") for t in titles)
    assert "Today, 2026-01-20" in titles
    assert svg.find(f".//{SVG}circle[@class='tl-mark tl-mark--scheduled']") is not None
    assert svg.find(f".//{SVG}rect[@class='tl-shade tl-shade--session']") is not None
    # No inline styles anywhere (the CSP forbids them).
    assert not [e for e in svg.iter() if "style" in e.attrib]
    html = response.content.decode()
    assert "The timeline as a table" in html
    assert 'href="#timeline"' in html
    # The sessions shaded are listed on the party's calendar page, linked from the table.
    assert "Shaded in Japan's lane" in html and 'href="/parties/JP/calendar/"' in html


@pytest.mark.django_db
def test_agreement_page_lists_an_undated_completed_step_as_date_not_recorded(
    client, make_agreement, source, today
):
    agreement = make_agreement()
    step = agreement.participations.get(party__code="JP").steps.order_by("order").first()
    RatificationStep.objects.filter(pk=step.pk).update(status="completed", date=None)
    response = client.get(f"/agreements/{agreement.slug}/")
    assert response.status_code == 200
    table = response.content.decode().split('class="tl-table"')[1].split("</table>")[0]
    assert "date not recorded" in table
    assert "without a recorded date" in _svg(response).find(f"{SVG}desc").text


@pytest.mark.django_db
def test_agreement_page_with_nothing_dated_draws_an_empty_timeline(client, make_agreement, today):
    agreement = make_agreement()
    response = client.get(f"/agreements/{agreement.slug}/")
    svg = _svg(response)
    assert svg.find(f".//{SVG}line[@class='tl-today']") is not None
    assert "No dated event is recorded yet." in response.content.decode()


@pytest.mark.django_db
def test_timeline_takes_clocks_and_forecasts_as_records(make_agreement, today):
    """The integrator feeds clocks as Bars and forecasts as Ranges; both land in their lanes."""
    from web.selectors import agreement_dossier

    agreement = make_agreement()
    dossier = agreement_dossier(slug=agreement.slug, today=TODAY)
    t = tl.agreement_timeline(
        progress=dossier.progress,
        today=TODAY,
        bars=[Bar("JP", D(2026, 1, 10), D(2026, 2, 9), "Art. 61", kind="running")],
        ranges=[
            Range("PH", D(2026, 5, 1), D(2026, 6, 1), D(2026, 8, 1), "Senate concurrence"),
            Range(None, D(2026, 7, 1), None, D(2026, 10, 1), "Entry into force"),
            Range("ZZ", D(2026, 7, 1), None, D(2026, 10, 1), "No such lane"),
        ],
    )
    by_key = {lane.key: lane for lane in t.lanes}
    assert by_key["JP"].bars[0].kind == "running"
    assert by_key["PH"].ranges[0].kind == "tentative"
    assert by_key[None].ranges[0].x_likely is None
    assert "No such lane" not in [r.what for r in t.rows]
    assert "Clock running" in [r.state for r in t.rows]


@pytest.mark.django_db
def test_timeline_costs_one_query_for_sessions(make_agreement, django_assert_num_queries, today):
    from web.selectors import agreement_dossier

    dossier = agreement_dossier(slug=make_agreement().slug, today=TODAY)
    with django_assert_num_queries(1):
        tl.agreement_timeline(progress=dossier.progress, today=TODAY)


@pytest.mark.django_db
def test_agreement_page_shades_its_stored_forecasts(client, make_agreement, today):
    """A party's stored forecast is a dashed range in its lane, named as a forecast."""
    from ratification.models import Forecast

    agreement = make_agreement(signed_on=D(2025, 12, 1))
    step = agreement.participations.get(party__code="JP").steps.filter(status="pending").first()
    Forecast.objects.filter(step=step).delete()
    Forecast.objects.create(
        agreement=agreement,
        party=step.participation.party,
        step=step,
        likely_on=D(2026, 6, 1),
        low_on=D(2026, 4, 1),
        high_on=D(2026, 9, 1),
        basis="party",
        sample_size=4,
        computed_at=timezone.now(),
    )
    svg = _svg(client.get(f"/agreements/{agreement.slug}/"))
    assert svg.find(f".//{SVG}rect[@class='tl-range tl-range--tentative']") is not None
    titles = [t.text for t in svg.iter(f"{SVG}title")]
    assert any(f"{step.get_kind_display()}" in t and "(forecast)" in t for t in titles), titles


@pytest.mark.django_db
def test_agreement_page_draws_a_running_clock_as_a_bar_to_its_deadline(
    client, art61, make_agreement, source, today
):
    from tests.ratification.clock_fixtures import jp_steps

    agreement = make_agreement(steps={"JP": jp_steps(lower_on=D(2026, 1, 15), source=source)})
    svg = _svg(client.get(f"/agreements/{agreement.slug}/"))
    bar = svg.find(f".//{SVG}rect[@class='tl-bar tl-bar--running']")
    assert bar is not None
    assert bar.find(f"{SVG}title").text.startswith("Art. 61 with Art. 60(2): ")
    assert "runs out 2026-02-25" in bar.find(f"{SVG}title").text


def test_a_span_of_centuries_gets_every_tick_of_the_coarsest_step():
    """Past what even a century's step fits in MAX_TICKS, its ticks run to the span's end."""
    scale = tl.Scale(D(1020, 5, 1), D(2026, 12, 3), 0, 700)
    assert [t.on.year for t in tl.ticks(scale)] == list(range(1100, 2001, 100))
