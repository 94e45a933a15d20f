"""Each agreement's API list row as JSON text, kept ready by PostgreSQL (issue 13).

The API's list built each row in Python: the row's columns, its kept listing decoded, each party
named from the names read per response and sorted, then all of it encoded again. For a page of
fifty multilateral agreements (138 KB, ten thousand party entries) that was most of a request.

`agreements_agreement.list_doc` holds the row as the list shows it, every field but `url` (which
depends on the address asked for) and `updated_at`, in the serializer's order and forms: dates
as ISO days, the parties named and ordered by name then code, the subjects by name, both by code
point as Python sorts them (COLLATE "C"). The list reads it with `updated_at` and puts both into
the response as they are (orjson.Fragment). `updated_at` stays out: an editor's note on a step
moves only the row's `updated_at` and stamp, which ratification 0026 and 0027 recognise as a
write that changes no list's membership or order; a kept text that moved with it would hide
that.

Triggers keep it, so no write path can leave it stale:
- a row inserted, or updated in any column the row shows (its kept listing among them), has it
  built again before it is written (BEFORE trigger);
- a party or subject renamed has the rows of its agreements built again, in the same
  transaction (found by the GIN-indexed facet keys).

`agreements_list_doc_fill()` builds every row whose text differs (agreements.listing's
`listing_rebuild`, and so `manage.py listing_rebuild`, calls it); this migration runs it a batch
of ids at a time.

PostgreSQL only; on SQLite the list builds each row in Python, as before.
"""

from django.db import migrations

FORWARD = r"""
ALTER TABLE agreements_agreement ADD COLUMN IF NOT EXISTS list_doc text;

-- The row, built from its columns, its kept listing and the names (a JSON object, compact). A
-- value missing from the listing is written as null, so the text is always JSON.
CREATE OR REPLACE FUNCTION agreements_list_doc(a agreements_agreement) RETURNS text
LANGUAGE sql STABLE AS $$
SELECT concat(
    '{"slug":', to_json(a.slug),
    ',"title":', to_json(a.title),
    ',"short_name":', to_json(a.short_name),
    ',"kind":', to_json(a.kind),
    ',"status":', to_json(a.status),
    ',"status_since":', coalesce(to_json(to_char(a.status_since, 'YYYY-MM-DD'))::text, 'null'),
    ',"signed_on":', coalesce(to_json(to_char(a.signed_on, 'YYYY-MM-DD'))::text, 'null'),
    ',"expected_entry_into_force_on":',
    coalesce(to_json(to_char(a.expected_entry_into_force_on, 'YYYY-MM-DD'))::text, 'null'),
    ',"entered_into_force_on":',
    coalesce(to_json(to_char(a.entered_into_force_on, 'YYYY-MM-DD'))::text, 'null'),
    ',"ended_on":', coalesce(to_json(to_char(a.ended_on, 'YYYY-MM-DD'))::text, 'null'),
    ',"parties":[',
    (SELECT string_agg(
                concat('{"code":', coalesce(to_json(p.code)::text, 'null'),
                       ',"name":', coalesce(to_json(coalesce(party.name, p.code))::text, 'null'),
                       ',"progress":', coalesce(to_json(p.progress)::text, 'null'),
                       ',"consented_on":', coalesce(to_json(p.consented_on)::text, 'null'),
                       '}'),
                ','
                ORDER BY coalesce(party.name, p.code) COLLATE "C", p.code COLLATE "C")
       FROM jsonb_to_recordset(CASE jsonb_typeof(a.listing -> 'parties')
                                 WHEN 'array' THEN a.listing -> 'parties' ELSE '[]' END)
            AS p(code text, progress text, consented_on text)
       LEFT JOIN parties_party party ON party.code = p.code),
    '],"subjects":[',
    (SELECT string_agg(to_json(coalesce(subject.name, s.slug))::text, ','
                       ORDER BY coalesce(subject.name, s.slug) COLLATE "C")
       FROM jsonb_array_elements_text(CASE jsonb_typeof(a.listing -> 'subjects')
                                        WHEN 'array' THEN a.listing -> 'subjects' ELSE '[]' END)
            AS s(slug)
       LEFT JOIN agreements_subject subject ON subject.slug = s.slug),
    '],"version":', a.version,
    '}'
)
$$;

CREATE OR REPLACE FUNCTION agreements_list_doc_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.list_doc := agreements_list_doc(NEW);
    RETURN NEW;
END
$$;
-- Django's save() writes every column, so any save builds it; an UPDATE naming only other
-- columns (the cache stamps, the search columns) leaves it as it is.
DROP TRIGGER IF EXISTS agreements_agreement_list_doc ON agreements_agreement;
CREATE TRIGGER agreements_agreement_list_doc
    BEFORE INSERT OR UPDATE OF slug, title, short_name, kind, status, status_since, signed_on,
        expected_entry_into_force_on, entered_into_force_on, ended_on, version, listing
    ON agreements_agreement
    FOR EACH ROW EXECUTE FUNCTION agreements_list_doc_keep();

-- A name shown in other agreements' rows: theirs are built again (a code or slug as well: a row
-- names one it no longer finds by its code as the code). TG_ARGV: the facet whose keys hold the
-- renamed row ('party', 'subject') and the column they name it by.
-- The lock first: a transaction writing an agreement meanwhile (adding the party to it, say)
-- builds its text with the old name, and its row is not yet one this update can see. The lock
-- waits for such writers to commit, and the update that follows (a statement of its own, so
-- with a new snapshot) sees their rows; writers that come later wait for the rename to commit
-- and read the new name.
CREATE OR REPLACE FUNCTION agreements_list_doc_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE agreements_agreement IN SHARE ROW EXCLUSIVE MODE;
    UPDATE agreements_agreement a SET list_doc = agreements_list_doc(a)
     WHERE a.facet_keys @> jsonb_build_array(TG_ARGV[0] || ':' || (to_jsonb(OLD) ->> TG_ARGV[1]));
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS parties_party_list_doc ON parties_party;
CREATE TRIGGER parties_party_list_doc
    AFTER UPDATE OF name, code ON parties_party
    FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.code IS DISTINCT FROM NEW.code)
    EXECUTE FUNCTION agreements_list_doc_renamed('party', 'code');
DROP TRIGGER IF EXISTS agreements_subject_list_doc ON agreements_subject;
CREATE TRIGGER agreements_subject_list_doc
    AFTER UPDATE OF name, slug ON agreements_subject
    FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.slug IS DISTINCT FROM NEW.slug)
    EXECUTE FUNCTION agreements_list_doc_renamed('subject', 'slug');

-- The rows with ids from `first` to `last` whose text differs from a fresh build, built again;
-- how many.
CREATE OR REPLACE FUNCTION agreements_list_doc_fill(first bigint DEFAULT NULL,
                                                    last bigint DEFAULT NULL)
RETURNS bigint LANGUAGE sql AS $$
    WITH fresh AS (
        SELECT a.id, agreements_list_doc(a) AS doc FROM agreements_agreement a
         WHERE a.id BETWEEN coalesce(first, 0) AND coalesce(last, 9223372036854775807)
    ), built AS (
        UPDATE agreements_agreement a SET list_doc = fresh.doc
          FROM fresh
         WHERE a.id = fresh.id AND a.list_doc IS DISTINCT FROM fresh.doc
        RETURNING 1
    )
    SELECT count(*) FROM built;
$$;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS agreements_subject_list_doc ON agreements_subject;
DROP TRIGGER IF EXISTS parties_party_list_doc ON parties_party;
DROP FUNCTION IF EXISTS agreements_list_doc_renamed();
DROP TRIGGER IF EXISTS agreements_agreement_list_doc ON agreements_agreement;
DROP FUNCTION IF EXISTS agreements_list_doc_keep();
DROP FUNCTION IF EXISTS agreements_list_doc_fill(bigint, bigint);
DROP FUNCTION IF EXISTS agreements_list_doc(agreements_agreement);
ALTER TABLE agreements_agreement DROP COLUMN IF EXISTS list_doc;
"""


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


FILL_BATCH = 5000


def forward(apps, schema_editor):
    """The column, functions and triggers, each committed at once (the migration is not atomic:
    one transaction would hold the table's lock while every row is built, about 50 s at 100,000
    agreements); then the rows a batch at a time, each batch its own transaction. Run again after
    a failure, it picks up where it stopped. Until a row is built the list builds it in Python."""
    _run(schema_editor, FORWARD)
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM agreements_agreement")
        (last,) = cursor.fetchone()
        for first in range(0, last + 1, FILL_BATCH):
            cursor.execute(
                "SELECT agreements_list_doc_fill(%s, %s)", [first, first + FILL_BATCH - 1]
            )


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("agreements", "0018_listing_decoded_by_orjson"),
        ("parties", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward)]
