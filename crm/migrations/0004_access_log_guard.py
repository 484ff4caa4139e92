"""On PostgreSQL, the database itself refuses to change or delete access records."""

from django.db import migrations

CREATE = [
    """
    CREATE OR REPLACE FUNCTION crm_accessrecord_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'access records are append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER crm_accessrecord_append_only
    BEFORE UPDATE OR DELETE ON crm_accessrecord
    FOR EACH ROW EXECUTE FUNCTION crm_accessrecord_append_only()
    """,
]
DROP = [
    "DROP TRIGGER IF EXISTS crm_accessrecord_append_only ON crm_accessrecord",
    "DROP FUNCTION IF EXISTS crm_accessrecord_append_only()",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_access_log")]

    operations = [migrations.RunPython(run(CREATE), run(DROP))]
