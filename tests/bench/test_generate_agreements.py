"""The benchmark's data generator (bench/management/commands/generate_agreements.py).

It loads rows with COPY and named columns, so a model that gains a NOT NULL column without a
database default breaks it only on PostgreSQL, at 100,000 rows, minutes into `make bench`. The
first test says so at once, from the models; the second runs the generator for real.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, models

from bench.management.commands import generate_agreements
from bench.management.commands.generate_agreements import COLUMNS


def _model_of(table: str) -> type[models.Model]:
    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table == table:
            return model
    raise AssertionError(f"no model has the table {table}")


@pytest.mark.parametrize("key", sorted(COLUMNS))
def test_every_required_column_is_generated(key):
    table, columns = COLUMNS[key]
    listed = {column.strip().strip('"') for column in columns.split(",")}
    model = _model_of(table)
    required = {
        field.column
        for field in model._meta.concrete_fields
        if not field.null
        and field.db_default is models.NOT_PROVIDED
        and not isinstance(field, models.AutoField)  # the sequence's
    }
    missing = sorted(required - listed)
    assert not missing, f"{table}: the generator does not fill {missing}"
    unknown = sorted(listed - {field.column for field in model._meta.concrete_fields})
    assert not unknown, f"{table}: the generator writes columns the model lacks: {unknown}"


@pytest.mark.postgres
# transaction: the generator commits; serialized_rollback: it draws on the parties and
# procedures the migrations put in, which a flush takes out (as in tests/services).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_generator_loads_rows_the_product_reads_as_its_own():
    from agreements.listing import listing_rebuild
    from agreements.models import Agreement, FacetCount
    from ratification.models import RatificationStep, StatusChange
    from ratification.services import SHARED_FACTS
    from tests.agreements.test_listing import assert_search_copy_equals_fresh

    call_command(
        generate_agreements.Command(),
        agreements=40,
        seed=3,
        today=dt.date(2026, 6, 1),
        stdout=open("/dev/null", "w"),  # noqa: SIM115 (closed with the test's process)
    )
    assert Agreement.objects.count() == 40
    # Loaded with triggers off, the rows are brought in line by the generator's own rebuild.
    assert_search_copy_equals_fresh()
    kept = dict(Agreement.objects.values_list("pk", "listing"))
    counts = dict(FacetCount.objects.values_list("key", "count"))
    # The kept rows and counts are what the product's own rebuild computes from the models.
    listing_rebuild()
    assert dict(Agreement.objects.values_list("pk", "listing")) == kept
    assert dict(FacetCount.objects.values_list("key", "count")) == counts
    assert not StatusChange.objects.filter(fanned_out_at__isnull=True).exists()
    # A bilateral agreement's signature and entry-into-force steps follow its dates: none is
    # scheduled on its own (the first sweep would complete it; ratification.sweep).
    assert not RatificationStep.objects.filter(
        status="scheduled",
        kind__in=list(SHARED_FACTS),
        participation__agreement__kind="bilateral",
    ).exists()
    # Nor left pending behind a signature date the agreement holds (an editor's write to it is
    # refused: the bench's writes would fail).
    assert not RatificationStep.objects.filter(
        status="pending",
        kind="signature",
        participation__agreement__kind="bilateral",
        participation__agreement__signed_on__isnull=False,
    ).exists()
    # The search columns (outside the models: agreements migrations 0002, 0003) are filled.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM agreements_agreement "
            "WHERE search_vector IS NULL OR search_rank_vector IS NULL"
        )
        assert cursor.fetchone()[0] == 0
