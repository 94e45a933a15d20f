"""Cached API details (apikit.response_cache, migration 0007) show constitutional clocks, so the
rows clocks are counted from move the cache keys too:

* an agreement's clock extensions and rule choices move its own stamp (like its steps);
* clock rules and the calendars they count on (legislatures, chambers, sessions, sitting days)
  are shared reference data: they move the reference generation, as a party's name does.

PostgreSQL only, like the cache itself; on SQLite this does nothing.
"""

from django.db import migrations

STAMPED = ["ratification_clockextension", "ratification_clockrulechoice"]
REFERENCE_TABLES = [
    "parties_clockrule",
    "parties_legislature",
    "parties_chamber",
    "parties_session",
    "parties_sittingday",
]
AGREEMENT_OF = (
    "(SELECT p.agreement_id FROM agreements_participation p WHERE p.id = {row}.participation_id)"
)

STAMP_FUNCTION = """
CREATE FUNCTION {table}_stamp_agreement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE agreements_agreement SET cache_stamp = cache_stamp + 1 WHERE id IN ({old_id});
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE agreements_agreement SET cache_stamp = cache_stamp + 1 WHERE id IN ({new_id});
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER {table}_stamp_agreement
    AFTER INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_stamp_agreement();
"""

REFERENCE_TRIGGER = """
CREATE CONSTRAINT TRIGGER {table}_reference_generation
    AFTER INSERT OR UPDATE OR DELETE ON {table}
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ratification_reference_generation_bump();
"""


def _forward_sql() -> str:
    sql = "".join(
        STAMP_FUNCTION.format(
            table=table,
            old_id=AGREEMENT_OF.format(row="OLD"),
            new_id=AGREEMENT_OF.format(row="NEW"),
        )
        for table in STAMPED
    )
    return sql + "".join(REFERENCE_TRIGGER.format(table=table) for table in REFERENCE_TABLES)


def _backward_sql() -> str:
    sql = "".join(
        f"DROP TRIGGER IF EXISTS {table}_stamp_agreement ON {table};\n"
        f"DROP FUNCTION IF EXISTS {table}_stamp_agreement();\n"
        for table in STAMPED
    )
    return sql + "".join(
        f"DROP TRIGGER IF EXISTS {table}_reference_generation ON {table};\n"
        for table in REFERENCE_TABLES
    )


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, _forward_sql())


def backward(apps, schema_editor):
    _run(schema_editor, _backward_sql())


class Migration(migrations.Migration):
    dependencies = [
        ("ratification", "0019_constitutional_clocks"),
        ("parties", "0006_clock_rules"),
    ]

    operations = [migrations.RunPython(forward, backward)]
