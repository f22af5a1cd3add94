"""The import report and its failure: what every part of the import hands back."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import polars as pl

from ..store import CXError

ERROR_COLUMNS = {"row": pl.Int64, "column": pl.Utf8, "value": pl.Utf8, "problem": pl.Utf8}
MAX_ERRORS = 1_000_000  # errors kept in a report (counts are always exact)

Progress = Callable[[float, str], None]


class ImportFailed(CXError):
    """The file cannot be imported at all (empty, unreadable, no mapping ...)."""


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

    def summary(self) -> str:
        verb = "imported" if self.imported else "would import"
        s = (f"{self.file_name}: {self.rows_read:,} rows read, {self.accepted:,} accepted, "
             f"{self.rejected:,} rejected; {verb} as {self.kind}"
             + (f" into dataset '{self.dataset}'" if self.dataset else "") + f" ({self.seconds:.1f} s).")
        return s
