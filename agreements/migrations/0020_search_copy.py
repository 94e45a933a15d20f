"""The search's columns in a narrow table of their own (issue 13).

A search whose matches are counted exactly (the planner expects at most 10,000) reads every
match twice: once to count them, once to sort the first group's (title or summary matches) into
list order. Both are bitmap scans of a GIN index, then a visit to each match's row for its
visibility and its sort keys; an agreement's row is about 2 kB (its kept list row, its summary,
its rank vector), four to a page, so `reciprocal access` (6,671 matches at 100,000 agreements)
visited 5,997 pages for each: 8 to 10 ms each, warm.

`agreements_search_copy` holds (agreement, signed_on, title, search_vector,
search_rank_vector), with both vectors kept out of line (`toast_tuple_target`, the least
PostgreSQL allows): about 100 bytes a row in 1,287 pages at 100,000 agreements, with a GIN index
on each vector. The same count and sort visit those pages instead: 3.7 to 4.2 ms and 4.5 to 5 ms.
The rows are then read by id from the agreements (agreements.api.search.RankedMatches).

Triggers keep it, in the writer's transaction:
- an agreement inserted, or updated in its title, short name, summary or signature date, or
  with vectors that its title, short name or summary written again rebuilt (0002 and 0003's
  BEFORE trigger, which an `UPDATE ... SET title = title` fires), has its row written again;
- an agreement's vectors written by the provision and statement triggers (0002, 0015) have its
  row written again;
- an agreement deleted has its row deleted; the agreements truncated empties the copy.
`agreements_search_copy_fill()` brings it in line, writing only the rows that differ
(agreements.listing.listing_rebuild calls it; the benchmark's generator loads its rows with
triggers off).

PostgreSQL only; on SQLite the search reads the provisions as it did.
"""

from django.db import migrations

FORWARD = """
CREATE TABLE agreements_search_copy (
    agreement_id bigint PRIMARY KEY,
    signed_on date,
    title varchar(500) NOT NULL,
    search_vector tsvector,
    search_rank_vector tsvector
) WITH (toast_tuple_target = 128);

CREATE FUNCTION agreements_search_copy_fill() RETURNS void LANGUAGE sql AS $$
    DELETE FROM agreements_search_copy s
     WHERE NOT EXISTS (SELECT 1 FROM agreements_agreement a WHERE a.id = s.agreement_id);
    INSERT INTO agreements_search_copy AS s
           (agreement_id, signed_on, title, search_vector, search_rank_vector)
    SELECT a.id, a.signed_on, a.title, a.search_vector, a.search_rank_vector
      FROM agreements_agreement a
    ON CONFLICT (agreement_id) DO UPDATE
       SET signed_on = EXCLUDED.signed_on, title = EXCLUDED.title,
           search_vector = EXCLUDED.search_vector,
           search_rank_vector = EXCLUDED.search_rank_vector
     WHERE s.signed_on IS DISTINCT FROM EXCLUDED.signed_on
        OR s.title IS DISTINCT FROM EXCLUDED.title
        OR s.search_vector IS DISTINCT FROM EXCLUDED.search_vector
        OR s.search_rank_vector IS DISTINCT FROM EXCLUDED.search_rank_vector;
$$;

CREATE FUNCTION agreements_search_copy_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM agreements_search_copy WHERE agreement_id = OLD.id;
    ELSE
        INSERT INTO agreements_search_copy
               (agreement_id, signed_on, title, search_vector, search_rank_vector)
        VALUES (NEW.id, NEW.signed_on, NEW.title, NEW.search_vector, NEW.search_rank_vector)
        ON CONFLICT (agreement_id) DO UPDATE
           SET signed_on = EXCLUDED.signed_on, title = EXCLUDED.title,
               search_vector = EXCLUDED.search_vector,
               search_rank_vector = EXCLUDED.search_rank_vector;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER agreements_search_copy_added_removed
    AFTER INSERT OR DELETE ON agreements_agreement
    FOR EACH ROW EXECUTE FUNCTION agreements_search_copy_write();
-- Django's save() writes every column: only a change to what the copy holds writes it again.
-- The vectors are compared only for an UPDATE that names a column they are built from, as the
-- BEFORE trigger then builds them again (a column list names the UPDATE's own columns, not
-- those a BEFORE trigger sets); other updates (a step's status, a stamp) do not unpack them.
CREATE TRIGGER agreements_search_copy_changed
    AFTER UPDATE OF title, short_name, summary, signed_on ON agreements_agreement
    FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title
          OR OLD.signed_on IS DISTINCT FROM NEW.signed_on
          OR OLD.search_vector IS DISTINCT FROM NEW.search_vector
          OR OLD.search_rank_vector IS DISTINCT FROM NEW.search_rank_vector)
    EXECUTE FUNCTION agreements_search_copy_write();
-- The provision and statement triggers set the vector itself.
CREATE TRIGGER agreements_search_copy_vector
    AFTER UPDATE OF search_vector, search_rank_vector ON agreements_agreement
    FOR EACH ROW EXECUTE FUNCTION agreements_search_copy_write();

CREATE FUNCTION agreements_search_copy_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE agreements_search_copy;
    RETURN NULL;
END
$$;
CREATE TRIGGER agreements_search_copy_truncated
    AFTER TRUNCATE ON agreements_agreement
    FOR EACH STATEMENT EXECUTE FUNCTION agreements_search_copy_truncated();

SELECT agreements_search_copy_fill();
CREATE INDEX agreements_search_copy_vector_idx
    ON agreements_search_copy USING gin (search_vector);
CREATE INDEX agreements_search_copy_rank_vector_idx
    ON agreements_search_copy USING gin (search_rank_vector);
ANALYZE agreements_search_copy;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS agreements_search_copy_truncated ON agreements_agreement;
DROP FUNCTION IF EXISTS agreements_search_copy_truncated();
DROP TRIGGER IF EXISTS agreements_search_copy_vector ON agreements_agreement;
DROP TRIGGER IF EXISTS agreements_search_copy_changed ON agreements_agreement;
DROP TRIGGER IF EXISTS agreements_search_copy_added_removed ON agreements_agreement;
DROP FUNCTION IF EXISTS agreements_search_copy_write();
DROP FUNCTION IF EXISTS agreements_search_copy_fill();
DROP TABLE IF EXISTS agreements_search_copy;
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
    dependencies = [
        ("agreements", "0019_list_doc"),
    ]

    operations = [migrations.RunPython(forward, backward)]
