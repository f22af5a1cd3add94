"""Ordered funnel: cx.journey.funnel vs a plain hand-written DuckDB SQL query (and ClickHouse's
windowFunnel through chdb, when it installs) on the same data.

Each timed function opens the cached database read-only, computes per-step counts and returns
them (so the harness can check that every contender agrees).
"""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import duckdb  # imported before the timer starts: start-up is not the operation
import ibis  # noqa: F401
import ibis.backends.duckdb  # noqa: F401  (loaded lazily on the first query otherwise)
import ibis.backends.duckdb.converter  # noqa: F401
import pyarrow  # noqa: F401

import cx
from cx.journey.funnel import funnel, parse_window

try:  # the optional peer baseline (pip install chdb)
    from chdb import session as chdb_session
except ImportError:  # pragma: no cover
    chdb_session = None

STEPS = ["discover", "consider", "evaluate", "purchase"]


def cached_db(touchpoints: int) -> str:
    """The demo generator's data at about `touchpoints` rows imported once (interactions and
    customers, dataset "bench") into `cx.duckdb` beside the CSV."""
    from bench.harness import ensure_event_store, sample_csv

    csv = sample_csv(touchpoints)
    db = csv.parent / "cx.duckdb"
    if not db.exists():
        tmp = csv.parent / f"cx.duckdb.tmp{os.getpid()}"
        s = cx.open(tmp)
        s.import_file(csv, kind="interactions", dataset="bench")
        s.import_file(csv.parent / "customers.csv", kind="customers", dataset="bench")
        s.con.sql("CHECKPOINT")
        s.close()
        os.replace(tmp, db)
    else:
        ensure_event_store(db, "bench")
    return str(db)


def _window(window) -> timedelta | None:
    return parse_window(window)


def cx_funnel(db: str, steps=STEPS, field: str = "stage", window="30d", unit: str = "customer",
              dataset: str = "bench") -> dict:
    """Ours: the full funnel frame (counts, conversions, median and p90 times). `db`: a path, or an
    open store (kept open: bench.ops_kernels times a second, warm run)."""
    store = cx.open(db, read_only=True) if isinstance(db, str) else db
    df = funnel(store, steps, field=field, window=window, unit=unit, dataset=dataset)
    if isinstance(db, str):
        store.close()
    return {"counts": df["count"].to_list(), "medians": _rounded(df["median_time_from_previous"].to_list()),
            "p90s": _rounded(df["p90_time_from_previous"].to_list())}


def _rounded(xs):
    return [None if x is None else round(float(x), 3) for x in xs]


def _steps_sql(steps) -> list[list[str]]:
    return [[s] if isinstance(s, str) else list(s) for s in steps]


def _sql_parts(db, steps, field, window, dataset, con=None):
    assert field in ("stage", "touchpoint")  # a column name: never user text
    groups = _steps_sql(steps)
    w = _window(window)
    con = con or duckdb.connect(db, read_only=True)
    con.sql("SET TimeZone = 'UTC'")
    con.sql("SET enable_progress_bar = false")
    sch = con.sql("SELECT 'ds_' || id FROM cx_meta.datasets WHERE name = $n", params={"n": dataset}).fetchall()[0][0]
    params = {"win": w if w is not None else timedelta(days=1_000_000)}
    ins = [_in_list(g) for g in groups]
    return con, sch, params, ins, _in_list(sorted({v for g in groups for v in g}))


def _in_list(values) -> str:
    """A literal IN list, as one writes it by hand (values quoted)."""
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def sql_funnel(db: str, steps=STEPS, field: str = "stage", window="30d", dataset: str = "bench", con=None) -> dict:
    """Baseline: plain hand-written DuckDB SQL answering the same question as cx's funnel (count
    per step, median and p90 time from the previous step over each customer's winning entry), in
    the fastest straightforward form found: per customer, in (timestamp, _seq) order, the _seq of
    the next step-k row (FIRST_VALUE ... IGNORE NULLS over the following rows); a chain of
    equality joins on _seq (unique in a dataset) from every entry; the winning entry per customer
    (furthest, then earliest) with QUALIFY; then the figures."""
    own = con is None  # else an open connection, kept open (a warm second run)
    con, sch, params, ins, every = _sql_parts(db, steps, field, window, dataset, con)
    n = len(ins)
    nxt = "".join(f", first_value(CASE WHEN {field} IN {ins[k - 1]} THEN _seq END IGNORE NULLS) "
                  f"OVER w AS n{k}" for k in range(2, n + 1))
    joins = "".join(f" LEFT JOIN r s{k} ON s{k}._seq = {'e' if k == 2 else f's{k - 1}'}.n{k}"
                    for k in range(2, n + 1))
    level = " + ".join(["1"] + [f"coalesce(s{k}.ts <= e.ts + $win, false)::INT" for k in range(2, n + 1)])
    times = ", ".join(["e.ts AS t1", *[f"s{k}.ts AS t{k}" for k in range(2, n + 1)]])
    figures = ", ".join(["count(*)"] + [
        f"count(*) FILTER (WHERE level >= {k}), "
        f"median(epoch(t{k}) - epoch(t{k - 1})) FILTER (WHERE level >= {k}), "
        f"quantile_cont(epoch(t{k}) - epoch(t{k - 1}), 0.9) FILTER (WHERE level >= {k})" for k in range(2, n + 1)])
    q = f"""
    WITH r AS (
        SELECT customer_id, timestamp AS ts, _seq, {field} IN {ins[0]} AS s1{nxt}
        FROM {sch}.interactions WHERE {field} IN {every}
        WINDOW w AS (PARTITION BY customer_id ORDER BY timestamp, _seq
                     ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)),
    won AS (SELECT e.customer_id, {level} AS level, {times} FROM r e{joins} WHERE e.s1
            QUALIFY row_number() OVER (PARTITION BY e.customer_id ORDER BY level DESC, e.ts, e._seq) = 1)
    SELECT {figures} FROM won"""
    row = list(con.sql(q, params=params if "$win" in q else None).fetchall()[0])
    if own:
        con.close()
    return {"counts": [row[0], *row[1::3]], "medians": _rounded([None, *row[2::3]]),
            "p90s": _rounded([None, *row[3::3]])}


def sql_funnel_minframe(db: str, steps=STEPS, field: str = "stage", window="30d", dataset: str = "bench") -> dict:
    """The same counts with the formulation of the issue: row_number per customer, the position
    of the next step-k row as MIN over the following rows, a chain of joins on (customer, pos)."""
    con, sch, params, ins, every = _sql_parts(db, steps, field, window, dataset)
    n = len(ins)
    flags = ", ".join(f"{field} IN {ins[k - 1]} AS s{k}" for k in range(1, n + 1))
    nxt = "".join(f", min(pos) FILTER (WHERE s{k}) OVER w AS n{k}" for k in range(2, n + 1))
    joins = "".join(f" LEFT JOIN r s{k} ON s{k}.customer_id = e.customer_id AND s{k}.pos = "
                    f"{'e' if k == 2 else f's{k - 1}'}.n{k}" for k in range(2, n + 1))
    level = " + ".join(["1"] + [f"coalesce(s{k}.ts <= e.ts + $win, false)::INT" for k in range(2, n + 1)])
    counts = ", ".join(f"count(*) FILTER (WHERE level >= {k})" for k in range(1, n + 1))
    q = f"""
    WITH r0 AS (
        SELECT customer_id, timestamp AS ts, {flags},
               row_number() OVER (PARTITION BY customer_id ORDER BY timestamp, _seq) AS pos
        FROM {sch}.interactions WHERE {field} IN {every}),
    r AS (SELECT *{nxt} FROM r0
          WINDOW w AS (PARTITION BY customer_id ORDER BY pos ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)),
    lv AS (SELECT e.customer_id, max({level}) AS level FROM r e{joins} WHERE e.s1 GROUP BY e.customer_id)
    SELECT {counts} FROM lv"""
    out = list(con.sql(q, params=params if "$win" in q else None).fetchall()[0])
    con.close()
    return {"counts": out}


# -- ClickHouse (chdb), a peer baseline --------------------------------------------------------
def chdb_dir(db: str) -> str:
    """The same interactions (the columns a funnel reads) loaded once into a chdb MergeTree table
    ordered by (customer_id, timestamp), in `chdb/` beside the DuckDB file."""
    d = Path(db).parent / "chdb"
    if not (d / ".loaded").exists():
        pq = Path(db).parent / "funnel_cols.parquet"
        con = duckdb.connect(db, read_only=True)
        sch = con.sql("SELECT 'ds_' || id FROM cx_meta.datasets WHERE name = 'bench'").fetchall()[0][0]
        con.sql(f"COPY (SELECT customer_id, session_id, timestamp, _seq, stage, touchpoint FROM {sch}.interactions) "
                f"TO '{pq}' (FORMAT parquet)")
        con.close()
        sess = chdb_session.Session(str(d))
        sess.query("DROP TABLE IF EXISTS interactions")
        sess.query("CREATE TABLE interactions (customer_id String, session_id Nullable(String), "
                   "timestamp DateTime, _seq Int64, stage LowCardinality(Nullable(String)), "
                   "touchpoint LowCardinality(String)) ENGINE = MergeTree ORDER BY (customer_id, timestamp, _seq)")
        sess.query(f"INSERT INTO interactions SELECT customer_id, session_id, timestamp, _seq, stage, touchpoint "
                   f"FROM file('{pq}', Parquet)")
        sess.close()
        pq.unlink()
        (d / ".loaded").write_text("ok")
    return str(d)


def chdb_funnel(db: str, steps=STEPS, field: str = "stage", window="30d", sess=None) -> dict:
    """ClickHouse's windowFunnel(window)(timestamp, step1, step2, ...) per customer, then the
    number of customers at each level or beyond. Its semantics differ slightly from ours: events
    at the same second may count in either order (no file-order tie-break), and a step may occur
    at the same timestamp as the previous one."""
    d = chdb_dir(db)
    w = _window(window)
    groups = _steps_sql(steps)
    conds = ", ".join(f"{field} IN {_in_list(g)}" for g in groups)
    every = _in_list(sorted({v for g in groups for v in g}))
    secs = int(w.total_seconds()) if w is not None else 2**31 - 1
    own = sess is None  # else an open session, kept open (a warm second run)
    sess = sess or chdb_session.Session(d)
    q = (f"SELECT level, count() FROM (SELECT customer_id, windowFunnel({secs})(timestamp, {conds}) AS level "
         f"FROM interactions WHERE {field} IN {every} GROUP BY customer_id) GROUP BY level ORDER BY level")
    rows = [tuple(int(x) for x in ln.split(",")) for ln in str(sess.query(q, "CSV")).split()]
    if own:
        sess.close()
    per = dict(rows)
    counts = [sum(c for lv, c in per.items() if lv >= k) for k in range(1, len(groups) + 1)]
    return {"counts": counts}


if __name__ == "__main__":  # pragma: no cover
    import sys

    for n in sys.argv[1:] or ["1000000", "10000000"]:
        print(cached_db(int(n)))
