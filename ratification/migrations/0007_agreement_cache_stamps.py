"""Invalidation per agreement for cached API details (apikit.response_cache).

0004's data generation moves on every committed write to any table, so one editor's write a
second emptied every cached response. An agreement's detail now keys on what it shows:

* `agreements_agreement.cache_stamp` moves on whenever a row the detail is built from changes:
  the agreement itself (a BEFORE UPDATE trigger), its participations, steps, signatories,
  provisions, relations (both ends), subjects and sources links, and status changes (AFTER
  triggers that bump the agreement's stamp). A detail also names the agreements related to it,
  so its key adds up their stamps when it is read (apikit.response_cache's caller), rather than
  a trigger bumping them: that would lock a second agreement row from inside a write, which two
  related writers could do in opposite orders.
* A reference generation, like 0004's but over the tables that many details share (parties,
  subjects, sources): renaming a party refreshes every detail at once, as is right.

Triggers rather than service code, as in 0004, so every writer is covered (services, admin, raw
SQL, imports). The stamp moves inside the writer's transaction and is seen with its data at
commit. PostgreSQL only, like the cache itself; on SQLite this does nothing.
"""

from django.db import migrations

STAMPED = {
    # table: the SQL expression giving the agreement id(s) of a row R (NEW or OLD)
    "agreements_participation": ["R.agreement_id"],
    "agreements_signatory": ["R.agreement_id"],
    "agreements_provision": ["R.agreement_id"],
    "agreements_relation": ["R.from_agreement_id", "R.to_agreement_id"],
    "agreements_agreement_subjects": ["R.agreement_id"],
    "agreements_agreement_sources": ["R.agreement_id"],
    "ratification_statuschange": ["R.agreement_id"],
    "ratification_ratificationstep": [
        "(SELECT p.agreement_id FROM agreements_participation p WHERE p.id = R.participation_id)"
    ],
}
REFERENCE_TABLES = ["parties_party", "agreements_subject", "agreements_source"]

FORWARD = """
CREATE FUNCTION agreements_agreement_stamp_self() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Any change to the row moves its stamp on, unless the change is the stamp's own move.
    IF NEW.cache_stamp = OLD.cache_stamp THEN
        NEW.cache_stamp := OLD.cache_stamp + 1;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER agreements_agreement_stamp_self
    BEFORE UPDATE ON agreements_agreement
    FOR EACH ROW EXECUTE FUNCTION agreements_agreement_stamp_self();

CREATE TABLE ratification_reference_generation (
    id smallint PRIMARY KEY CHECK (id = 1),
    value bigint NOT NULL
);
INSERT INTO ratification_reference_generation (id, value) VALUES (1, 1);

CREATE FUNCTION ratification_reference_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('pacttracker.reference_generation_bumped', true) = 'yes' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('pacttracker.reference_generation_bumped', 'yes', true);
    UPDATE ratification_reference_generation SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
"""

STAMP_FUNCTION = """
CREATE FUNCTION {table}_stamp_agreement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE agreements_agreement SET cache_stamp = cache_stamp + 1
         WHERE id IN ({old_ids});
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE agreements_agreement SET cache_stamp = cache_stamp + 1
         WHERE id IN ({new_ids});
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

BACKWARD = """
DROP TRIGGER IF EXISTS agreements_agreement_stamp_self ON agreements_agreement;
DROP FUNCTION IF EXISTS agreements_agreement_stamp_self();
"""


def _forward_sql() -> str:
    sql = FORWARD
    for table, ids in STAMPED.items():
        sql += STAMP_FUNCTION.format(
            table=table,
            old_ids=", ".join(i.replace("R.", "OLD.") for i in ids),
            new_ids=", ".join(i.replace("R.", "NEW.") for i in ids),
        )
    sql += "".join(REFERENCE_TRIGGER.format(table=table) for table in REFERENCE_TABLES)
    return sql


def _backward_sql() -> str:
    sql = "".join(
        f"DROP TRIGGER IF EXISTS {table}_stamp_agreement ON {table};\n"
        f"DROP FUNCTION IF EXISTS {table}_stamp_agreement();\n"
        for table in STAMPED
    )
    sql += "".join(
        f"DROP TRIGGER IF EXISTS {table}_reference_generation ON {table};\n"
        for table in REFERENCE_TABLES
    )
    sql += "DROP FUNCTION IF EXISTS ratification_reference_generation_bump();\n"
    sql += "DROP TABLE IF EXISTS ratification_reference_generation;\n"
    return sql + BACKWARD


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
        ("agreements", "0006_agreement_cache_stamp"),
        ("ratification", "0006_webhooks_move_to_notify"),
    ]

    operations = [migrations.RunPython(forward, backward)]
