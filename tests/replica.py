"""A replica that stops answering, for the tests of what depends on it."""

from unittest import mock

from django.db import OperationalError
from django.db.backends.utils import CursorWrapper


def replica_down():
    """Every statement sent to the replica fails as a lost connection does."""
    real_execute = CursorWrapper.execute

    def execute(cursor, *args, **kwargs):
        if cursor.db.alias == "replica":
            raise OperationalError("the replica does not answer")
        return real_execute(cursor, *args, **kwargs)

    return mock.patch.object(CursorWrapper, "execute", execute)
