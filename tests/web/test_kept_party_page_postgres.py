"""A party's page is served around its kept part (web.kept.party_page) on PostgreSQL: byte for
byte the page rendered the usual way after any write through any path, rendered again only for
the parties a write touches (their stamps, ratification 0025), and on each new day."""

from __future__ import annotations

import datetime as dt
import os
import re
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings

from agreements.listing import listing_rebuild
from agreements.models import Agreement, FacetDelta, Relation
from parties.models import Party, ProcedureStep
from ratification.models import RatificationStep
from tests.factories import EditorFactory, ViewerFactory
from tests.kept_writes import (
    LIST_NEUTRAL,
    WRITES,
    a_related_agreement_retitled,
    through_the_api,
    written_by,
)
from tests.writes_in_sequence import OPERATIONS, Stage, operate
from web import kept

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


# A signed-in reader's sign-out form carries a CSRF token masked anew for each response.
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def page(client, code: str) -> bytes:
    response = client.get(f"/parties/{code}/")
    assert response.status_code == 200
    return response.content


def fresh(client, code: str) -> bytes:
    with mock.patch("web.views.kept.page_applies", return_value=False):
        return page(client, code)


def stamps() -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT party_id, value FROM ratification_party_stamp")
        return dict(cursor.fetchall())


def ids(*codes: str) -> set[int]:
    return set(Party.objects.filter(code__in=codes).values_list("pk", flat=True))


def codes_of(slug: str) -> list[str]:
    return list(
        Party.objects.filter(participations__agreement__slug=slug)
        .order_by("code")
        .values_list("code", flat=True)
    )


def moved(before: dict[int, int]) -> set[int]:
    after = stamps()
    return {party for party, value in after.items() if before.get(party) != value}


@pytest.fixture
def renders(monkeypatch):
    """How many times a party page's kept part was rendered."""
    counted: list[str] = []
    render = kept.party_page

    def counting(**kwargs):
        inner = kwargs["render"]
        kwargs["render"] = lambda code: counted.append(code) or inner(code)
        return render(**kwargs)

    monkeypatch.setattr(kept, "party_page", counting)
    return counted


def test_every_demo_party_page_is_what_the_usual_rendering_gives(demo, client, renders):
    codes = list(Party.objects.order_by("code").values_list("code", flat=True))
    for code in codes:
        assert page(client, code) == fresh(client, code), code
        assert page(client, code) == fresh(client, code), code
    assert len(renders) == len(codes)  # each rendered once, then kept


def test_a_kept_party_page_costs_one_query(demo, client):
    page(client, "JP")
    with CaptureQueriesContext(connection) as read:
        page(client, "JP")
    assert len(read.captured_queries) == 1
    assert page(client, "jp") == fresh(client, "jp")  # the code as typed


def test_a_write_renders_again_the_pages_of_the_parties_it_touches_only(
    demo, client, editor_client, renders
):
    # Every party in an agreement, and two in none: the demo's other 230-odd reference parties'
    # pages read alike (each read three times per write, they cost this test two minutes).
    parties = Party.objects.order_by("code")
    in_one = parties.filter(participations__isnull=False).distinct()
    in_none = parties.filter(participations__isnull=True)
    everyone = sorted(
        {*in_one.values_list("code", flat=True), *in_none.values_list("code", flat=True)[:2]}
    )
    for write in [*WRITES, through_the_api]:
        slug = written_by(write)
        touched = codes_of(slug)
        if write is a_related_agreement_retitled:
            other = Relation.objects.filter(from_agreement__slug=slug).first().to_agreement
            touched = codes_of(other.slug)
        for code in everyone:
            page(client, code)
        before, rendered = stamps(), len(renders)
        if write is through_the_api:
            write(slug, editor_client)
        else:
            write(slug)
        for code in everyone:
            assert page(client, code) == fresh(client, code), (write.__name__, code)
        # A note on a step renders none again (ratification 0027); a write that a reference
        # row takes (a party renamed, a clock rule) every page; any other, only those of the
        # parties whose agreement it wrote.
        if write in LIST_NEUTRAL:
            assert (moved(before), renders[rendered:]) == (set(), []), write.__name__
        elif renders[rendered:] != everyone:
            assert moved(before) == ids(*touched), write.__name__
            assert sorted(renders[rendered:]) == touched, write.__name__


def test_each_kind_of_write_moves_exactly_its_parties(make_agreement, client):
    ph_jp = make_agreement(party_codes=["JP", "PH"])
    make_agreement(party_codes=["US", "AU"])
    before = stamps()
    Agreement.objects.filter(pk=ph_jp.pk).update(title="Renamed")
    assert moved(before) == ids("JP", "PH")

    steps = RatificationStep.objects.filter(participation__agreement=ph_jp)
    before = stamps()
    steps.update(note="Tabled.")  # a note, raw
    Agreement.objects.filter(pk=ph_jp.pk).update(updated_at=timezone.now())  # a touch
    assert moved(before) == set()

    before = stamps()
    steps.filter(kind="signature").update(note="Signed.", status="not_required")
    assert moved(before) == ids("JP", "PH")

    before = stamps()
    with transaction.atomic():  # a note, then what a touch would hide
        steps.update(note="Noted again.")
        Agreement.objects.filter(pk=ph_jp.pk).update(updated_at=timezone.now(), short_name="X")
    assert moved(before) == ids("JP", "PH")

    before = stamps()
    ph_jp.participations.get(party__code="PH").delete()
    assert moved(before) == ids("JP", "PH")  # PH no longer has it; JP's row shows one party

    before = stamps()
    ProcedureStep.objects.create(party=Party.objects.get(code="US"), order=99, kind="signature")
    assert moved(before) == ids("US")

    before = stamps()
    ProcedureStep.objects.create(party=None, order=99, kind="signature")  # the generic procedure
    assert moved(before) == set(Party.objects.values_list("pk", flat=True))

    before = stamps()
    with pytest.raises(RuntimeError), transaction.atomic():
        Agreement.objects.filter(pk=ph_jp.pk).update(title="Not kept")
        raise RuntimeError
    assert moved(before) == set()  # rolled back: nothing to render again


def test_the_rebuild_moves_every_party_and_its_counts_show(demo, client):
    page(client, "JP")
    # Counts gone astray (as a lost delta would leave them), where no trigger sees it.
    FacetDelta.objects.filter(key="status:signed").delete()
    before = stamps()
    listing_rebuild()
    assert moved(before) == set(Party.objects.values_list("pk", flat=True))
    assert page(client, "JP") == fresh(client, "JP")


def test_a_page_is_kept_for_the_day_it_was_built_for(demo, client, renders, monkeypatch):
    page(client, "JP")
    page(client, "JP")
    assert len(renders) == 1
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: tomorrow)
    assert page(client, "JP") == fresh(client, "JP")
    assert len(renders) == 2


def test_the_web_processes_render_a_page_once_between_them(demo, client, renders):
    """A process without the page in its own memory takes it from the shared cache, under the
    same stamps and day: another process rendered it. A write to the party renders it again
    once, and every process reads that rendering."""
    assert page(client, "JP") == fresh(client, "JP")
    kept._party_pages._kept.clear()  # as another web process, which never read it
    assert page(client, "JP") == fresh(client, "JP")
    assert renders == ["JP"]

    jp = Party.objects.get(code="JP")
    jp.name = "Nippon"  # moves the reference generation: every page's scope
    jp.save()
    assert b"Nippon" in page(client, "JP")
    kept._party_pages._kept.clear()
    assert page(client, "JP") == fresh(client, "JP")
    assert renders == ["JP", "JP"]


def test_an_unknown_party_and_an_editor_go_the_usual_way(demo, client, renders):
    editor, viewer = Client(), Client()
    editor.force_login(EditorFactory())
    viewer.force_login(ViewerFactory())
    assert client.get("/parties/XX/").status_code == 404
    assert b"Usual procedure" in page(editor, "JP")
    assert renders == []
    as_viewer = page(viewer, "JP")  # kept, around the viewer's own heading
    assert renders == ["JP"]
    assert b"Follow" in as_viewer
    assert CSRF.sub(b"", as_viewer) == CSRF.sub(b"", fresh(viewer, "JP"))


@settings(
    max_examples=max(1, int(os.environ.get("FUZZ_EXAMPLES", "25")) // 5),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS)
def test_party_pages_equal_their_usual_rendering_after_any_writes(
    make_agreement, client, operations
):
    """The listing's property test's random writes (services, the admin's ways, merges,
    compactions, deletions), each committed: after each, every page of a party they may touch
    is what the usual rendering gives."""
    Agreement.objects.all().delete()  # hypothesis reuses the test's database between examples
    stage = Stage.set_up(make_agreement)
    codes = ["JP", "PH", *(party.code for party in stage.spare_parties)]
    for code in codes:
        page(client, code)
    for operation, which, choice in operations:
        operate(stage, operation, which, choice)
        for code in codes:
            assert page(client, code) == fresh(client, code), (operation, code)
