"""Grant the role the application runs as what it needs, and no more.

Migrations run as the database owner; the application runs as another role, so that
nothing it does can rewrite the access log: on ``crm_accessrecord`` it may only INSERT
and SELECT (no UPDATE, DELETE or TRUNCATE, and, not being the owner, no ALTER TABLE ...
DISABLE TRIGGER). Run this as the owner after every ``migrate``; it is safe to repeat.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from psycopg import sql

APPEND_ONLY = ("crm_accessrecord",)


class Command(BaseCommand):
    help = "Grant the application's database role its privileges (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("role", help="The role the application connects as.")

    def handle(self, *args, role: str, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Roles are a PostgreSQL matter; SQLite has none.")
        tables = connection.introspection.table_names(include_views=False)
        who = sql.Identifier(role)
        statements = [
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(who),
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(who),
        ]
        for table in tables:
            name = sql.Identifier(table)
            privileges = (
                "SELECT, INSERT" if table in APPEND_ONLY else "SELECT, INSERT, UPDATE, DELETE"
            )
            statements += [
                sql.SQL("REVOKE ALL ON {} FROM {}").format(name, who),
                sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(privileges), name, who),
            ]
        with connection.cursor() as cursor:
            raw = connection.connection
            for statement in statements:
                cursor.execute(statement.as_string(raw))
        self.stdout.write(
            f"{role}: read and write on {len(tables) - len(APPEND_ONLY)} tables; "
            f"insert and read only on {', '.join(APPEND_ONLY)}."
        )
