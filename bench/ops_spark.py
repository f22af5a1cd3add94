"""The same metric functions on DuckDB and on Spark local (cx.spark), over the same data: the
overhead of Spark on one machine. Each op runs the operation once untimed (the app keeps its
session and JVM warm) and times the second run; Spark's session start-up is reported apart."""
from __future__ import annotations

import time
from pathlib import Path

import ibis  # noqa: F401
import ibis.backends.duckdb  # noqa: F401
import polars as pl  # noqa: F401

import cx
import cx.spark

DATASET = "demo"


def lake(db: str) -> str:
    """The dataset of `db` written as Parquet next to it (built once)."""
    out = Path(db).parent / "lake"
    if not (out / "interactions.parquet").exists():
        s = cx.open(db, read_only=True)
        cx.spark.export_dataset(s, out, DATASET)
        s.close()
    return str(out)


def _rows(res) -> int:
    if isinstance(res, dict):
        return sum(v.height for v in res.values() if isinstance(v, pl.DataFrame))
    return res.height


def duckdb_op(db: str, name: str) -> dict:
    store = cx.open(db, read_only=True)
    fn = cx.spark.parity_operations()[name]
    fn(store)
    t = time.perf_counter()
    res = fn(store)
    s = time.perf_counter() - t
    store.close()
    return {"seconds": s, "rows": _rows(res)}


def spark_op(lake_dir: str, name: str) -> dict:
    t = time.perf_counter()
    store = cx.spark.connect("pyspark://local[2]", datasets={DATASET: lake_dir})
    store.spark.sparkContext.setLogLevel("ERROR")
    start = time.perf_counter() - t
    fn = cx.spark.parity_operations()[name]
    fn(store)
    t = time.perf_counter()
    res = fn(store)
    s = time.perf_counter() - t
    store.spark.stop()
    return {"seconds": s, "rows": _rows(res), "session_start_s": round(start, 1)}
