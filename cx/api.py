"""The notebook API's store: :class:`cx.store.Store` with the conveniences that live above the
storage layer (import, the SQL box, the data handle), and the ways to get one.

    import cx
    store = cx.open("cx.duckdb")                     # or cx.open() for the default database
    store.import_file("events.csv", dataset="shop")  # cx.ingest
    d = store.data("shop", cx.Filters(channels=("web",)))
    store.query("SELECT count(*) FROM interactions", dataset="shop")  # cx.sqlbox
"""
from __future__ import annotations

import os

import polars as pl

from . import store as _store
from .data import Data
from .filters import Filters
from .store import CXError


class Store(_store.Store):
    """A CX Loop database (see :class:`cx.store.Store`) with import, query and data handles."""

    def data(self, dataset: str | None = None, filters: Filters | None = None) -> Data:
        """The handle every metric takes: `dataset` (the default one when None) under `filters`."""
        return Data.open(self, dataset, filters)

    def import_file(self, path, **options):
        """Read, validate and import one file: :func:`cx.ingest.import_file` (its options: kind,
        mapping, dataset, mode, timezone, dry_run, ...) on this store."""
        from .ingest import import_file

        return import_file(self, path, **options)

    def query(self, sql: str, max_rows: int = 10_000, timeout_s: float = 10, dataset: str | None = None
              ) -> pl.DataFrame:
        """One read-only SELECT/WITH/EXPLAIN statement, guarded (see :mod:`cx.sqlbox`): the first
        `max_rows` rows as a polars frame. Unqualified table names are the tables of `dataset`.
        Raises cx.QueryRejected (not allowed: the message says why) or cx.QueryError (failed,
        timed out after `timeout_s`, or used too much memory)."""
        from .sqlbox import query

        return query(self, sql, max_rows=max_rows, timeout_s=timeout_s, dataset=dataset)


def open(path: str | os.PathLike | None = None, read_only: bool = False) -> Store:  # noqa: A001
    """Open (or create) a CX Loop database; ``cx.open()`` uses the default location."""
    return Store(path, read_only=read_only)


def connect(url: str | None = None):
    """The store the app and notebooks use, by backend URL (default: ``$CX_BACKEND``, else DuckDB):
    ``duckdb`` or ``duckdb:///path/to/file.duckdb`` (a :class:`Store`; no path: ``$CX_DB`` or the
    default file), ``pyspark://[master]`` or ``sc://host:port`` (a read-only
    :class:`cx.spark.SparkStore` over the tables listed in ``$CX_SPARK_DATASETS``)."""
    url = (url if url is not None else os.environ.get("CX_BACKEND", "")).strip()
    if url in ("", "duckdb", "duckdb://"):
        return Store(None)
    if url.startswith("duckdb://"):
        return Store(url[len("duckdb://"):])
    if url.startswith(("pyspark://", "sc://")):
        from .spark import connect as spark_connect

        return spark_connect(url)
    raise CXError(f"Unknown backend {url!r}: use duckdb, duckdb:///path, pyspark://[master] or sc://host:port.")
