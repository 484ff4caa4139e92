"""A trigram index for name search on PostgreSQL; SQLite has none and scans instead."""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS patient_name_search_trgm "
    "ON patients_patient USING gin (name_search gin_trgm_ops)",
]
DROP = ["DROP INDEX IF EXISTS patient_name_search_trgm"]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_initial")]

    operations = [migrations.RunPython(run(CREATE), run(DROP))]
