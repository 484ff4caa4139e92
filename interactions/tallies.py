"""Inbound contacts and their times to the first reply counted per week in duration
bins, kept by database triggers (``crm.tallies``) for the experience metrics.

A year of first-response figures read 1.1 million inbound contacts at a million patients
and sorted their reply times per channel (1.3 s). So each inbound contact is counted in
:class:`FirstReplyTally` under its week, channel, sensitivity and the duration bin of
its time to the first reply (``interactions.replies`` keeps it), or the bin
``UNANSWERED``. The bins are 2% wide (``REPLY_BIN_GROWTH``): 1% bins would make a year
about 250,000 tally rows at a million patients, nearly one per answered contact.

Loads and backfills that switch the triggers off (``manage.py seed_scale``,
``interactions.replies.rebuild``) call :func:`rebuild` after. SQLite drops a table's
triggers when a migration rebuilds the table: such a migration calls :func:`install`
again.
"""

from crm import tallies
from crm.db import elapsed_bin_sql, elapsed_seconds_sql
from crm.tallies import week_sql
from interactions.choices import Direction

REPLY_BIN_GROWTH = 1.02


# The bin of a contact not answered yet: below every duration's.
UNANSWERED = -(2**31)


def reply_bin_sql(seconds: str) -> str:
    return f"COALESCE({elapsed_bin_sql(seconds, REPLY_BIN_GROWTH)}, {UNANSWERED})"


def _tallies(vendor: str) -> list[dict]:
    seconds = elapsed_seconds_sql(vendor, "{r}.occurred_at", "{r}.first_reply_at")
    return [
        {
            "name": "interactions_interaction_reply_tally",
            "tally": "interactions_firstreplytally",
            "table": "interactions_interaction",
            "keys": {
                "week": week_sql(vendor, "{r}.occurred_at"),
                "channel": "{r}.channel",
                "sensitivity": "{r}.sensitivity",
                "bin": reply_bin_sql(seconds),
            },
            "counted": f"{{r}}.direction = '{Direction.INBOUND}'",
            "sums": {"seconds": f"COALESCE({seconds}, 0)"},
        }
    ]


_first_response_tallies = tallies.Tallies(_tallies)
install = _first_response_tallies.install
uninstall = _first_response_tallies.uninstall
rebuild = _first_response_tallies.rebuild
migration = _first_response_tallies.migration
