"""Running the project's migrations to a point, for tests of what a migration does to
data written by the code before it (``pytest.mark.django_db(transaction=True)`` and the
``migrated_back`` fixture, which applies every migration again afterwards)."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets):
    """Migrates to ``targets`` [(app, migration)] and gives the apps of that state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_to_the_latest():
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
