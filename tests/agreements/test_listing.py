"""The kept list rows, facet keys and facet counts (agreements.listing) always equal what the models
give when computed afresh, whatever sequence of writes the services, the admin and the API make."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections import Counter

import orjson
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings

from agreements.api.serializers import AgreementListSerializer
from agreements.listing import (
    KeptListDoc,
    agreements_count,
    facet_counts,
    facet_counts_compact,
    listing_build,
    listing_rebuild,
    listings_compute,
    party_facet_counts,
    shared_parties,
)
from agreements.models import (
    Agreement,
    FacetDelta,
    Participation,
    PartyFacetCount,
    PartyFacetDelta,
)
from parties.models import Party
from tests.writes_in_sequence import OPERATIONS, Stage, operate

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


def assert_kept_equals_fresh() -> None:
    """Every agreement's kept row and keys, and the counts, as a fresh computation gives them."""
    stored = {
        pk: (listing, keys)
        for pk, listing, keys in Agreement.objects.values_list("pk", "listing", "facet_keys")
    }
    assert stored == listings_compute(agreement_ids=list(stored))
    fresh_counts = Counter(key for _, keys in stored.values() for key in keys)
    assert facet_counts() == fresh_counts
    assert agreements_count() == agreements_count(fresh_counts) == len(stored)
    assert_party_counts_equal_fresh()
    assert_party_order_equals_fresh()
    assert_list_docs_equal_fresh()
    assert_search_copy_equals_fresh()


SEARCH_COLUMNS = "signed_on, title, search_vector::text, search_rank_vector::text"


def assert_search_copy_equals_fresh() -> None:
    """PostgreSQL: the search's narrow copy (migration 0020) holds each agreement's signature
    date, title and vectors as its own row has them, and no other row."""
    if connection.vendor != "postgresql":
        return
    copy = f"SELECT agreement_id, {SEARCH_COLUMNS} FROM agreements_search_copy ORDER BY 1"
    own = f"SELECT id, {SEARCH_COLUMNS} FROM agreements_agreement ORDER BY 1"
    with connection.cursor() as cursor:
        cursor.execute(copy)
        copied = cursor.fetchall()
        cursor.execute(own)
        assert copied == cursor.fetchall()


def assert_list_docs_equal_fresh() -> None:
    """PostgreSQL: each agreement's kept API list row (migration 0019) is the row the list's
    serializer builds from its columns, its kept listing and the names as they are now: field
    for field, in the same order, but `url` and `updated_at` (which the list writes in)."""
    if connection.vendor != "postgresql":
        return
    rows = list(
        Agreement.objects.values_list(
            "pk", *AgreementListSerializer.read_fields(), named=True
        ).order_by("pk")
    )
    built = AgreementListSerializer(rows, many=True, context={}).data
    kept = dict(Agreement.objects.annotate(doc=KeptListDoc()).values_list("pk", "doc"))
    assert set(kept) == {row.pk for row in rows}
    for row, data in zip(rows, built, strict=True):
        fresh = [(f, value) for f, value in data.items() if f not in ("url", "updated_at")]
        assert list(orjson.loads(kept[row.pk]).items()) == fresh, row.slug


def assert_party_order_equals_fresh() -> None:
    """PostgreSQL: each party's agreements in list order (migration 0017) hold one row per
    participation, with its agreement's signature date and title as they are now."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT party_id, agreement_id, signed_on, title FROM agreements_party_order"
        )
        kept = sorted(cursor.fetchall())
    fresh = sorted(
        Participation.objects.values_list(
            "party_id", "agreement_id", "agreement__signed_on", "agreement__title"
        )
    )
    assert kept == fresh


def assert_party_counts_equal_fresh() -> None:
    """Each party's kept counts by status and by partner, as the models give them afresh
    (straight from the participations, not from the kept rows)."""
    codes: dict[int, list[str]] = {}
    for agreement_id, code in Participation.objects.values_list("agreement_id", "party__code"):
        codes.setdefault(agreement_id, []).append(code)
    fresh: dict[str, Counter[str]] = {}
    for pk, status in Agreement.objects.values_list("pk", "status"):
        for code in codes.get(pk, []):
            counts = fresh.setdefault(code, Counter())
            counts[f"status:{status}"] += 1
            counts.update(f"party:{other}" for other in codes[pk] if other != code)
    # Every party's kept rows in one read (a read per party, of some 250, cost this property
    # test most of its time), then each reader for the parties in an agreement and one in none.
    kept: Counter[tuple[str, str]] = Counter()
    for model, field in ((PartyFacetCount, "count"), (PartyFacetDelta, "delta")):
        for code, key, n in model.objects.values_list("party_code", "key", field):
            kept[code, key] += n
    assert +kept == Counter(
        {(code, key): n for code, counts in fresh.items() for key, n in counts.items()}
    )
    in_agreements = Counter(code for in_it in codes.values() for code in set(in_it))
    in_none = Party.objects.exclude(code__in=list(in_agreements)).values_list("code", flat=True)
    for code in [*in_agreements, *in_none[:1]]:
        assert party_facet_counts(code) == fresh.get(code, Counter()), code
        # The lists' counts read the same kept rows: one party's size, two parties' shared count.
        assert shared_parties([code]).count == in_agreements[code], code
    both = [pk for pk, in_it in codes.items() if {"JP", "PH"} <= set(in_it)]
    assert shared_parties(["JP", "PH"]).count == shared_parties(["PH", "JP"]).count == len(both)


def test_listing_build_gives_sorted_rows_and_one_key_per_facet_value():
    row, keys = listing_build(
        status="signed",
        signed_on=dt.date(2025, 11, 2),
        parties=[("PH", "in_progress", None), ("JP", "completed", dt.date(2025, 12, 1))],
        subjects=["defence-logistics", "defence-logistics"],
        categories=["logistics_support", "consultation", "logistics_support"],
    )
    assert row == {
        "parties": [
            {"code": "JP", "progress": "completed", "consented_on": "2025-12-01"},
            {"code": "PH", "progress": "in_progress", "consented_on": None},
        ],
        "subjects": ["defence-logistics"],
    }
    assert keys == [
        "status:signed",
        "party:JP",
        "party:PH",
        "subject:defence-logistics",
        "category:consultation",
        "category:logistics_support",
        "year:2025",
    ]


def test_a_new_agreement_is_listed_and_counted(make_agreement):
    agreement = make_agreement(signed_on=dt.date(2026, 1, 15), subjects=["defence logistics"])
    agreement.refresh_from_db()
    assert [p["code"] for p in agreement.listing["parties"]] == ["JP", "PH"]
    assert "subject:defence-logistics" in agreement.facet_keys
    assert facet_counts()["party:JP"] == 1
    assert_kept_equals_fresh()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS)
def test_kept_listing_equals_a_fresh_computation_after_any_writes(make_agreement, operations):
    """Writes through the services (and the admin's way of changing subjects and removing a
    party, and merging subjects) in any order: afterwards every kept row, key and count equals
    a fresh computation."""
    Agreement.objects.all().delete()  # hypothesis reuses the test's database between examples
    FacetDelta.objects.all().delete()
    listing_rebuild()
    stage = Stage.set_up(make_agreement)
    for operation, which, choice in operations:
        operate(stage, operation, which, choice)
        assert_kept_equals_fresh()
    facet_counts_compact()
    assert not FacetDelta.objects.exists()
    assert not PartyFacetDelta.objects.exists()
    assert_kept_equals_fresh()


def test_compaction_twice_changes_nothing(make_agreement):
    make_agreement()
    assert facet_counts_compact() > 0
    before = facet_counts()
    assert facet_counts_compact() == 0
    assert facet_counts() == before


def test_deleting_through_the_api_takes_the_agreement_out_of_the_counts(
    make_agreement, editor_client
):
    agreement = make_agreement()
    url = reverse("api:agreement-detail", args=[agreement.slug])
    etag = editor_client.get(url)["ETag"]
    assert editor_client.delete(url, HTTP_IF_MATCH=etag).status_code == 204
    assert facet_counts() == Counter()
    assert_kept_equals_fresh()


def test_deleting_in_the_admin_keeps_the_counts(make_agreement, admin_user):
    kept, gone = make_agreement(), make_agreement()
    client = Client()
    client.force_login(admin_user)
    url = reverse("admin:agreements_agreement_delete", args=[gone.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert list(Agreement.objects.all()) == [kept]
    assert_kept_equals_fresh()


def test_removing_a_party_in_the_admin_updates_the_row(make_agreement, admin_user):
    agreement = make_agreement(kind="multilateral", party_codes=["JP", "PH", "US"])
    participation = Participation.objects.get(agreement=agreement, party__code="US")
    client = Client()
    client.force_login(admin_user)
    url = reverse("admin:agreements_participation_delete", args=[participation.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    agreement.refresh_from_db()
    assert [p["code"] for p in agreement.listing["parties"]] == ["JP", "PH"]
    assert_kept_equals_fresh()


def test_the_rebuild_command_repairs_rows_and_counts_a_bulk_load_left_behind(make_agreement):
    """A bulk load that bypassed the services (as the benchmark generator does) is repaired."""
    from django.core.management import call_command

    agreement = make_agreement()
    Agreement.objects.filter(pk=agreement.pk).update(listing={}, facet_keys=[])
    FacetDelta.objects.create(key="party:ZZ", delta=5)
    call_command("listing_rebuild", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert_kept_equals_fresh()
    assert not FacetDelta.objects.exists()


def test_beat_compacts_the_counts_every_minute(make_agreement, settings):
    """The appended count changes are folded in by a periodic task; left alone they would grow
    with every write and every read of the counts would sum them all."""
    from agreements.tasks import facet_counts_compact_task

    entry = settings.CELERY_BEAT_SCHEDULE["facet-counts-compact"]
    assert entry["task"] == facet_counts_compact_task.name == "agreements.facet_counts_compact"
    assert entry["schedule"] == dt.timedelta(minutes=1)
    make_agreement(party_codes=["JP", "PH"])
    before = facet_counts(), party_facet_counts("JP")
    assert facet_counts_compact_task.delay().get() > 0
    assert not FacetDelta.objects.exists() and not PartyFacetDelta.objects.exists()
    assert (facet_counts(), party_facet_counts("JP")) == before


def test_a_party_counts_its_agreements_by_status_and_by_partner(make_agreement):
    make_agreement(party_codes=["JP", "PH"])
    make_agreement(party_codes=["JP", "PH"], signed_on=dt.date(2025, 3, 1))
    make_agreement(kind="multilateral", party_codes=["JP", "US", "AU"])
    assert party_facet_counts("JP") == Counter(
        {"party:PH": 2, "party:US": 1, "party:AU": 1, **_status_counts("JP")}
    )
    assert party_facet_counts("US") == Counter(
        {"party:JP": 1, "party:AU": 1, **_status_counts("US")}
    )
    assert_kept_equals_fresh()


def _status_counts(code: str) -> Counter[str]:
    return Counter(
        f"status:{status}"
        for status in Agreement.objects.filter(participations__party__code=code).values_list(
            "status", flat=True
        )
    )


# serialized_rollback: the parties the migrations put in come back after each flush.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_fills_each_partys_counts_from_the_kept_rows(make_agreement):
    """agreements/0007 adds the parties' counts to a database that already has agreements."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    make_agreement(party_codes=["JP", "PH"])
    make_agreement(kind="multilateral", party_codes=["JP", "US", "AU"])
    expected = {code: party_facet_counts(code) for code in ("JP", "PH", "US", "AU")}
    executor = MigrationExecutor(connection)
    executor.migrate([("agreements", "0006_agreement_cache_stamp")])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert {code: party_facet_counts(code) for code in expected} == expected
    assert_kept_equals_fresh()


def test_the_kept_row_reads_as_the_standard_decoder_reads_it(make_agreement):
    """The kept row is decoded by orjson (agreements.models.KeptJSONField): the values the
    standard library's decoder gives, and JSONField's way for what orjson cannot read."""
    agreement = make_agreement(slug="jp-ph", party_codes=["JP", "PH"], subjects=["logistics"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CAST(listing AS text) FROM agreements_agreement WHERE id = %s", [agreement.pk]
        )
        (stored,) = cursor.fetchone()
    read = Agreement.objects.values_list("listing", flat=True).get(pk=agreement.pk)
    assert read == json.loads(stored)
    assert [party["code"] for party in read["parties"]] == ["JP", "PH"]
    field = Agreement._meta.get_field("listing")
    assert field.from_db_value('{"a": [1, null, "é"]}', None, connection) == {"a": [1, None, "é"]}
    # JSONField gives a value it cannot decode as it is; NaN only the standard decoder reads.
    assert field.from_db_value("{not json", None, connection) == "{not json"
    assert math.isnan(field.from_db_value('{"x": NaN}', None, connection)["x"])
