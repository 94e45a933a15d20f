"""The agreement's API detail (cached, and kept: ratification.api.detail) shows its forecasts,
statements and objections, so every write to those rows moves the agreement's stamp, whoever
writes them (migration 0007's rule):

* statements and objections, row by row, like the steps (the statement search trigger of
  agreements 0015 moved it only for some columns, and objections not at all);
* forecasts once per statement: the daily refresh replaces thousands of rows in one
  statement, and one update of each agreement it touched is enough.

PostgreSQL only, like the stamps themselves; on SQLite this does nothing.
"""

from django.db import migrations

ROW_STAMPED = {
    "agreements_statement": ("OLD.agreement_id", "NEW.agreement_id"),
    "agreements_objection": (
        "(SELECT s.agreement_id FROM agreements_statement s WHERE s.id = OLD.statement_id)",
        "(SELECT s.agreement_id FROM agreements_statement s WHERE s.id = NEW.statement_id)",
    ),
}

ROW_FUNCTION = """
CREATE FUNCTION {table}_stamp_agreement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE agreements_agreement SET cache_stamp = cache_stamp + 1 WHERE id IN ({old_id});
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE agreements_agreement SET cache_stamp = cache_stamp + 1 WHERE id IN ({new_id});
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER {table}_stamp_agreement
    AFTER INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_stamp_agreement();
"""

# A trigger with transition tables takes one event, so one per event; the function reads
# whichever of the two tables its event has.
FORECAST_FUNCTION = """
CREATE FUNCTION ratification_forecast_stamp_agreements() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE agreements_agreement SET cache_stamp = cache_stamp + 1
         WHERE id IN (SELECT agreement_id FROM forecast_new);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE agreements_agreement SET cache_stamp = cache_stamp + 1
         WHERE id IN (SELECT agreement_id FROM forecast_old);
    ELSE
        UPDATE agreements_agreement SET cache_stamp = cache_stamp + 1
         WHERE id IN (SELECT agreement_id FROM forecast_old
                      UNION SELECT agreement_id FROM forecast_new);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER ratification_forecast_stamp_insert
    AFTER INSERT ON ratification_forecast REFERENCING NEW TABLE AS forecast_new
    FOR EACH STATEMENT EXECUTE FUNCTION ratification_forecast_stamp_agreements();
CREATE TRIGGER ratification_forecast_stamp_delete
    AFTER DELETE ON ratification_forecast REFERENCING OLD TABLE AS forecast_old
    FOR EACH STATEMENT EXECUTE FUNCTION ratification_forecast_stamp_agreements();
CREATE TRIGGER ratification_forecast_stamp_update
    AFTER UPDATE ON ratification_forecast
    REFERENCING OLD TABLE AS forecast_old NEW TABLE AS forecast_new
    FOR EACH STATEMENT EXECUTE FUNCTION ratification_forecast_stamp_agreements();
"""


def _forward_sql() -> str:
    rows = "".join(
        ROW_FUNCTION.format(table=table, old_id=old_id, new_id=new_id)
        for table, (old_id, new_id) in ROW_STAMPED.items()
    )
    return rows + FORECAST_FUNCTION


def _backward_sql() -> str:
    rows = "".join(
        f"DROP TRIGGER IF EXISTS {table}_stamp_agreement ON {table};\n"
        f"DROP FUNCTION IF EXISTS {table}_stamp_agreement();\n"
        for table in ROW_STAMPED
    )
    forecasts = "".join(
        f"DROP TRIGGER IF EXISTS ratification_forecast_stamp_{event} ON ratification_forecast;\n"
        for event in ("insert", "delete", "update")
    )
    return rows + forecasts + "DROP FUNCTION IF EXISTS ratification_forecast_stamp_agreements();\n"


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, _forward_sql())


def backward(apps, schema_editor):
    _run(schema_editor, _backward_sql())


class Migration(migrations.Migration):
    dependencies = [
        ("ratification", "0023_cache_stamp_never_goes_back"),
        ("agreements", "0016_kept_detail"),
    ]

    operations = [migrations.RunPython(forward, backward)]
