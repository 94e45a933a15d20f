"""iCalendar feeds (notify/calendars.py): per agreement, per party, per search. Every feed is read
back with a real iCalendar parser (the `icalendar` library)."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from django.utils import timezone

from agreements.models import Agreement
from notify import calendars
from notify.models import Follow
from ratification.models import Forecast, RatificationStep
from ratification.services import step_record
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture(autouse=True)
def today(monkeypatch):
    """The feeds read today's date; the tests' agreements are made as of TODAY."""
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)
    return TODAY


def parse(response) -> icalendar.Calendar:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


def events(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def first_pending(agreement, code="JP") -> RatificationStep:
    steps = agreement.participations.get(party__code=code).steps.order_by("order")
    return steps.filter(status="pending").first()


@pytest.fixture
def acsa(make_agreement):
    """A JP–PH agreement in force on a fixed date ahead, with a step of Japan's scheduled."""
    agreement = make_agreement(
        short_name="ACSA",
        signed_on=D(2025, 12, 1),
        eif_rule="on_date",
        eif_fixed_on=D(2026, 4, 1),
    )
    step = first_pending(agreement)
    step_record(step=step, status="scheduled", date=D(2026, 3, 2), today=TODAY)
    return agreement


def test_agreement_feed_has_the_scheduled_step_and_expected_entry_into_force(client, acsa):
    step = RatificationStep.objects.get(participation__agreement=acsa, status="scheduled")
    cal = parse(client.get(f"/agreements/{acsa.slug}/calendar.ics"))
    assert cal["VERSION"] == "2.0" and "Pact Tracker" in str(cal["PRODID"])
    assert str(cal["X-PUBLISHED-TTL"]) == "PT6H"
    assert cal.decoded("REFRESH-INTERVAL") == dt.timedelta(hours=6)
    assert "Japan–Philippines ACSA" in str(cal["X-WR-CALNAME"])
    found = events(cal)
    event = found[f"step-{step.pk}@pacttracker"]
    # All-day: a DATE, not a DATE-TIME, ending the next day.
    assert type(event.decoded("DTSTART")) is dt.date
    assert event.decoded("DTSTART") == D(2026, 3, 2)
    assert event.decoded("DTEND") == D(2026, 3, 3)
    assert "DTSTART;VALUE=DATE:20260302" in response_text(client, acsa)
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]).startswith("JP, scheduled: ")
    assert str(event["URL"]).startswith("http://testserver/agreements/")
    assert str(event["URL"]).endswith(f"#step-{step.pk}")
    eif = found[f"eif-{acsa.pk}@pacttracker"]
    assert eif.decoded("DTSTART") == D(2026, 4, 1)
    assert str(eif["SUMMARY"]).startswith("Expected to enter into force")
    for e in found.values():
        assert isinstance(e.decoded("DTSTAMP"), dt.datetime)
        assert e.decoded("DTSTAMP") == e.decoded("LAST-MODIFIED")
        assert e.decoded("DTSTAMP").tzinfo is not None


def response_text(client, agreement) -> str:
    return client.get(f"/agreements/{agreement.slug}/calendar.ics").content.decode()


def test_uids_are_stable_and_an_edit_replaces_the_event(client, acsa):
    step = RatificationStep.objects.get(participation__agreement=acsa, status="scheduled")
    uid = f"step-{step.pk}@pacttracker"
    url = f"/agreements/{acsa.slug}/calendar.ics"
    before = events(parse(client.get(url)))
    assert client.get(url).content == client.get(url).content  # same data, same bytes

    step_record(step=step, status="scheduled", date=D(2026, 3, 9), today=TODAY)
    after = events(parse(client.get(url)))
    assert set(after) == set(before)
    assert after[uid].decoded("DTSTART") == D(2026, 3, 9)
    assert after[uid]["SEQUENCE"] > before[uid]["SEQUENCE"]
    assert after[uid].decoded("LAST-MODIFIED") >= before[uid].decoded("LAST-MODIFIED")


def test_a_recent_outcome_stays_with_its_result_and_an_old_one_leaves(client, acsa, source):
    step = RatificationStep.objects.get(participation__agreement=acsa, status="scheduled")
    step_record(step=step, status="completed", date=D(2026, 1, 15), source=source, today=TODAY)
    found = events(parse(client.get(f"/agreements/{acsa.slug}/calendar.ics")))
    assert str(found[f"step-{step.pk}@pacttracker"]["SUMMARY"]).startswith("JP, done: ")

    RatificationStep.objects.filter(pk=step.pk).update(
        date=TODAY - dt.timedelta(days=calendars.RECENT_DAYS + 1)
    )
    found = events(parse(client.get(f"/agreements/{acsa.slug}/calendar.ics")))
    assert f"step-{step.pk}@pacttracker" not in found


@pytest.mark.parametrize(
    ("entered", "summary"),
    [
        (D(2026, 1, 10), "Entered into force — "),  # recent
        (D(2026, 2, 10), "Enters into force — "),  # recorded, ahead
        (D(2025, 6, 1), None),  # long ago: not in the calendar
    ],
)
def test_a_recorded_entry_into_force_is_an_event_while_recent_or_ahead(
    client, make_agreement, entered, summary
):
    agreement = make_agreement(signed_on=D(2025, 1, 1))
    Agreement.objects.filter(pk=agreement.pk).update(entered_into_force_on=entered)
    found = events(parse(client.get(f"/agreements/{agreement.slug}/calendar.ics")))
    event = found.get(f"eif-{agreement.pk}@pacttracker")
    if summary is None:
        assert event is None
    else:
        assert str(event["SUMMARY"]).startswith(summary)
        assert event.decoded("DTSTART") == entered


def test_text_is_escaped_and_long_lines_folded(client, make_agreement):
    note = "Vote: 2/3, needed; see Art. 61\nSecond line " + "long " * 40
    agreement = make_agreement(title="Treaty, with; commas \\ and backslash")
    step = first_pending(agreement)
    step_record(step=step, status="scheduled", date=D(2026, 2, 2), note=note, today=TODAY)
    response = client.get(f"/agreements/{agreement.slug}/calendar.ics")
    raw = response.content
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    assert b"\\," in raw and b"\\;" in raw and b"\\n" in raw
    event = events(parse(response))[f"step-{step.pk}@pacttracker"]
    description = str(event["DESCRIPTION"])
    assert note in description
    assert "Treaty, with; commas \\ and backslash" in description


def test_unknown_agreement_or_party_is_404(client):
    assert client.get("/agreements/nope/calendar.ics").status_code == 404
    assert client.get("/parties/ZZ/agreements.ics").status_code == 404


def test_conditional_get_answers_304(client, acsa):
    url = f"/agreements/{acsa.slug}/calendar.ics"
    response = client.get(url)
    assert response["ETag"] and response["Last-Modified"]
    again = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again.content == b""


def test_party_feed_holds_the_agreements_of_that_party_only(client, acsa, make_agreement):
    other = make_agreement(party_codes=["US", "PH"], short_name="MDT")
    step_record(
        step=first_pending(other, "US"), status="scheduled", date=D(2026, 5, 5), today=TODAY
    )
    japan = parse(client.get("/parties/jp/agreements.ics"))
    summaries = [str(e["SUMMARY"]) for e in japan.walk("VEVENT")]
    assert any("ACSA" in s for s in summaries) and not any("MDT" in s for s in summaries)
    philippines = parse(client.get("/parties/PH/agreements.ics"))
    summaries = [str(e["SUMMARY"]) for e in philippines.walk("VEVENT")]
    assert any("ACSA" in s for s in summaries) and any("MDT" in s for s in summaries)


def test_search_feed_takes_the_agreement_lists_filters(client, acsa, make_agreement):
    make_agreement(
        party_codes=["US", "PH"], short_name="MDT", eif_rule="on_date", eif_fixed_on=D(2026, 6, 1)
    )
    cal = parse(client.get("/agreements/calendar.ics?party=JP&sort=title&page=2"))
    summaries = [str(e["SUMMARY"]) for e in cal.walk("VEVENT")]
    assert summaries and all("ACSA" in s for s in summaries)
    assert "party JP" in str(cal["X-WR-CALNAME"])
    everything = parse(client.get("/agreements/calendar.ics"))
    assert any("MDT" in str(e["SUMMARY"]) for e in everything.walk("VEVENT"))


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("status=bogus", "status: Unknown status 'bogus'"),
        ("category=nope", "category: Unknown provision category 'nope'"),
        ("year=24", "year: A year is four digits"),
        ("party=ZZ", "party: No party with code 'ZZ'"),
        ("subject=no-such-subject", "subject: No subject 'no-such-subject'"),
        ("colour=red", "colour: Unknown filter"),
        ("q=" + "x" * 201, "q: At most 200 characters"),
        ("&".join(f"status=signed{n}" for n in range(11)), "At most 10 values"),
    ],
)
def test_search_feed_refuses_a_bad_filter_with_400_naming_it(client, query, named):
    response = client.get(f"/agreements/calendar.ics?{query}")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert named in response.content.decode()


def test_a_feed_is_capped_and_says_so(client, make_agreement, monkeypatch):
    for n in range(4):
        agreement = make_agreement(short_name=f"CAP{n}")
        step_record(
            step=first_pending(agreement), status="scheduled", date=D(2026, 2, 1 + n), today=TODAY
        )
    monkeypatch.setattr(calendars, "MAX_EVENTS", 3)
    cal = parse(client.get("/agreements/calendar.ics"))
    found = list(cal.walk("VEVENT"))
    assert len(found) == 3
    # The soonest are kept.
    assert [e.decoded("DTSTART") for e in found] == [D(2026, 2, 1), D(2026, 2, 2), D(2026, 2, 3)]
    assert "Only the first 3 events" in str(cal["X-WR-CALDESC"])


def test_a_big_search_costs_a_fixed_number_of_queries(
    client, make_agreement, django_assert_max_num_queries
):
    for n in range(6):
        agreement = make_agreement(short_name=f"Q{n}")
        step_record(
            step=first_pending(agreement), status="scheduled", date=D(2026, 3, 1 + n), today=TODAY
        )
    with django_assert_max_num_queries(8):
        parse(client.get("/agreements/calendar.ics?party=JP"))


def test_stored_forecasts_are_tentative_events_in_every_feed_and_a_recompute_moves_them(
    client, acsa
):
    step = first_pending(acsa, "PH")
    Forecast.objects.filter(step=step).delete()
    forecast = Forecast.objects.create(
        agreement=acsa,
        party=step.participation.party,
        step=step,
        likely_on=D(2026, 6, 1),
        low_on=D(2026, 5, 1),
        high_on=D(2026, 8, 1),
        basis="party",
        sample_size=5,
        evidence={"summary": "Philippines: median 90 days over 5 agreements"},
        computed_at=timezone.now(),
    )
    uid = f"forecast-step-{step.pk}@pacttracker"
    for url in (
        f"/agreements/{acsa.slug}/calendar.ics",
        "/parties/PH/agreements.ics",
        "/agreements/calendar.ics?party=PH",
    ):
        event = events(parse(client.get(url)))[uid]
        assert str(event["STATUS"]) == "TENTATIVE"
        assert event.decoded("DTSTART") == D(2026, 6, 1)
        assert str(event["SUMMARY"]).startswith("PH, forecast: ")
        assert "80 % range 2026-05-01 to 2026-08-01" in str(event["DESCRIPTION"])
        assert "median 90 days over 5 agreements" in str(event["DESCRIPTION"])

    Forecast.objects.filter(pk=forecast.pk).update(likely_on=D(2026, 7, 1))
    moved = events(parse(client.get(f"/agreements/{acsa.slug}/calendar.ics")))
    assert moved[uid].decoded("DTSTART") == D(2026, 7, 1)
    assert [k for k in moved if k.startswith(f"forecast-step-{step.pk}")] == [uid]


# Records the integrator feeds in: clock deadlines and forecasts ---------------------------------


def test_forecasts_are_tentative_and_say_forecast_and_deadlines_are_not(acsa):
    label = "Japan–Philippines ACSA"
    forecast = calendars.forecast_event(
        key=f"{acsa.pk}-eif",
        agreement=acsa,
        label=label,
        party_code=None,
        step_label="Entry into force",
        likely_on=D(2026, 6, 1),
        low_on=D(2026, 4, 15),
        high_on=D(2026, 9, 1),
        basis="Median 193 days over 5 agreements.",
    )
    deadline = calendars.deadline_event(
        key=f"{acsa.pk}-jp-art61",
        agreement=acsa,
        label=label,
        party_code="JP",
        rule_label="Constitution Art. 61 (30 days)",
        runs_out_on=D(2026, 2, 19),
        working="Approved by the House of Representatives 2026-01-20; 30 days; runs out 2026-02-19.",
    )
    found = calendars.calendar_events(
        agreements=Agreement.objects.filter(pk=acsa.pk),
        today=TODAY,
        extra=[forecast, deadline],
    )
    body = calendars.calendar_render(
        events=found, name="Test", description="Test.", base_url="https://example.org/"
    )
    parsed = events(icalendar.Calendar.from_ical(body))
    f = parsed[f"forecast-{acsa.pk}-eif@pacttracker"]
    assert str(f["STATUS"]) == "TENTATIVE"
    assert str(f["SUMMARY"]) == "Forecast: Entry into force — Japan–Philippines ACSA"
    assert f.decoded("DTSTART") == D(2026, 6, 1)
    assert "2026-04-15 to 2026-09-01" in str(f["DESCRIPTION"])
    assert str(f["URL"]).endswith("#entry-into-force")
    clock = parsed[f"clock-{acsa.pk}-jp-art61@pacttracker"]
    assert str(clock["STATUS"]) == "CONFIRMED"
    assert clock.decoded("DTSTART") == D(2026, 2, 19)
    assert str(clock["SUMMARY"]).startswith("JP, deadline: Constitution Art. 61")
    assert str(clock["URL"]) == f"https://example.org/agreements/{acsa.slug}/#party-JP"


def test_a_partys_forecast_names_the_party_and_links_to_its_track(acsa):
    event = calendars.forecast_event(
        key=f"{acsa.pk}-jp-legislative_approval",
        agreement=acsa,
        label="ACSA",
        party_code="JP",
        step_label="Legislative approval (House of Councillors)",
        likely_on=D(2026, 5, 1),
        low_on=D(2026, 3, 1),
        high_on=D(2026, 7, 1),
        basis="Too little data for a range.",
    )
    assert event.tentative
    assert event.summary == "JP, forecast: Legislative approval (House of Councillors) — ACSA"
    assert event.url.endswith("#party-JP")
    assert event.uid == f"forecast-{acsa.pk}-jp-legislative_approval@pacttracker"


def test_head_is_answered_for_calendar_apps_that_ask_first(client, acsa):
    response = client.head(f"/agreements/{acsa.slug}/calendar.ics")
    assert response.status_code == 200
    assert client.post(f"/agreements/{acsa.slug}/calendar.ics").status_code == 405


def test_extra_events_before_the_window_are_left_out(acsa):
    old = calendars.CalendarEvent(
        uid=calendars.uid("forecast", "old"), on=D(2020, 1, 1), summary="Old", tentative=True
    )
    found = calendars.calendar_events(
        agreements=Agreement.objects.filter(pk=acsa.pk), today=TODAY, extra=[old]
    )
    assert old not in found.events


# Links -----------------------------------------------------------------------------------------


def test_pages_link_to_their_calendars(client, acsa, reader_client, reader):
    page = client.get(f"/agreements/{acsa.slug}/").content.decode()
    assert f'href="/agreements/{acsa.slug}/calendar.ics"' in page
    assert "Subscribe in your calendar" in page
    assert 'href="/parties/JP/agreements.ics"' in client.get("/parties/JP/").content.decode()
    listing = client.get("/agreements/?status=signed&status=bogus&party=jp&page=1").content
    assert b'href="/agreements/calendar.ics?party=JP&amp;status=signed"' in listing

    Follow.objects.create(user=reader, kind="search", query="party=JP")
    Follow.objects.create(user=reader, kind="agreement", agreement=acsa)
    follows = reader_client.get("/follows/").content.decode()
    assert 'href="/agreements/calendar.ics?party=JP"' in follows
    assert f'href="/agreements/{acsa.slug}/calendar.ics"' in follows


def test_a_running_clocks_deadline_is_an_event_in_every_feed(client, art61, make_agreement, source):
    """Japan's House of Representatives approved on 15 January: Art. 61's 30 days in session run
    out on 25 February (tests/ratification/clock_fixtures.py); the deadline is a confirmed event
    whose UID names the party's clock on this agreement."""
    from tests.ratification.clock_fixtures import jp_steps

    agreement = make_agreement(steps={"JP": jp_steps(lower_on=D(2026, 1, 15), source=source)})
    japan = agreement.participations.get(party__code="JP")
    uid = f"clock-{japan.pk}-{art61.pk}@pacttracker"
    for url in (
        f"/agreements/{agreement.slug}/calendar.ics",
        "/parties/JP/agreements.ics",
        "/agreements/calendar.ics?party=JP",
    ):
        event = events(parse(client.get(url)))[uid]
        assert event.decoded("DTSTART") == D(2026, 2, 25)
        assert str(event["STATUS"]) == "CONFIRMED"
        assert str(event["SUMMARY"]).startswith("JP, deadline: Art. 61 with Art. 60(2) runs out")
        assert "runs out 2026-02-25" in str(event["DESCRIPTION"])
