"""One call: read, validate and import a file."""
from __future__ import annotations

import time
from pathlib import Path

from ..store import Store
from .land import DUPLICATE_HINT, _target_dataset, _transaction
from .report import DuplicateImport, ImportReport, Progress, plain_errors
from .source import with_retries
from .validate import Source, Validation


def open_source(store: Store, path, progress: Progress | None = None, file_name: str | None = None,
                sheet: str | None = None, delimiter: str | None = None) -> Source:
    """The file, sniffed (format, encoding, delimiter, header; a workbook's `sheet`, default the
    first): columns, preview and suggested mapping, ready to validate. `delimiter`: ",", ";",
    "\\t", "|" or "whitespace" (runs of spaces or tabs); None: detected."""
    return Source(store, path, progress=progress, file_name=file_name, sheet=sheet, delimiter=delimiter)


def import_file(store: Store, path, kind: str | None = None, mapping: dict[str, str] | None = None,
                dataset: str | None = None, mode: str = "replace", create: bool = True,
                timezone: str = "UTC", dry_run: bool = False, progress: Progress | None = None,
                file_name: str | None = None, valid_from=None, valid_to=None, allow_duplicate: bool = False,
                sheet: str | None = None, delimiter: str | None = None,
                constants: dict[str, object] | None = None) -> ImportReport:
    """Read, validate and (unless dry_run) import one file in a single pass and one transaction.
    Returns the report; raises ImportFailed with a clear message when nothing can be imported.

    Timestamps outside valid_from..valid_to (dates; default 1970-01-01 to a year after today) are
    rejected with their row. Appending a file whose bytes were already appended to the dataset's
    table raises DuplicateImport unless allow_duplicate. `sheet`: a workbook's sheet (default the
    first; the report names the others). `delimiter`: ",", ";", "\\t", "|" or "whitespace" (runs of
    spaces or tabs); None: detected. `constants`: contract column -> the value of every row, for
    columns the file lacks ({"touchpoint": "order"}: every row is an order), checked like a mapped
    column. Columns outside the contract are kept as attributes (report.attributes)."""
    t = time.time()
    name = file_name or Path(path).name
    with plain_errors(name), open_source(store, path, progress=progress, file_name=file_name, sheet=sheet,
                                         delimiter=delimiter) as src:
        if dry_run:
            val = src.validate(kind, mapping, timezone=timezone, valid_from=valid_from, valid_to=valid_to,
                               constants=constants)
            return val.report(dataset, imported=False, seconds=time.time() - t)
        val = Validation(src, kind or src.detect_kind(), mapping, timezone, valid_from, valid_to, constants)
        val.allow_duplicate = allow_duplicate
        dup = None if allow_duplicate else val.duplicate_of(dataset, mode)
        if dup:  # said before the file is read (and checked again inside the transaction)
            raise DuplicateImport(dup + DUPLICATE_HINT)

        def attempt(strict: bool) -> None:
            with _transaction(src) as cur:
                ds = _target_dataset(store, cur, dataset, create)
                new = f"{ds.schema}.{val.kind}__new"
                val.run(into=new, strict=strict)
                val._finish(cur, ds, new, mode)

        with_retries(src, attempt)
        return val.report(dataset or "default", imported=True, seconds=time.time() - t)
