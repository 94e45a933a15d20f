"""A note on a step no longer moves its agreement's parties' stamps (issue 13).

A party's page is kept in each web process under the party's stamp (0025), which moved with any
write to a row of one of its agreements: an agreement's parts move the agreement's row (its
`cache_stamp`, 0007 onwards), and that row's trigger noted its parties. So an editor's note on a
step rendered again the pages of all the agreement's parties (the busiest party's on almost every
write), though a party's page shows no step's note, source or recorder, nor any agreement's
`updated_at`. Now the agreement's trigger passes over two of its updates:
* a touch: the row's `updated_at` moved and nothing else but the stamp it moves (a step written
  through the services touches its agreement; what the step changed moves the stamp itself);
* a stamp moved by a step's trigger for a step whose note, source, recorder, version or
  `updated_at` changed and nothing else (0026's SHOWN_ONLY), which the step's trigger says in the
  transaction-local setting `pacttracker.stamp_shown_only` while it moves the stamp.
Every other write to an agreement's row or its parts notes its parties as before. PostgreSQL
only, as 0025.
"""

from importlib import import_module

from django.db import migrations

PARTY_STAMPS = import_module("ratification.migrations.0025_party_stamps")
LISTING = import_module("ratification.migrations.0026_listing_generation")

STEP_COLUMNS = "{" + ",".join(LISTING.SHOWN_ONLY["step"]) + "}"
AGREEMENT_COLUMNS = "{" + ",".join(LISTING.SHOWN_ONLY["agreement"]) + "}"

FORWARD = """
CREATE OR REPLACE FUNCTION ratification_ratificationstep_stamp_agreement() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    shown_only boolean := TG_OP = 'UPDATE'
        AND to_jsonb(NEW) - '{step}'::text[] = to_jsonb(OLD) - '{step}'::text[];
BEGIN
    IF shown_only THEN
        PERFORM set_config('pacttracker.stamp_shown_only', 'yes', true);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        UPDATE agreements_agreement SET cache_stamp = cache_stamp + 1
         WHERE id IN (SELECT p.agreement_id FROM agreements_participation p
                       WHERE p.id = OLD.participation_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE agreements_agreement SET cache_stamp = cache_stamp + 1
         WHERE id IN (SELECT p.agreement_id FROM agreements_participation p
                       WHERE p.id = NEW.participation_id);
    END IF;
    IF shown_only THEN
        PERFORM set_config('pacttracker.stamp_shown_only', '', true);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION agreements_agreement_touch_parties() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row_id bigint;
BEGIN
    IF TG_OP = 'UPDATE'
       AND to_jsonb(NEW) - '{agreement}'::text[] = to_jsonb(OLD) - '{agreement}'::text[]
       AND (NEW.updated_at IS DISTINCT FROM OLD.updated_at
            OR current_setting('pacttracker.stamp_shown_only', true) = 'yes') THEN
        RETURN NULL;
    END IF;
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
"""

STAMPS = import_module("ratification.migrations.0007_agreement_cache_stamps")


def _before(sql: str, function: str, trigger: str) -> str:
    """The function `function` as `sql` created it (up to its trigger), to create it again."""
    start = sql.index(f"CREATE FUNCTION {function}()")
    end = sql.index(f"CREATE TRIGGER {trigger}", start)
    return sql[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def _previous() -> str:
    """0007's step function and 0025's agreement function."""
    step = "ratification_ratificationstep_stamp_agreement"
    agreement = "agreements_agreement_touch_parties"
    return _before(STAMPS._forward_sql(), step, step) + _before(
        PARTY_STAMPS.FORWARD, agreement, agreement
    )


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forward(apps, schema_editor):
    sql = FORWARD.replace("{step}", STEP_COLUMNS).replace("{agreement}", AGREEMENT_COLUMNS)
    _run(schema_editor, sql)


def backward(apps, schema_editor):
    _run(schema_editor, _previous())


class Migration(migrations.Migration):
    dependencies = [("ratification", "0026_listing_generation")]

    operations = [migrations.RunPython(forward, backward)]
