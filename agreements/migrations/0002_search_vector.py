"""Full-text search on PostgreSQL: a stored, GIN-indexed tsvector kept current by triggers.

The column is not a model field: only PostgreSQL has it, and only the `q` filter
(agreements.filters) reads it, through SQL. On SQLite this migration does nothing and `q` uses
a simple case-insensitive match instead.

Triggers rather than service code keep the vector current, so every writer (services, admin,
data migrations, raw SQL) is covered:
* before an agreement's title, short name or summary is written, its vector is rebuilt;
* after a provision is added, changed or removed, its agreement's vector is rebuilt.
Weights: titles A, summary B, provisions C (ts_rank ranks title matches first).
"""

from django.db import migrations

FORWARD = """
ALTER TABLE agreements_agreement ADD COLUMN search_vector tsvector;

CREATE FUNCTION agreements_search_vector(a_id bigint, a_title text, a_short text, a_summary text)
RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('english', coalesce(a_title, '') || ' ' || coalesce(a_short, '')), 'A')
        || setweight(to_tsvector('english', coalesce(a_summary, '')), 'B')
        || setweight(to_tsvector('english', coalesce(
               (SELECT string_agg(p.label || ' ' || p.text, ' ')
                  FROM agreements_provision p WHERE p.agreement_id = a_id), '')), 'C')
$$;

CREATE FUNCTION agreements_agreement_search_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := agreements_search_vector(NEW.id, NEW.title, NEW.short_name, NEW.summary);
    RETURN NEW;
END
$$;

CREATE TRIGGER agreements_agreement_search
    BEFORE INSERT OR UPDATE OF title, short_name, summary ON agreements_agreement
    FOR EACH ROW EXECUTE FUNCTION agreements_agreement_search_trigger();

CREATE FUNCTION agreements_provision_search_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE agreements_agreement a
       SET search_vector = agreements_search_vector(a.id, a.title, a.short_name, a.summary)
     WHERE a.id IN (
        SELECT agreement_id FROM (VALUES
            (CASE WHEN TG_OP <> 'INSERT' THEN OLD.agreement_id END),
            (CASE WHEN TG_OP <> 'DELETE' THEN NEW.agreement_id END)) AS t(agreement_id)
        WHERE agreement_id IS NOT NULL);
    RETURN NULL;
END
$$;

CREATE TRIGGER agreements_provision_search
    AFTER INSERT OR UPDATE OR DELETE ON agreements_provision
    FOR EACH ROW EXECUTE FUNCTION agreements_provision_search_trigger();

UPDATE agreements_agreement
   SET search_vector = agreements_search_vector(id, title, short_name, summary);

-- The `q` filter: `search_vector @@ websearch_to_tsquery(...)`.
CREATE INDEX agreement_search_vector_idx ON agreements_agreement USING gin (search_vector);
"""

BACKWARD = """
DROP TRIGGER IF EXISTS agreements_provision_search ON agreements_provision;
DROP TRIGGER IF EXISTS agreements_agreement_search ON agreements_agreement;
DROP FUNCTION IF EXISTS agreements_provision_search_trigger();
DROP FUNCTION IF EXISTS agreements_agreement_search_trigger();
DROP FUNCTION IF EXISTS agreements_search_vector(bigint, text, text, text);
DROP INDEX IF EXISTS agreement_search_vector_idx;
ALTER TABLE agreements_agreement DROP COLUMN IF EXISTS search_vector;
"""


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # No parameters: several statements are only allowed in psycopg's simple query protocol.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("agreements", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
