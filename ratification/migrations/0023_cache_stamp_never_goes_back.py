"""An agreement's cache stamp (0007) moved on only when an UPDATE left it as it was. A full
save() of an Agreement read before one of its parts was written (which moved the stamp) wrote
the older number back, and the stamp went back: the cached API detail of that number was served
again after the write, and the worker (ratification.tasks.agreement_changed) could take the
agreement for unchanged. Now an UPDATE that does not move the stamp forward moves it past the
stored one. PostgreSQL only, as 0007."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION agreements_agreement_stamp_self() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Any change to the row moves its stamp on, unless the change is the stamp's own move
    -- forward (a part's trigger); a stale number written back by a full save moves it too.
    IF NEW.cache_stamp <= OLD.cache_stamp THEN
        NEW.cache_stamp := OLD.cache_stamp + 1;
    END IF;
    RETURN NEW;
END
$$;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION agreements_agreement_stamp_self() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.cache_stamp = OLD.cache_stamp THEN
        NEW.cache_stamp := OLD.cache_stamp + 1;
    END IF;
    RETURN NEW;
END
$$;
"""


def _run(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("ratification", "0022_started_clocks")]

    operations = [migrations.RunPython(_run(FUNCTION), _run(BACKWARD))]
