"""The SQL box: read-only SQL for analysts and notebooks, sandboxed.

``run(store, sql)`` (and :meth:`cx.Store.query`) accepts exactly one SELECT (including ``WITH ...``
and ``FROM ...``) or EXPLAIN [ANALYZE] of one, and runs it behind two walls:

1. **The statement checks** (:mod:`cx.sqlbox.guard`), in the app: DuckDB's parser decides the
   statement type and the guard walks its syntax tree; anything but reading the dataset's tables
   is refused with a message saying why (QueryRejected), before anything runs.
2. **The sandbox** (:mod:`cx.sqlbox.worker`, :mod:`cx.sqlbox.pool`): the statement runs in a
   separate worker process on a read-only snapshot of the dataset (:mod:`cx.sqlbox.snapshot`),
   in which file and network access, extension loading and every setting are switched off and
   locked before any user SQL runs, under a memory limit and an address-space cap; the app kills
   the worker at the time limit or when its memory passes the budget. A query that exhausts its
   budget kills its worker, never the app.

Scope: with a dataset (or the default dataset, when it exists) the worker sees that dataset only:
its tables (``interactions`` or ``ds_N.interactions``, ...) and its rows of ``cx_meta.datasets``,
``imports``, ``stage_rules`` and ``segments``. With ``dataset=None`` and no default dataset
(notebooks), it sees every dataset, each as ``ds_N.<table>``.

Limits (environment, read at import): ``CX_SQL_TIMEOUT_S`` (10), ``CX_SQL_MAX_MEMORY_MB`` (2048,
per query), ``CX_SQL_THREADS`` (DuckDB threads per worker, up to 4), ``CX_SQL_WORKERS`` (worker
processes per store, busy or idle: 4), ``CX_SQL_MAX_TEMP_MB`` (spill to disk per worker: 2048).
Error messages are the first line of DuckDB's, with absolute paths replaced by ``<path>``.
"""
from __future__ import annotations

import os
import threading
import time
import weakref
from dataclasses import dataclass

import polars as pl

from .errors import QueryError, QueryRejected, clean_message
from .guard import ALLOWED_TABLE_FUNCTIONS, BLOCKED_FUNCTIONS, SQL_TEXT_FUNCTIONS, validate
from .pool import Busy, Pool, Spec, Stopped, WorkerFailed
from .snapshot import for_database

__all__ = ["run", "query", "validate", "schema_browser", "examples", "QueryResult", "QueryRejected", "QueryError",
           "DEFAULT_MAX_ROWS", "DOWNLOAD_MAX_ROWS", "DEFAULT_TIMEOUT_S", "DEFAULT_MAX_MEMORY_MB", "DEFAULT_THREADS",
           "ALLOWED_TABLE_FUNCTIONS", "BLOCKED_FUNCTIONS", "SQL_TEXT_FUNCTIONS"]

DEFAULT_MAX_ROWS = 10_000
DOWNLOAD_MAX_ROWS = 1_000_000
DEFAULT_TIMEOUT_S = float(os.environ.get("CX_SQL_TIMEOUT_S", "10"))  # operators may change the limits
DEFAULT_MAX_MEMORY_MB = float(os.environ.get("CX_SQL_MAX_MEMORY_MB", "2048"))
DEFAULT_THREADS = int(os.environ.get("CX_SQL_THREADS", str(max(1, min(4, os.cpu_count() or 1)))))
MAX_WORKERS = int(os.environ.get("CX_SQL_WORKERS", "4"))
MAX_TEMP_MB = int(os.environ.get("CX_SQL_MAX_TEMP_MB", "2048"))
_ADVICE = " Add filters or a LIMIT, or aggregate before joining."


@dataclass(frozen=True)
class QueryResult:
    frame: pl.DataFrame
    truncated: bool  # more rows than max_rows existed; only the first max_rows are in frame
    seconds: float  # from the end of the checks to the rows (snapshot and worker start included)
    statement: str  # "SELECT" or "EXPLAIN"


# -- one sandbox per store ---------------------------------------------------------------------
class _Box:
    """A store's snapshots and worker pool (made on its first query; closed with the store)."""

    def __init__(self, store):
        self.snapshots = for_database(store.path)
        self.pool = Pool(self.snapshots.tmp, MAX_WORKERS)

    def close(self) -> None:
        self.pool.close()
        self.snapshots.close()


_BOX_LOCK = threading.Lock()


def sandbox(store) -> _Box:
    """The store's sandbox (snapshots and worker pool), made on first use."""
    box = getattr(store, "_sqlbox", None)
    if box is None:
        with _BOX_LOCK:
            box = getattr(store, "_sqlbox", None)
            if box is None:
                box = _Box(store)
                store._sqlbox = box
                weakref.finalize(store, box.close)  # workers end with the store, or at exit
    return box


# -- running -------------------------------------------------------------------------------------
def _unique_names(names: list[str]) -> list[str]:
    """DuckDB allows repeated column names, polars does not: `x`, `x` -> `x`, `x_2`."""
    seen: set[str] = set()
    out = []
    for n in names:
        new, i = n, 1
        while new in seen:
            i += 1
            new = f"{n}_{i}"
        seen.add(new)
        out.append(new)
    return out


def _scope(store, dataset: str | None) -> tuple[list[int], str | None]:
    """(dataset ids the worker sees, the catalog it USEs): the chosen or default dataset, or all."""
    from ..store import DEFAULT_DATASET

    if dataset is not None or store.has_dataset(DEFAULT_DATASET):
        ds = store.dataset(dataset)
        return [ds.id], ds.schema
    return [r[0] for r in store.con.execute("SELECT id FROM cx_meta.datasets ORDER BY id").fetchall()], None


def _spec(snaps, use: str | None, max_memory_mb: float) -> Spec:
    return Spec(attach=tuple((s.catalog, s.path) for s in snaps), use=use, meta_views=use is None,
                memory_mb=float(max_memory_mb), threads=DEFAULT_THREADS, max_temp_mb=MAX_TEMP_MB,
                headroom_mb=256 + 64 * DEFAULT_THREADS)


def _frame(body: bytes) -> pl.DataFrame:
    import pyarrow as pa

    tbl = pa.ipc.open_stream(body).read_all()
    if not tbl.column_names:
        return pl.DataFrame()
    return pl.from_arrow(tbl.rename_columns(_unique_names(tbl.column_names)))


def _stopped(s: Stopped, timeout_s: float, max_memory_mb: float) -> QueryError:
    if s.reason == "time":
        return QueryError(f"The query took longer than {timeout_s:g} s and was stopped." + _ADVICE)
    if s.reason == "memory":
        return QueryError(f"The query used more than {max_memory_mb:,.0f} MB of memory and was stopped." + _ADVICE)
    if s.reason == "result":
        return QueryError(f"The result is larger than {_result_mb(max_memory_mb):,.0f} MB: ask for fewer rows "
                          f"or columns.")
    return QueryError("The query ended its worker process (it ran out of memory or crashed) and was stopped; "
                      "the app is not affected." + _ADVICE)


def _ask(pool: Pool, spec: Spec, text: str, max_rows: int, timeout_s: float) -> tuple[dict, bytes]:
    """One statement on a worker of `spec`: (header, Arrow IPC bytes); QueryError when no worker
    could be had or it was stopped. The worker goes back to the pool unless it was stopped."""
    try:
        worker = pool.acquire(spec, wait_s=timeout_s)
    except Busy:
        raise QueryError(f"The SQL box is busy ({pool.max_workers} queries are running): try again in a "
                         f"moment.") from None
    except WorkerFailed as e:
        raise QueryError(f"The SQL box could not start its worker: {clean_message(e)}") from None
    healthy = False
    try:
        head, body = worker.query(text, max_rows, spec.use, timeout_s, spec.memory_mb, _result_mb(spec.memory_mb))
        healthy = head.get("ok") or head.get("kind") == "error"  # a DuckDB error leaves the worker fine
    except Stopped as s:
        raise _stopped(s, timeout_s, spec.memory_mb) from None
    finally:
        pool.release(worker, bool(healthy))
    return head, body


def _result_mb(max_memory_mb: float) -> float:
    return max(float(max_memory_mb), 64.0)


def run(store, sql: str, max_rows: int = DEFAULT_MAX_ROWS, timeout_s: float = DEFAULT_TIMEOUT_S,
        dataset: str | None = None, max_memory_mb: float = DEFAULT_MAX_MEMORY_MB) -> QueryResult:
    """Check and run one read-only statement in a sandboxed worker; the first `max_rows` rows as a
    QueryResult. Unqualified table names (interactions, customers, feedback) are the tables of
    `dataset` (the default dataset when None and it exists). Raises QueryRejected or QueryError."""
    max_rows = int(max_rows)
    if max_rows < 0 or max_rows > DOWNLOAD_MAX_ROWS:
        raise QueryRejected(f"max_rows must be between 0 and {DOWNLOAD_MAX_ROWS:,}.")
    cur = store.cursor()
    try:
        kind, text = validate(store, cur, sql)
    finally:
        cur.close()
    t0 = time.perf_counter()
    box = sandbox(store)
    ids, use = _scope(store, dataset)
    with box.snapshots.use(store, ids) as snaps:
        head, body = _ask(box.pool, _spec(snaps, use, max_memory_mb), text, max_rows, timeout_s)
    if not head.get("ok"):
        if head.get("kind") == "memory":
            raise _stopped(Stopped("memory"), timeout_s, max_memory_mb)
        raise QueryError(f"The query failed: {clean_message(head.get('message', ''))}")
    return QueryResult(_frame(body), bool(head.get("truncated")), time.perf_counter() - t0, kind)


def query(store, sql: str, max_rows: int = DEFAULT_MAX_ROWS, timeout_s: float = DEFAULT_TIMEOUT_S,
          dataset: str | None = None) -> pl.DataFrame:
    """The rows of one sandboxed read-only statement as a polars frame (at most `max_rows`)."""
    return run(store, sql, max_rows=max_rows, timeout_s=timeout_s, dataset=dataset).frame


# -- the schema browser ------------------------------------------------------------------------
def schema_browser(store, dataset: str | None = None) -> pl.DataFrame:
    """The tables an analyst can query for `dataset`: table, column, type (in column order).
    Unqualified names in the SQL box mean these tables. The app's own tables (names starting with
    "_": the customer-ordered event store) are left out."""
    ds = store.dataset(dataset)
    return store.con.sql(
        "SELECT table_name AS \"table\", column_name AS \"column\", data_type AS type "
        "FROM duckdb_columns() WHERE schema_name = $s AND NOT internal AND NOT starts_with(table_name, '_') "
        "ORDER BY table_name, column_index",
        params={"s": ds.schema}).pl()


def examples(store, dataset: str | None = None) -> dict[str, str]:
    """Example queries (title -> SQL) that run on the dataset's tables."""
    ex = {
        "Touchpoints per channel": "SELECT channel, count(*) AS touchpoints, count(DISTINCT customer_id) AS customers\n"
                                   "FROM interactions\nGROUP BY channel\nORDER BY touchpoints DESC",
        "Customers per stage reached": "SELECT stage, count(DISTINCT customer_id) AS customers\nFROM interactions\n"
                                       "WHERE stage IS NOT NULL\nGROUP BY stage\nORDER BY customers DESC",
        "Monthly revenue": "SELECT date_trunc('month', timestamp) AS month, sum(amount) AS revenue,\n"
                           "       count(DISTINCT customer_id) FILTER (WHERE amount > 0) AS buyers\n"
                           "FROM interactions\nGROUP BY month\nORDER BY month",
        "Top customers by spend (WITH)": "WITH spend AS (\n  SELECT customer_id, sum(amount) AS spend, "
                                         "count(*) AS touchpoints\n"
                                         "  FROM interactions GROUP BY customer_id\n)\n"
                                         "SELECT * FROM spend ORDER BY spend DESC NULLS LAST LIMIT 20",
        "Query plan (EXPLAIN)": "EXPLAIN SELECT touchpoint, count(*) FROM interactions GROUP BY touchpoint",
    }
    if store.has_table("feedback", dataset):
        ex["Average score per metric"] = ("SELECT metric, count(*) AS responses, round(avg(score), 2) AS average\n"
                                          "FROM feedback\nGROUP BY metric\nORDER BY metric")
    return ex
