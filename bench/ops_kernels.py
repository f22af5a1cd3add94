"""The compiled journey kernels (cx.journey.kernels over the customer-ordered event store) beside
the Ibis path of the same functions, hand-written DuckDB SQL, ClickHouse's windowFunnel (chdb)
and the one-column scan floor, on the generated data imported once (bench.ops_funnel.cached_db).

Every op is *warm*: it opens its connection once, runs the query once (the database's buffers,
the event arrays and the compiled kernels then loaded, as in the running app), and times the
second run in the same process. `first_s` is the first run's time (for the kernel it includes
reading the event arrays and loading the compiled code from the cache); `peak_above_mib` is the
process's peak RSS during both runs above its RSS just before the first (the arrays included).
Each op returns its answer's summary so the suite can check that every contender agrees.
"""
from __future__ import annotations

import time

import duckdb  # imported before the timer starts: start-up is not the operation
import ibis  # noqa: F401
import ibis.backends.duckdb  # noqa: F401
import ibis.backends.duckdb.converter  # noqa: F401
import polars as pl
import pyarrow  # noqa: F401

import cx
from bench.ops_flows import SQL_LOOPS, SQL_TRANSITIONS, _summary_loops, _summary_transitions
from bench.ops_funnel import STEPS, chdb_dir, chdb_session, cx_funnel, sql_funnel
from cx import journey
from cx.journey import kernels as K

DATASET = "bench"
SQL_PATHS = """
WITH n AS (
    SELECT customer_id, timestamp, _seq, coalesce(stage, '(no stage)') AS node, coalesce(amount > 0, false) AS buy,
           lag(coalesce(stage, '(no stage)')) OVER (PARTITION BY customer_id ORDER BY timestamp, _seq) AS prev
    FROM {schema}.interactions
), per AS (
    SELECT list(node ORDER BY timestamp, _seq) FILTER (WHERE prev IS NULL OR prev <> node) AS seq,
           bool_or(buy) AS bought
    FROM n GROUP BY customer_id
), p AS (
    SELECT CASE WHEN len(seq) > 8 THEN array_to_string(seq[1:8], ' → ') || ' → …'
                ELSE array_to_string(seq, ' → ') END AS path, bought FROM per
)
SELECT path, count(*) AS customers, count(*) / sum(count(*)) OVER () AS share,
       avg(bought::INT::DOUBLE) AS purchase_conversion
FROM p GROUP BY path ORDER BY customers DESC, path LIMIT 10
"""


def _rss_mib(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _warm(fn) -> dict:
    """fn() once, then timed once more; the second run's seconds (and CPU), the first's, the peak."""
    from bench.harness import cpu_seconds, steal_seconds

    base = _rss_mib()
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    c0, st0 = cpu_seconds(), steal_seconds()
    t = time.perf_counter()
    out = fn()
    sec = time.perf_counter() - t
    return {**out, "seconds": sec, "cpu_s": cpu_seconds() - c0, "steal_s": steal_seconds() - st0,
            "first_s": round(first, 3), "peak_above_mib": round(_rss_mib("VmHWM") - base)}


def _schema(con) -> str:
    (i,), = con.sql("SELECT id FROM cx_meta.datasets WHERE name = $n", params={"n": DATASET}).fetchall()
    return f"ds_{int(i)}"


# -- the funnel ---------------------------------------------------------------------------------
def _store_funnel(db: str, kernels: bool) -> dict:
    store = cx.open(db, read_only=True)
    K.warm_up()  # loads the compiled kernels from the cache (once per process, outside the timing)

    def go():
        if kernels:
            assert store.dataset(DATASET) and cx.data.of(store, dataset=DATASET).events() is not None, \
                "no event store: the kernel path would not run"
            return cx_funnel(store, dataset=DATASET)
        with K.off():
            return cx_funnel(store, dataset=DATASET)
    try:
        return _warm(go)
    finally:
        store.close()


def kernel_funnel(db: str) -> dict:
    """Ours with the kernel: cx.journey.funnel on the event store (the full frame)."""
    return _store_funnel(db, True)


def ibis_funnel(db: str) -> dict:
    """Ours with the kernels switched off: the same function's Ibis expression."""
    return _store_funnel(db, False)


def sql_funnel_warm(db: str) -> dict:
    con = duckdb.connect(db, read_only=True)
    try:
        return _warm(lambda: sql_funnel(db, con=con))
    finally:
        con.close()


def chdb_funnel_warm(db: str) -> dict:
    sess = chdb_session.Session(chdb_dir(db))
    from bench.ops_funnel import chdb_funnel

    try:
        return _warm(lambda: chdb_funnel(db, sess=sess))
    finally:
        sess.close()


def scan_floor(db: str) -> dict:
    """The floor: one pass over the one column a stage funnel filters on (count of step rows)."""
    con = duckdb.connect(db, read_only=True)
    sch = _schema(con)
    steps = ", ".join(f"'{s}'" for s in STEPS)  # constants of the contract
    try:
        return _warm(lambda: {"rows": con.sql(f"SELECT count(*) FROM {sch}.interactions WHERE stage IN ({steps})")
                              .fetchall()[0][0]})
    finally:
        con.close()


# -- transitions, loop metrics, paths -----------------------------------------------------------
def _summary_paths(df: pl.DataFrame) -> dict:
    return {"rows": [[p, c, round(s, 9), round(b, 9)] for p, c, s, b in df.rows()]}


METRICS = {  # name -> (ours, its summary, hand-written SQL)
    "transitions": (lambda s: journey.transitions(s, dataset=DATASET), _summary_transitions, SQL_TRANSITIONS),
    "loop_metrics": (lambda s: journey.loop_metrics(s, dataset=DATASET), _summary_loops, SQL_LOOPS),
    "paths": (lambda s: journey.paths(s, dataset=DATASET), _summary_paths, SQL_PATHS),
}


def kernel_metric(db: str, name: str) -> dict:
    ours, summary, _ = METRICS[name]
    store = cx.open(db, read_only=True)
    K.warm_up()
    try:
        assert cx.data.of(store, dataset=DATASET).events() is not None, "no event store"
        return _warm(lambda: summary(ours(store)))
    finally:
        store.close()


def sql_metric(db: str, name: str) -> dict:
    _, summary, sql = METRICS[name]
    con = duckdb.connect(db, read_only=True)
    con.sql("SET TimeZone = 'UTC'")
    q = sql.format(schema=_schema(con))
    try:
        return _warm(lambda: summary(con.sql(q).pl()))
    finally:
        con.close()
