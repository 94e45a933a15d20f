"""A data generation number for caching API responses (ratification.response_cache).

One row holds a counter that moves whenever any table an agreement response is built from
changes: a cached response is stored under the generation it was computed at, so a write
invalidates every cached response at once, whoever made it (services, admin, raw SQL, imports).

The counter is bumped by a deferred constraint trigger, i.e. at commit, once per transaction:
* at commit, so the new number becomes visible together with the data (a reader reads the
  generation first, then the data, so it can never store old data under a new number);
* deferred, so the counter's row lock is the last lock a transaction takes and is held only
  while it commits: writers never wait for it while holding other locks, so no deadlock;
* TRUNCATE (test flushes) cannot have a constraint trigger; a statement trigger bumps it then.

PostgreSQL only: on SQLite this migration does nothing and responses are not cached.
"""

from django.db import migrations

TABLES = [
    "parties_party",
    "parties_procedurestep",
    "agreements_subject",
    "agreements_source",
    "agreements_agreement",
    "agreements_agreement_subjects",
    "agreements_agreement_sources",
    "agreements_participation",
    "agreements_signatory",
    "agreements_provision",
    "agreements_relation",
    "ratification_ratificationstep",
    "ratification_statuschange",
]

FORWARD = """
CREATE TABLE ratification_cache_generation (
    id smallint PRIMARY KEY CHECK (id = 1),
    value bigint NOT NULL
);
INSERT INTO ratification_cache_generation (id, value) VALUES (1, 1);

CREATE FUNCTION ratification_cache_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once per transaction is enough: the setting is local to the transaction.
    IF current_setting('pacttracker.cache_generation_bumped', true) = 'yes' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('pacttracker.cache_generation_bumped', 'yes', true);
    UPDATE ratification_cache_generation SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
"""

TABLE_FORWARD = """
CREATE CONSTRAINT TRIGGER {table}_cache_generation
    AFTER INSERT OR UPDATE OR DELETE ON {table}
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ratification_cache_generation_bump();
CREATE TRIGGER {table}_cache_generation_truncate
    AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION ratification_cache_generation_bump();
"""

TABLE_BACKWARD = """
DROP TRIGGER IF EXISTS {table}_cache_generation ON {table};
DROP TRIGGER IF EXISTS {table}_cache_generation_truncate ON {table};
"""

BACKWARD = """
DROP FUNCTION IF EXISTS ratification_cache_generation_bump();
DROP TABLE IF EXISTS ratification_cache_generation;
"""


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD + "".join(TABLE_FORWARD.format(table=t) for t in TABLES))


def backward(apps, schema_editor):
    _run(schema_editor, "".join(TABLE_BACKWARD.format(table=t) for t in TABLES) + BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0002_search_vector"),
        ("parties", "0002_iso_states_organisations_procedures"),
        ("ratification", "0003_webhooks_and_outbox"),
    ]

    operations = [migrations.RunPython(forward, backward)]
