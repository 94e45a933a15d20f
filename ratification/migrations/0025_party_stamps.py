"""A stamp per party, for the party's page kept ready (web.kept.party_page, issue 13).

A party's page shows its agreements (counts, newest of each status, own dates, forecasts,
running clocks, status changes, partners) and its own procedure. Everything an agreement shows
moves the agreement's `cache_stamp` (0007, 0020, 0024: each part's trigger updates the
agreement row), so a party's page changes exactly when one of its agreements' rows is written,
a participation of it is added, changed or removed, its own row or procedure changes, or (the
generic procedure) every party's.

* Row triggers note the parties touched in a transaction-local setting,
  `pacttracker.parties_touched` (a comma-separated set of ids, or `*` for all), at once.
* At commit, the data generation's deferred trigger (0004) takes the generation's row lock,
  moves it on, and sets the stamp of each party touched to the new generation. Every committer
  holds that one lock while it stamps parties, so the party rows are written one transaction
  at a time, in commit order, and never while a writer holds other locks: no hot row for
  writers to wait on with their data locked, and no deadlock (a party stamp is never locked
  before the generation). A stamp is a generation number, so it only ever grows.
* The function still moves the generation once per transaction; it stamps parties on every
  firing that finds some touched, because Django's constraint checks (SET CONSTRAINTS ALL
  IMMEDIATE, e.g. in loaddata) may fire the deferred triggers before later writes of the same
  transaction.

PostgreSQL only, like the generation itself; on SQLite this does nothing.
"""

from django.db import migrations

FORWARD = """
CREATE TABLE ratification_party_stamp (
    party_id bigint PRIMARY KEY,
    value bigint NOT NULL
);

CREATE FUNCTION ratification_parties_touch(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    touched text := coalesce(current_setting('pacttracker.parties_touched', true), '');
    id bigint;
BEGIN
    IF touched = '*' THEN
        RETURN;
    END IF;
    IF touched = '' THEN
        touched := ',';
    END IF;
    -- At most one entry per party: the setting stays small however many rows are written.
    FOREACH id IN ARRAY coalesce(ids, '{}') LOOP
        IF id IS NOT NULL AND strpos(touched, ',' || id || ',') = 0 THEN
            touched := touched || id || ',';
        END IF;
    END LOOP;
    PERFORM set_config('pacttracker.parties_touched', touched, true);
END
$$;

CREATE FUNCTION ratification_parties_touch_all() RETURNS void LANGUAGE sql AS $$
    SELECT set_config('pacttracker.parties_touched', '*', true);
$$;

CREATE FUNCTION agreements_agreement_touch_parties() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_id bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        row_id := OLD.id;
    ELSE
        row_id := NEW.id;
    END IF;
    PERFORM ratification_parties_touch(
        ARRAY(SELECT party_id FROM agreements_participation WHERE agreement_id = row_id)
    );
    RETURN NULL;
END
$$;
CREATE TRIGGER agreements_agreement_touch_parties
    AFTER INSERT OR UPDATE OR DELETE ON agreements_agreement
    FOR EACH ROW EXECUTE FUNCTION agreements_agreement_touch_parties();

-- A procedure step of no party is the generic procedure, shown by every party without one.
CREATE FUNCTION parties_procedurestep_touch_parties() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP <> 'INSERT' AND OLD.party_id IS NULL)
       OR (TG_OP <> 'DELETE' AND NEW.party_id IS NULL) THEN
        PERFORM ratification_parties_touch_all();
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM ratification_parties_touch(ARRAY[OLD.party_id]);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM ratification_parties_touch(ARRAY[NEW.party_id]);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER parties_procedurestep_touch_parties
    AFTER INSERT OR UPDATE OR DELETE ON parties_procedurestep
    FOR EACH ROW EXECUTE FUNCTION parties_procedurestep_touch_parties();
"""

# A row that names one party (the column): that party, before and after the write.
TOUCH_ONE = """
CREATE FUNCTION {table}_touch_parties() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM ratification_parties_touch(ARRAY[OLD.{column}]);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM ratification_parties_touch(ARRAY[NEW.{column}]);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER {table}_touch_parties
    AFTER INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_touch_parties();
"""
TOUCHING_ONE = {"agreements_participation": "party_id", "parties_party": "id"}

# Replaces 0004's function; the flag and the generation's move are as there.
BUMP = """
CREATE OR REPLACE FUNCTION ratification_cache_generation_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    generation bigint;
    touched text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM ratification_parties_touch_all();
    END IF;
    IF current_setting('pacttracker.cache_generation_bumped', true) = 'yes' THEN
        generation := current_setting('pacttracker.cache_generation_value', true)::bigint;
    ELSE
        PERFORM set_config('pacttracker.cache_generation_bumped', 'yes', true);
        UPDATE ratification_cache_generation SET value = value + 1 WHERE id = 1
            RETURNING value INTO generation;
        PERFORM set_config('pacttracker.cache_generation_value', generation::text, true);
    END IF;
    touched := coalesce(current_setting('pacttracker.parties_touched', true), '');
    IF touched NOT IN ('', ',') AND generation IS NOT NULL THEN
        PERFORM set_config('pacttracker.parties_touched', '', true);
        PERFORM ratification_parties_stamp(touched, generation);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION ratification_parties_stamp(touched text, generation bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- In party order, under the generation's lock.
    INSERT INTO ratification_party_stamp AS s (party_id, value)
    SELECT id, generation FROM parties_party
     WHERE touched = '*' OR strpos(touched, ',' || id || ',') > 0
     ORDER BY id
        ON CONFLICT (party_id) DO UPDATE SET value = EXCLUDED.value;
END
$$;
"""

BUMP_BACKWARD = """
CREATE OR REPLACE FUNCTION ratification_cache_generation_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
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

TOUCHING = [
    "agreements_agreement",
    "agreements_participation",
    "parties_party",
    "parties_procedurestep",
]

BACKWARD = (
    BUMP_BACKWARD
    + "".join(
        f"DROP TRIGGER IF EXISTS {table}_touch_parties ON {table};\n"
        f"DROP FUNCTION IF EXISTS {table}_touch_parties();\n"
        for table in TOUCHING
    )
    + """
DROP FUNCTION IF EXISTS ratification_parties_stamp(text, bigint);
DROP FUNCTION IF EXISTS ratification_parties_touch_all();
DROP FUNCTION IF EXISTS ratification_parties_touch(bigint[]);
DROP TABLE IF EXISTS ratification_party_stamp;
"""
)


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forward(apps, schema_editor):
    touch_one = "".join(
        TOUCH_ONE.format(table=table, column=column) for table, column in TOUCHING_ONE.items()
    )
    _run(schema_editor, FORWARD + touch_one + BUMP)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("ratification", "0024_forecast_and_statement_stamps"),
        ("parties", "0006_clock_rules"),
    ]

    operations = [migrations.RunPython(forward, backward)]
