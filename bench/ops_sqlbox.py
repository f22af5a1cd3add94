"""The SQL box's sandbox: what a snapshot costs to build, and what running a query in a worker
process costs against running it in the app's own process (the path before issue 19)."""
from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

import duckdb  # noqa: F401 (start-up is not the operation)
import polars as pl
import pyarrow  # noqa: F401

import cx
from cx import sqlbox

SIMPLE = "SELECT channel, count(*) AS n, sum(amount) AS revenue FROM interactions GROUP BY channel ORDER BY channel"


def demo_db() -> str:
    from bench.load import demo_db as load_demo

    return str(load_demo())


def big_db(touchpoints: int = 1_000_000) -> str:
    from bench.ops_funnel import cached_db

    return cached_db(touchpoints)


def _dataset(store) -> str:
    return store.dataset_names()[0]


def snapshot_build(db: str) -> dict:
    """One snapshot of the dataset's current version, from scratch."""
    store = cx.open(db)
    try:
        shutil.rmtree(str(db) + ".sqlbox", ignore_errors=True)
        name = _dataset(store)
        ds = store.dataset(name)
        box = sqlbox.sandbox(store)
        t = time.perf_counter()
        with box.snapshots.use(store, [ds.id]) as (snap,):
            s = time.perf_counter() - t
            size = Path(snap.path).stat().st_size
        rows = store.con.sql(f"SELECT count(*) FROM {ds.schema}.interactions").fetchall()[0][0]
        return {"seconds": s, "rows": rows, "file_mib": round(size / 2**20, 1)}
    finally:
        store.close()


def _median_runs(fn, n: int) -> float:
    fn()  # warm: snapshot built, worker started
    xs = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        xs.append(time.perf_counter() - t)
    return statistics.median(xs)


def query_worker(db: str, n: int = 30, sql: str = SIMPLE) -> dict:
    """A query through sqlbox.run (checks + a warm worker + Arrow over the pipe), median of n."""
    store = cx.open(db)
    try:
        name = _dataset(store)
        return {"seconds": _median_runs(lambda: sqlbox.run(store, sql, dataset=name), n), "runs": n}
    finally:
        store.close()


def query_in_process(db: str, n: int = 30, sql: str = SIMPLE) -> dict:
    """The same checks, then the statement on a fresh cursor of the app's own connection in a READ
    ONLY transaction, fetched as Arrow into polars: the in-process path the worker replaced."""
    store = cx.open(db)
    try:
        ds = store.dataset(_dataset(store))

        def once():
            cur = store.cursor()
            try:
                _, text = sqlbox.validate(store, cur, sql)
                cur.execute(f"USE {ds.schema}")
                cur.execute("BEGIN TRANSACTION READ ONLY")
                pl.from_arrow(cur.sql(text).to_arrow_table())
                cur.execute("ROLLBACK")
            finally:
                cur.close()

        return {"seconds": _median_runs(once, n), "runs": n}
    finally:
        store.close()


def first_query(db: str, sql: str = SIMPLE) -> dict:
    """The first query of a freshly opened store whose snapshot exists: starting a worker."""
    store = cx.open(db)
    try:
        name = _dataset(store)
        with sqlbox.sandbox(store).snapshots.use(store, [store.dataset(name).id]):
            pass  # the snapshot exists (not timed)
        t = time.perf_counter()
        sqlbox.run(store, sql, dataset=name)
        return {"seconds": time.perf_counter() - t}
    finally:
        store.close()


if __name__ == "__main__":
    for db in (demo_db(), big_db()):
        print(db, snapshot_build(db), first_query(db), query_worker(db, 10), query_in_process(db, 10))
