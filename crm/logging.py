"""Keep patient data out of log lines."""

import logging
import re

QUERY = re.compile(r"\?[^\s\"]*")


class StripQueryStrings(logging.Filter):
    """Search terms (names, phone numbers, birth dates) travel in query strings; the
    request lines the server logs keep the path and drop the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                QUERY.sub("?[query removed]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str) and "?" in record.msg:
            record.msg = QUERY.sub("?[query removed]", record.msg)
        return True
