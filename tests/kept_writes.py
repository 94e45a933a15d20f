"""Writes through every path that can change what an agreement's kept representations show
(its API detail, ratification.api.detail, and its page, web.kept): each test of a kept
representation makes each write and checks the next read against a fresh rendering."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from agreements.models import Agreement, Objection, Relation, Source, Statement, Subject
from forecasting import forecasts
from parties.models import Party
from ratification.models import Forecast, RatificationStep, StartedClock
from ratification.services import step_record


def _step(slug: str) -> RatificationStep:
    return RatificationStep.objects.filter(participation__agreement__slug=slug).order_by("pk")[0]


def through_the_services(slug):
    step = _step(slug)
    step_record(step=step, status=step.status, date=step.date, source=step.source, note="noted")


def through_the_api(slug, editor_client):
    step = _step(slug)
    etag = editor_client.get(f"/api/v1/steps/{step.pk}/")["ETag"]
    response = editor_client.patch(
        f"/api/v1/steps/{step.pk}/",
        {"note": "Checked against the gazette."},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert response.status_code == 200, response.content


def outside_the_services(slug):
    # As the admin or a shell would: a plain save of a step, with no recompute.
    step = _step(slug)
    step.note = "saved directly"
    step.save()


def a_party_renamed(slug):
    party = Party.objects.filter(participations__agreement__slug=slug).first()
    party.name = f"{party.name} (renamed)"
    party.save()


def a_source_retitled(slug):
    source = Source.objects.filter(agreements__slug=slug).first()
    source.title = "Retitled source"
    source.save()


def a_subject_renamed(slug):
    subject = Subject.objects.filter(agreements__slug=slug).first()
    subject.name = f"{subject.name} (renamed)"
    subject.save()


def a_related_agreement_retitled(slug):
    relation = Relation.objects.filter(from_agreement__slug=slug).first()
    other = relation.to_agreement
    other.title = f"{other.title} (amended)"  # the API names it by its title
    other.short_name = f"{other.short_name} II"  # and the page by its short name
    other.save()


def a_statement_withdrawn_outside_the_services(slug):
    Statement.objects.filter(agreement__slug=slug).update(withdrawn_on=dt.date(2026, 1, 5))


def an_objection_saved_outside_the_services(slug):
    # The demo has none: one made as a data fix or a shell would, then edited there too.
    statement = Statement.objects.filter(agreement__slug=slug).order_by("pk")[0]
    objector = Party.objects.exclude(pk=statement.party_id).order_by("code")[0]
    objection = Objection.objects.create(statement=statement, party=objector, text="Objects.")
    objection.made_on = dt.date(2025, 3, 3)
    objection.save()


def forecasts_refreshed_on_a_later_day(slug):
    later = timezone.localdate() + dt.timedelta(days=3)
    forecasts.forecasts_refresh(agreement_ids=[Agreement.objects.get(slug=slug).pk], today=later)


def a_note_naming_a_placeholder_origin(slug):
    step = _step(slug)
    step_record(
        step=step,
        status=step.status,
        date=step.date,
        source=step.source,
        note='See "https://kept.invalid/api/v1/agreements/" and https://x.invalid/.',
    )


def a_clock_rule_changed(slug):
    rule = StartedClock.objects.filter(step__participation__agreement__slug=slug)[0].rule
    rule.length += 5
    rule.save()


WRITES = [
    through_the_services,
    outside_the_services,
    a_party_renamed,
    a_source_retitled,
    a_subject_renamed,
    a_related_agreement_retitled,
    a_clock_rule_changed,
    a_statement_withdrawn_outside_the_services,
    an_objection_saved_outside_the_services,
    forecasts_refreshed_on_a_later_day,
    a_note_naming_a_placeholder_origin,
]


# The writes that change no agreement list's membership, order or counts, nor a name lists
# share: a step's note. They move neither the listing nor the reference generation
# (ratification 0026).
LIST_NEUTRAL = frozenset(
    {
        through_the_services,
        through_the_api,
        outside_the_services,
        a_note_naming_a_placeholder_origin,
    }
)


def written_by(write) -> str:
    """A demo agreement that the write changes something on."""
    if write is a_related_agreement_retitled:
        return Relation.objects.order_by("pk").first().from_agreement.slug
    if write is a_subject_renamed:
        return Agreement.objects.filter(subjects__isnull=False).order_by("slug").first().slug
    if write in (
        a_statement_withdrawn_outside_the_services,
        an_objection_saved_outside_the_services,
    ):
        return Statement.objects.order_by("pk")[0].agreement.slug
    if write is forecasts_refreshed_on_a_later_day:
        return Forecast.objects.order_by("pk")[0].agreement.slug
    if write is a_clock_rule_changed:
        return StartedClock.objects.order_by("pk")[0].step.participation.agreement.slug
    return "japan-philippines-acsa"
