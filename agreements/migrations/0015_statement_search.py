"""Full-text search covers reservations and declarations: their text joins the provisions' in
`search_vector` (weight C), and a trigger on the statements table rebuilds an agreement's vector
when one of its statements is added, changed or removed, in the writer's transaction as 0002's
provision trigger does. PostgreSQL only, like 0002; SQLite's simple match reads the statements
table directly (agreements.api.search)."""

from django.db import migrations

VECTOR_WITH_STATEMENTS = """
CREATE OR REPLACE FUNCTION agreements_search_vector(a_id bigint, a_title text, a_short text, a_summary text)
RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('english', coalesce(a_title, '') || ' ' || coalesce(a_short, '')), 'A')
        || setweight(to_tsvector('english', coalesce(a_summary, '')), 'B')
        || setweight(to_tsvector('english', coalesce(
               (SELECT string_agg(p.label || ' ' || p.text, ' ')
                  FROM agreements_provision p WHERE p.agreement_id = a_id), '')), 'C')
        || setweight(to_tsvector('english', coalesce(
               (SELECT string_agg(s.article || ' ' || s.text, ' ')
                  FROM agreements_statement s WHERE s.agreement_id = a_id), '')), 'C')
$$;
"""

# As migration 0002 left it.
VECTOR_WITHOUT_STATEMENTS = """
CREATE OR REPLACE FUNCTION agreements_search_vector(a_id bigint, a_title text, a_short text, a_summary text)
RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('english', coalesce(a_title, '') || ' ' || coalesce(a_short, '')), 'A')
        || setweight(to_tsvector('english', coalesce(a_summary, '')), 'B')
        || setweight(to_tsvector('english', coalesce(
               (SELECT string_agg(p.label || ' ' || p.text, ' ')
                  FROM agreements_provision p WHERE p.agreement_id = a_id), '')), 'C')
$$;
"""

TRIGGER = """
CREATE FUNCTION agreements_statement_search_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER agreements_statement_search
    AFTER INSERT OR UPDATE OF agreement_id, article, text OR DELETE ON agreements_statement
    FOR EACH ROW EXECUTE FUNCTION agreements_statement_search_trigger();
"""

DROP_TRIGGER = """
DROP TRIGGER IF EXISTS agreements_statement_search ON agreements_statement;
DROP FUNCTION IF EXISTS agreements_statement_search_trigger();
"""

# Agreements with statements get their vector again under the function just defined.
REFRESH = """
UPDATE agreements_agreement a
   SET search_vector = agreements_search_vector(a.id, a.title, a.short_name, a.summary)
 WHERE EXISTS (SELECT 1 FROM agreements_statement s WHERE s.agreement_id = a.id);
"""


def _run(schema_editor, *sqls: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # No parameters: several statements are only allowed in psycopg's simple query protocol.
    with schema_editor.connection.cursor() as cursor:
        for sql in sqls:
            cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, VECTOR_WITH_STATEMENTS, TRIGGER, REFRESH)


def backward(apps, schema_editor):
    _run(schema_editor, DROP_TRIGGER, VECTOR_WITHOUT_STATEMENTS, REFRESH)


class Migration(migrations.Migration):
    dependencies = [("agreements", "0014_statements_and_objections")]

    operations = [migrations.RunPython(forward, backward)]
