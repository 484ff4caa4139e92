"""Keep patient data out of log lines."""

import logging
import re

QUERY = re.compile(r"\?[^\s\"]*")
# The token of a link sent to a patient (64 hex digits in the path) is a credential.
TOKEN = re.compile(r"/[0-9a-f]{64}(?=[/\s\"]|$)")


def _scrub(text: str) -> str:
    return TOKEN.sub("/[token]", QUERY.sub("?[query removed]", text))


class StripQueryStrings(logging.Filter):
    """Search terms (names, phone numbers, birth dates) travel in query strings; the
    request lines the server logs keep the path and drop the query, and the token of
    a patient's link. Gunicorn's access log passes its fields as a mapping, which is
    scrubbed in place (it answers "-" for a field it lacks)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _scrub(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif isinstance(record.args, dict):
            for key, value in list(record.args.items()):
                if isinstance(value, str):
                    record.args[key] = _scrub(value)
        if isinstance(record.msg, str):
            record.msg = _scrub(record.msg)
        return True
