"""The import report and its failure: what every part of the import hands back."""
from __future__ import annotations

import errno
import gzip
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import duckdb
import polars as pl

from ..store import CXError

ERROR_COLUMNS = {"row": pl.Int64, "column": pl.Utf8, "value": pl.Utf8, "problem": pl.Utf8}
MAX_ERRORS = 1_000_000  # errors kept in a report (counts are always exact)

Progress = Callable[[float, str], None]


class ImportFailed(CXError):
    """The file cannot be imported at all (empty, unreadable, no mapping ...)."""


class DuplicateImport(ImportFailed):
    """The file (the same bytes) was already appended to this table: pass allow_duplicate=True."""


_DISK_FULL = ("The disk is full (no space left on device) while importing {name}: nothing was imported and "
              "the dataset is as it was. Free some space and import it again.")


@contextmanager
def plain_errors(name: str):
    """Raw errors of reading and writing become ImportFailed with a message (CXError passes as it
    is): a truncated or damaged .gz, a full disk (OSError ENOSPC, DuckDB's IO error), an unreadable
    file. Other exceptions (bugs) pass unchanged."""
    try:
        yield
    except CXError:
        raise
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise ImportFailed(f"{name} is a truncated or damaged gzip file ({e}): nothing was imported.") from e
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise ImportFailed(_DISK_FULL.format(name=name)) from e
        raise ImportFailed(f"{name} could not be read or written: {e.strerror or e}.") from e
    except duckdb.IOException as e:
        msg = str(e)
        if "No space left" in msg or "disk is full" in msg.lower() or "ENOSPC" in msg:
            raise ImportFailed(_DISK_FULL.format(name=name)) from e
        if "GZIP" in msg.upper() or "zlib" in msg.lower():
            raise ImportFailed(f"{name} is a truncated or damaged gzip file: nothing was imported.") from e
        raise ImportFailed(f"{name} could not be read or written: {msg.splitlines()[0]}") from e


def _empty_errors() -> pl.DataFrame:
    return pl.DataFrame(schema=ERROR_COLUMNS)


@dataclass
class ImportReport:
    kind: str
    dataset: str | None
    file_name: str
    rows_read: int
    accepted: int
    rejected: int
    errors: pl.DataFrame = field(default_factory=_empty_errors)
    warnings: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    imported: bool = False
    seconds: float = 0.0
    error_count: int = 0  # all problems found (errors may be capped at MAX_ERRORS)
    events_seconds: float | None = None  # of `seconds`: building the journey event store (interactions)
    constants: dict[str, str] = field(default_factory=dict)  # contract column -> the value every row got
    attributes: dict[str, str] = field(default_factory=dict)  # kept columns outside the contract -> their type
    delimiter: str | None = None  # CSV: ",", ";", "\t", "|" or "whitespace"
    read_as: str = ""  # how the file was read, in words ("CSV, utf-8, delimiter comma (detected)")

    def summary(self) -> str:
        verb = "imported" if self.imported else "would import"
        s = (f"{self.file_name}: {self.rows_read:,} rows read, {self.accepted:,} accepted, "
             f"{self.rejected:,} rejected; {verb} as {self.kind}"
             + (f" into dataset '{self.dataset}'" if self.dataset else "") + f" ({self.seconds:.1f} s"
             + (f", of which {self.events_seconds:.1f} s building the journey event store"
                if self.events_seconds is not None else "") + ").")
        return s
