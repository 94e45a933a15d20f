"""Full-text search ranks on a small vector (titles and summary) instead of the full one.

`search_vector` (0002) holds titles, summary and every provision's text: about 1.7 kB per
agreement once compressed, so PostgreSQL keeps it out of line (TOAST). `ts_rank` must read and
decompress it for every matching agreement before it can pick the best 50; at 100,000 agreements
a common word matched a third of them and the search took a second (bench/, EXPLAIN ANALYZE:
17,000 buffers read). Ranking on `search_rank_vector` (titles A, summary B: a few hundred bytes,
stored in the row) does the same ordering for title and summary matches in a tenth of the time;
provisions still decide whether an agreement matches, through the GIN index on `search_vector`,
and an agreement matched by its provisions alone ranks after those matched by title or summary.

The same trigger keeps both vectors current. PostgreSQL only, like 0002.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE agreements_agreement ADD COLUMN search_rank_vector tsvector;

CREATE OR REPLACE FUNCTION agreements_agreement_search_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := agreements_search_vector(NEW.id, NEW.title, NEW.short_name, NEW.summary);
    NEW.search_rank_vector :=
        setweight(to_tsvector('english', coalesce(NEW.title, '') || ' ' || coalesce(NEW.short_name, '')), 'A')
        || setweight(to_tsvector('english', coalesce(NEW.summary, '')), 'B');
    RETURN NEW;
END
$$;

UPDATE agreements_agreement
   SET search_rank_vector =
       setweight(to_tsvector('english', coalesce(title, '') || ' ' || coalesce(short_name, '')), 'A')
       || setweight(to_tsvector('english', coalesce(summary, '')), 'B');
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION agreements_agreement_search_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := agreements_search_vector(NEW.id, NEW.title, NEW.short_name, NEW.summary);
    RETURN NEW;
END
$$;

ALTER TABLE agreements_agreement DROP COLUMN IF EXISTS search_rank_vector;
"""


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("agreements", "0002_search_vector")]

    operations = [migrations.RunPython(forward, backward)]
