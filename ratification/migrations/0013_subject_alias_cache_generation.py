"""The API's cached lists (0004_response_cache_generation) depend on subject aliases too: the
agreement list's `subject` filter resolves an alias to its subject, so adding an alias changes
what `?subject=defense-logistics` finds. A write to the alias table moves the data generation on,
as a write to any other table a response is built from does. PostgreSQL only, as 0004."""

from django.db import migrations

TABLE = "agreements_subjectalias"

FORWARD = f"""
CREATE CONSTRAINT TRIGGER {TABLE}_cache_generation
    AFTER INSERT OR UPDATE OR DELETE ON {TABLE}
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ratification_cache_generation_bump();
CREATE TRIGGER {TABLE}_cache_generation_truncate
    AFTER TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION ratification_cache_generation_bump();
"""

BACKWARD = f"""
DROP TRIGGER IF EXISTS {TABLE}_cache_generation ON {TABLE};
DROP TRIGGER IF EXISTS {TABLE}_cache_generation_truncate ON {TABLE};
"""


def _run(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("ratification", "0012_subject_alias_permissions"),
        ("agreements", "0010_subject_aliases_and_history"),
    ]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
