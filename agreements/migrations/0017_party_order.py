"""Each party's agreements in list order, in a narrow table of their own (issue 13).

A list filtered on two parties (the analyst's "what do Japan and the Philippines share", the
API's `?party=JP&party=PH`) tested the kept facet keys of each agreement in list order, or of
each match of the GIN index before a sort: either way a visit to the wide agreement row per
candidate (14 ms for page 1 of AU and FR at 100,000 agreements, 15 for page 10 of US and JP).

`agreements_party_order` holds (party, agreement, signed_on, title): one row per participation,
about 70 bytes, in two indexes of a party's agreements in list order (the API's newest first
with unsigned ones first, the page's with them last). A list of shared agreements walks one
party's entries in order and looks each up under the other party by key, inside the indexes
(agreements.listing.party_order_ids): 2.6 and 4.2 ms for the two pages above, cold.

Row triggers keep it: a participation added, removed or moved to another party or agreement,
an agreement's signature date or title changed, an agreement deleted; either table truncated.
`agreements_party_order_fill()` brings it in line with the participations, writing only what
differs (agreements.listing.listing_rebuild calls it; the benchmark's generator loads its rows
with triggers off).

PostgreSQL only; on SQLite lists filter by participations.
"""

from django.db import migrations

FORWARD = """
CREATE TABLE agreements_party_order (
    party_id bigint NOT NULL,
    agreement_id bigint NOT NULL,
    signed_on date,
    title varchar(500) NOT NULL,
    PRIMARY KEY (agreement_id, party_id)
);
CREATE INDEX agreements_party_order_newest_idx
    ON agreements_party_order (party_id, signed_on DESC NULLS FIRST, title, agreement_id);
CREATE INDEX agreements_party_order_newest_nl_idx
    ON agreements_party_order (party_id, signed_on DESC NULLS LAST, title, agreement_id);

-- Brings the table in line with the participations, writing only the rows that differ.
CREATE FUNCTION agreements_party_order_fill() RETURNS void LANGUAGE sql AS $$
    DELETE FROM agreements_party_order o
     WHERE NOT EXISTS (SELECT 1 FROM agreements_participation p
                        WHERE p.agreement_id = o.agreement_id AND p.party_id = o.party_id);
    UPDATE agreements_party_order o SET signed_on = a.signed_on, title = a.title
      FROM agreements_agreement a
     WHERE a.id = o.agreement_id
       AND (o.signed_on IS DISTINCT FROM a.signed_on OR o.title <> a.title);
    INSERT INTO agreements_party_order (party_id, agreement_id, signed_on, title)
    SELECT p.party_id, p.agreement_id, a.signed_on, a.title
      FROM agreements_participation p
      JOIN agreements_agreement a ON a.id = p.agreement_id
    ON CONFLICT (agreement_id, party_id) DO NOTHING;
$$;

CREATE FUNCTION agreements_participation_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        DELETE FROM agreements_party_order
         WHERE agreement_id = OLD.agreement_id AND party_id = OLD.party_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO agreements_party_order (party_id, agreement_id, signed_on, title)
        SELECT NEW.party_id, a.id, a.signed_on, a.title
          FROM agreements_agreement a
         WHERE a.id = NEW.agreement_id
        ON CONFLICT (agreement_id, party_id) DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER agreements_participation_order_added_removed
    AFTER INSERT OR DELETE ON agreements_participation
    FOR EACH ROW EXECUTE FUNCTION agreements_participation_order();
-- Django's save() writes every column: only a party or agreement that changed moves the row.
CREATE TRIGGER agreements_participation_order_moved
    AFTER UPDATE OF party_id, agreement_id ON agreements_participation
    FOR EACH ROW
    WHEN (OLD.party_id IS DISTINCT FROM NEW.party_id
          OR OLD.agreement_id IS DISTINCT FROM NEW.agreement_id)
    EXECUTE FUNCTION agreements_participation_order();

CREATE FUNCTION agreements_agreement_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM agreements_party_order WHERE agreement_id = OLD.id;
    ELSE
        UPDATE agreements_party_order SET signed_on = NEW.signed_on, title = NEW.title
         WHERE agreement_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER agreements_agreement_order_changed
    AFTER UPDATE OF signed_on, title ON agreements_agreement
    FOR EACH ROW
    WHEN (OLD.signed_on IS DISTINCT FROM NEW.signed_on OR OLD.title IS DISTINCT FROM NEW.title)
    EXECUTE FUNCTION agreements_agreement_order();
CREATE TRIGGER agreements_agreement_order_deleted
    AFTER DELETE ON agreements_agreement
    FOR EACH ROW EXECUTE FUNCTION agreements_agreement_order();

-- TRUNCATE fires no row trigger (Django's flush empties the tables this way between tests).
CREATE FUNCTION agreements_party_order_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE agreements_party_order;
    RETURN NULL;
END
$$;
CREATE TRIGGER agreements_participation_order_truncated
    AFTER TRUNCATE ON agreements_participation
    FOR EACH STATEMENT EXECUTE FUNCTION agreements_party_order_truncated();
CREATE TRIGGER agreements_agreement_order_truncated
    AFTER TRUNCATE ON agreements_agreement
    FOR EACH STATEMENT EXECUTE FUNCTION agreements_party_order_truncated();

SELECT agreements_party_order_fill();
ANALYZE agreements_party_order;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS agreements_agreement_order_truncated ON agreements_agreement;
DROP TRIGGER IF EXISTS agreements_participation_order_truncated ON agreements_participation;
DROP FUNCTION IF EXISTS agreements_party_order_truncated();
DROP TRIGGER IF EXISTS agreements_agreement_order_deleted ON agreements_agreement;
DROP TRIGGER IF EXISTS agreements_agreement_order_changed ON agreements_agreement;
DROP FUNCTION IF EXISTS agreements_agreement_order();
DROP TRIGGER IF EXISTS agreements_participation_order_moved ON agreements_participation;
DROP TRIGGER IF EXISTS agreements_participation_order_added_removed ON agreements_participation;
DROP FUNCTION IF EXISTS agreements_participation_order();
DROP FUNCTION IF EXISTS agreements_party_order_fill();
DROP TABLE IF EXISTS agreements_party_order;
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
    dependencies = [
        ("agreements", "0016_kept_detail"),
    ]

    operations = [migrations.RunPython(forward, backward)]
