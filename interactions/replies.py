"""When each inbound contact was first answered, kept by database triggers.

The experience metrics time the first response per channel: from an inbound
interaction to the first outbound reply on its thread (an interaction whose parent it
is) at or after it. Finding that reply per inbound contact took a subquery per row,
seconds over a year of contacts at a million patients. So each inbound interaction
keeps the time as ``first_reply_at``, and the metrics read it from an index.

The triggers run in the transaction that writes the row, on every write path (a reply
logged, moved to another thread, re-timed or deleted, a contact's own time or direction
changed, a merge, a bulk update), on PostgreSQL and SQLite. An interaction that is not
inbound keeps none. The change feed does not report this column's changes: what the
record shows has not changed. Loads that switch triggers off write the column
themselves (``manage.py seed_scale``) or call :func:`rebuild` after.
"""

from django.db import connection

from crm.db import triggers_off

TABLE = "interactions_interaction"
NAME = "interactions_interaction_first_reply"

# What first_reply_at should hold for the row {r}.
_FIRST_REPLY = (
    "CASE WHEN {r}.direction = 'inbound' THEN ("
    f"SELECT MIN(reply.occurred_at) FROM {TABLE} AS reply "
    "WHERE reply.parent_id = {r}.id AND reply.direction = 'outbound' "
    "AND reply.occurred_at >= {r}.occurred_at) END"
)


def _refresh(ids: str, distinct: str) -> str:
    """Set first_reply_at again on the rows whose id is in ``ids``, where it changes."""
    value = _FIRST_REPLY.format(r=TABLE)
    return (
        f"UPDATE {TABLE} SET first_reply_at = {value} "
        f"WHERE id IN ({ids}) AND first_reply_at {distinct} {value}"
    )


# An update that can change a first reply: a row's thread, direction or time; or one
# that wrote the column itself (a save of a row read before its reply came), which is
# put right.
_MOVED = " OR ".join(
    f"OLD.{column} {{distinct}} NEW.{column}"
    for column in ("parent_id", "direction", "occurred_at", "first_reply_at")
)
# (event, when the trigger runs, the rows whose first reply it sets again)
_EVENTS = (
    ("insert", "NEW.parent_id IS NOT NULL", "NEW.parent_id"),
    ("update", _MOVED, "OLD.parent_id, NEW.parent_id, NEW.id"),
    ("delete", "OLD.parent_id IS NOT NULL", "OLD.parent_id"),
)


def install(schema_editor) -> None:
    """Create (or put back) the triggers: one per event."""
    uninstall(schema_editor)
    postgres = schema_editor.connection.vendor == "postgresql"
    distinct = "IS DISTINCT FROM" if postgres else "IS NOT"  # SQLite's IS DISTINCT FROM
    for event, when, ids in _EVENTS:
        name, when = f"{NAME}_{event}", when.format(distinct=distinct)
        refresh = _refresh(ids, distinct)
        if not postgres:
            schema_editor.execute(
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {TABLE} "
                f"FOR EACH ROW WHEN {when} BEGIN {refresh}; END"
            )
            continue
        schema_editor.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger AS $$ "
            f"BEGIN {refresh}; RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {name} AFTER {event.upper()} ON {TABLE} "
            f"FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION {name}()"
        )


def uninstall(schema_editor) -> None:
    postgres = schema_editor.connection.vendor == "postgresql"
    for event, _, _ in _EVENTS:
        name = f"{NAME}_{event}"
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {name}" + (f" ON {TABLE}" if postgres else "")
        )
        if postgres:
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")


def rebuild(using=connection) -> None:
    """Set every inbound contact's first reply again from the rows (after a load with
    triggers off): one pass over the replies, not a subquery per contact. No change-feed
    rows: nothing a reader sees changes."""
    with using.cursor() as cursor, triggers_off(cursor, TABLE):
        cursor.execute(
            f"UPDATE {TABLE} SET first_reply_at = NULL WHERE first_reply_at IS NOT NULL"
        )
        cursor.execute(
            f"""UPDATE {TABLE} SET first_reply_at = first.at FROM (
    SELECT inbound.id, MIN(reply.occurred_at) AS at
    FROM {TABLE} AS inbound JOIN {TABLE} AS reply ON reply.parent_id = inbound.id
    WHERE inbound.direction = 'inbound' AND reply.direction = 'outbound'
      AND reply.occurred_at >= inbound.occurred_at
    GROUP BY inbound.id
) AS first WHERE {TABLE}.id = first.id"""
        )
