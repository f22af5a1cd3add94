"""The SQL box's exceptions, and the rule for what an error message may show."""
from __future__ import annotations

import re

from ..store import CXError


class QueryRejected(CXError):
    """The statement is not allowed in the SQL box; the message says why."""


class QueryError(CXError):
    """The statement was allowed but failed, was too slow or used too much memory."""


# an absolute path (/etc/passwd, /home/x/.streamlit/secrets.toml, C:\x, file:///x): never shown
_PATH = re.compile(r"""(?:file://|(?<![\w)\]}.])(?:[A-Za-z]:\\|/))[^\s'"`,;()\[\]{}]+""")


def clean_message(e: BaseException | str) -> str:
    """The first line of an error (DuckDB puts candidates, hints and file lines on the next ones),
    at most 500 characters, with absolute paths replaced by <path>."""
    lines = str(e).strip().splitlines()
    first = lines[0] if lines else type(e).__name__
    return _PATH.sub("<path>", first)[:500]
