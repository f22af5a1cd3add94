"""One call: read, validate and import a file."""
from __future__ import annotations

import time

from ..store import Store
from .land import _target_dataset, _transaction
from .report import ImportFailed, ImportReport, Progress
from .source import Source, _NotStrict, _Retry
from .validate import Validation


def open_source(store: Store, path, progress: Progress | None = None, file_name: str | None = None) -> Source:
    return Source(store, path, progress=progress, file_name=file_name)


def import_file(store: Store, path, kind: str | None = None, mapping: dict[str, str] | None = None,
                dataset: str | None = None, mode: str = "replace", create: bool = True,
                timezone: str = "UTC", dry_run: bool = False, progress: Progress | None = None,
                file_name: str | None = None) -> ImportReport:
    """Read, validate and (unless dry_run) import one file in a single pass and one transaction.
    Returns the report; raises ImportFailed with a clear message when nothing can be imported."""
    t = time.time()
    with open_source(store, path, progress=progress, file_name=file_name) as src:
        if dry_run:
            val = src.validate(kind, mapping, timezone=timezone)
            return val.report(dataset, imported=False, seconds=time.time() - t)
        val = Validation(src, kind or src.detect_kind(), mapping, timezone)
        # strict first (the fast read); a malformed row sends us back for the read that collects
        # rejected rows; mixed line endings past the sample, for a normalised copy of the file
        for strict in (True, False, False):
            try:
                with _transaction(src) as cur:
                    ds = _target_dataset(store, cur, dataset, create)
                    new = f"{ds.schema}.{val.kind}__new"
                    val.run(into=new, strict=strict)
                    val._finish(cur, ds, new, mode)
                break
            except _NotStrict:
                continue
            except _Retry:
                src._convert(newlines=True)
        else:
            raise ImportFailed(f"{src.file_name} could not be read as CSV.")
        return val.report(dataset or "default", imported=True, seconds=time.time() - t)
