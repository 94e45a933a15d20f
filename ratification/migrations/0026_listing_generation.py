"""A listing generation, which cached agreement lists are kept under (issue 13).

The data generation (0004, 0025) moves at the commit of every write, and the cached API lists
and searches were kept under it: an editor's note on a step a second (evidence only, the
`shown_only` path of ratification.services.step_record) made every one of them a miss, though
such a write changes no list's membership, order or counts; only the written agreement's row
(its `updated_at` and its stamp).

`ratification_cache_generation.listing` moves with the data generation, in the same deferred
trigger and under the same row lock, once per transaction, unless every row the transaction
wrote is one of these (SHOWN_ONLY, checked row by row against its image before the write):
* a step whose note, source, recorder, version or `updated_at` changed, nothing else: what a
  list reads of steps, it reads from the agreement's row (its kept listing and status), which
  the services rewrite in the same transaction when a step's outcome changes;
* an agreement whose `updated_at` and stamp changed, nothing else (the touch of such a write);
* a source added or changed: no list shows one or is selected by one, but for the gap filter.
Triggers rather than a word from the services, as in 0004, so every writer is covered (the
API, the pages, the admin, imports, raw SQL). Anything else written to a table with the
generation's trigger, or a TRUNCATE, moves it. The tables an agreement shows that have no such
trigger move the agreement's stamp instead (0020, 0024: statements, objections, forecasts, clock
extensions and choices), which alone would pass for an agreement's "shown only" update: a
statement trigger on each (LISTING_TOUCHING) says in the transaction-local setting
`pacttracker.listing_touched` that the transaction wrote one, and then nothing it wrote passes.
A table added later gets the generation's trigger or joins them.

A cached list keeps the stamps of the rows it shows and checks them on a hit (one query by
primary key), so a row changed by such a write is never served as it was. A list selected or
sorted by what such a write changes (`updated_at`, a step's source: the gap filter) stays on
the data generation (ratification.api.views.LISTING_PARAMS). PostgreSQL only; SQLite caches
nothing.
"""

from importlib import import_module

from django.db import migrations

PARTY_STAMPS = import_module("ratification.migrations.0025_party_stamps")

# The tables that move an agreement's stamp without moving the generation themselves.
LISTING_TOUCHING = [
    "agreements_statement",
    "agreements_objection",
    "ratification_forecast",
    "ratification_clockextension",
    "ratification_clockrulechoice",
]

TOUCHED = """
CREATE FUNCTION ratification_listing_touched() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('pacttracker.listing_touched', 'yes', true);
    RETURN NULL;
END
$$;
"""
TOUCHED_TRIGGER = """
CREATE TRIGGER {table}_listing_touched
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION ratification_listing_touched();
"""

# The columns a write may change in a row of these and still leave every list as it was.
SHOWN_ONLY = {
    "step": ["note", "note_updated_at", "source_id", "recorded_by_id", "version", "updated_at"],
    "agreement": ["updated_at", "cache_stamp"],
}

FORWARD = """
ALTER TABLE ratification_cache_generation ADD COLUMN listing bigint NOT NULL DEFAULT 1;
UPDATE ratification_cache_generation SET listing = value;

CREATE OR REPLACE FUNCTION ratification_cache_generation_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    generation bigint;
    touched text;
    listing_moves boolean :=
        current_setting('pacttracker.listing_generation_moved', true) IS DISTINCT FROM 'yes';
    touched_elsewhere boolean :=
        current_setting('pacttracker.listing_touched', true) IS NOT DISTINCT FROM 'yes';
BEGIN
    IF listing_moves AND touched_elsewhere THEN
        NULL;  -- a row of LISTING_TOUCHING was written: the listing moves
    ELSIF listing_moves AND TG_OP = 'UPDATE' THEN
        listing_moves := CASE TG_TABLE_NAME
            WHEN 'ratification_ratificationstep' THEN
                to_jsonb(NEW) - '{step}'::text[] <> to_jsonb(OLD) - '{step}'::text[]
            WHEN 'agreements_agreement' THEN
                to_jsonb(NEW) - '{agreement}'::text[] <> to_jsonb(OLD) - '{agreement}'::text[]
            WHEN 'agreements_source' THEN false
            ELSE true
        END;
    ELSIF listing_moves AND TG_OP = 'INSERT' AND TG_TABLE_NAME = 'agreements_source' THEN
        listing_moves := false;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM ratification_parties_touch_all();
    END IF;
    IF listing_moves THEN
        PERFORM set_config('pacttracker.listing_generation_moved', 'yes', true);
    END IF;
    IF current_setting('pacttracker.cache_generation_bumped', true) = 'yes' THEN
        generation := current_setting('pacttracker.cache_generation_value', true)::bigint;
        IF listing_moves THEN
            UPDATE ratification_cache_generation SET listing = listing + 1 WHERE id = 1;
        END IF;
    ELSE
        PERFORM set_config('pacttracker.cache_generation_bumped', 'yes', true);
        UPDATE ratification_cache_generation
           SET value = value + 1,
               listing = listing + CASE WHEN listing_moves THEN 1 ELSE 0 END
         WHERE id = 1
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
"""

# 0025's function as it was (its BUMP also creates the party stamps' function, still there).
BACKWARD = (
    PARTY_STAMPS.BUMP.partition("CREATE FUNCTION ratification_parties_stamp")[0]
    + "".join(f"DROP TRIGGER {table}_listing_touched ON {table};\n" for table in LISTING_TOUCHING)
    + "DROP FUNCTION ratification_listing_touched();\n"
    + "ALTER TABLE ratification_cache_generation DROP COLUMN listing;"
)


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forward(apps, schema_editor):
    columns = {name: "{" + ",".join(names) + "}" for name, names in SHOWN_ONLY.items()}
    sql = FORWARD.replace("{step}", columns["step"]).replace("{agreement}", columns["agreement"])
    sql += TOUCHED + "".join(TOUCHED_TRIGGER.format(table=table) for table in LISTING_TOUCHING)
    _run(schema_editor, sql)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("ratification", "0025_party_stamps")]

    operations = [migrations.RunPython(forward, backward)]
