"""Journey flows: our Ibis transitions / loop metrics vs plain hand-written DuckDB SQL answering
the same questions on the same database (the demo generator's data, imported once).

Each op opens the database read-only, computes the whole answer and returns a small summary
(the `extra` of bench.harness.measure), so ours and the baseline can be checked to agree:
`python -m bench.ops_flows 1M` prepares the database and prints both answers side by side.
"""
from __future__ import annotations

import sys
from pathlib import Path

import duckdb  # imported before the timer starts: start-up is not the operation
import ibis  # noqa: F401
import ibis.backends.duckdb  # noqa: F401 (the backend, loaded on first use otherwise)
import ibis.backends.duckdb.converter  # noqa: F401 (loads pandas: ~0.7 s of start-up, not of the query)
import polars as pl
import pyarrow  # noqa: F401

import cx
from cx import journey

DATASET = "bench"
DB_NAME = "flows.duckdb"  # beside the sample's CSVs (other benches use their own file names)


def db_path(touchpoints: int) -> Path:
    """The cached database for the sample of about `touchpoints` rows (imported on first use)."""
    from bench.harness import ensure_event_store, sample_csv

    csv = sample_csv(touchpoints)
    db = csv.parent / DB_NAME
    if not db.exists():
        tmp = db.with_name(DB_NAME + ".tmp")
        for p in (tmp, Path(str(tmp) + ".wal")):
            p.unlink(missing_ok=True)
        s = cx.open(tmp)
        s.import_file(csv, kind="interactions", dataset=DATASET)
        if (csv.parent / "customers.csv").exists():
            s.import_file(csv.parent / "customers.csv", kind="customers", dataset=DATASET)
        s.close()
        tmp.rename(db)
    else:
        ensure_event_store(db, DATASET)
    return db


def _schema(con) -> str:
    (i,), = con.sql("SELECT id FROM cx_meta.datasets WHERE name = $n", params={"n": DATASET}).fetchall()
    return f"ds_{int(i)}"


def _summary_transitions(df: pl.DataFrame) -> dict:
    df = df.sort("source", "target")
    return {"edges": df.height, "transitions": int(df["count"].sum()), "customers_sum": int(df["customers"].sum()),
            "back_edges": int(df.filter(pl.col("is_back_edge"))["count"].sum()),
            "probability_sum": round(float(df["probability"].sum()), 9),
            "rows": [list(r) for r in df.select("source", "target", "count", "customers").rows()]}


def _summary_loops(df: pl.DataFrame) -> dict:
    r = df.row(0, named=True)
    return {k: (round(v, 9) if isinstance(v, float) else v) for k, v in r.items()}


# -- transitions ------------------------------------------------------------------------------------

def cx_transitions(db: str) -> dict:
    store = cx.open(db, read_only=True)
    df = journey.transitions(store, dataset=DATASET)
    store.close()
    return _summary_transitions(df)


SQL_TRANSITIONS = """
WITH s AS (
    SELECT customer_id, coalesce(stage, '(no stage)') AS target,
           lag(coalesce(stage, '(no stage)')) OVER (PARTITION BY customer_id ORDER BY timestamp, _seq) AS source
    FROM {schema}.interactions
), e AS (
    SELECT source, target, count(*) AS count, count(DISTINCT customer_id) AS customers
    FROM s WHERE source IS NOT NULL AND source <> target
    GROUP BY source, target
), r AS (
    SELECT *, CASE source WHEN 'discover' THEN 0 WHEN 'consider' THEN 1 WHEN 'evaluate' THEN 2
                          WHEN 'purchase' THEN 3 WHEN 'use' THEN 4 END AS rs,
              CASE target WHEN 'discover' THEN 0 WHEN 'consider' THEN 1 WHEN 'evaluate' THEN 2
                          WHEN 'purchase' THEN 3 WHEN 'use' THEN 4 END AS rt
    FROM e
)
SELECT source, target, count, customers, count / sum(count) OVER (PARTITION BY source) AS probability,
       source = target AS is_self_loop, coalesce(rt < rs, false) AS is_back_edge
FROM r ORDER BY count DESC, source, target
"""


def sql_transitions(db: str) -> dict:
    con = duckdb.connect(db, read_only=True)
    df = con.sql(SQL_TRANSITIONS.format(schema=_schema(con))).pl()
    con.close()
    return _summary_transitions(df)


# -- loop metrics -----------------------------------------------------------------------------------

def cx_loop_metrics(db: str) -> dict:
    store = cx.open(db, read_only=True)
    df = journey.loop_metrics(store, dataset=DATASET)
    store.close()
    return _summary_loops(df)


SQL_LOOPS = """
WITH l AS (
    SELECT customer_id, timestamp, r, lag(r) OVER (PARTITION BY customer_id ORDER BY timestamp, _seq) AS pr
    FROM (SELECT customer_id, timestamp, _seq,
                 CASE stage WHEN 'discover' THEN 0 WHEN 'consider' THEN 1 WHEN 'evaluate' THEN 2
                            WHEN 'purchase' THEN 3 WHEN 'use' THEN 4 END AS r
          FROM {schema}.interactions)
), per AS (
    SELECT customer_id, count(*) FILTER (WHERE r < pr) AS loops,
           coalesce(bool_or(pr = 4 AND r = 2), false) AS reeval, max(timestamp)::DATE AS last_day
    FROM l GROUP BY customer_id
), days AS (
    SELECT DISTINCT customer_id, timestamp::DATE AS d FROM {schema}.interactions WHERE amount > 0
), gaps AS (
    SELECT d - lag(d) OVER (PARTITION BY customer_id ORDER BY d) AS gap FROM days
), g AS (
    SELECT coalesce(round(quantile_cont(gap, 0.9))::BIGINT, 90) AS churn_days,
           median(gap)::DOUBLE AS cycle FROM gaps WHERE gap IS NOT NULL
), mx AS (SELECT max(last_day) AS last FROM per)
SELECT count(*) AS customers, avg((loops > 0)::INT) AS loop_rate, avg(loops) AS loops_per_customer,
       avg(reeval::INT) AS reevaluation_rate, any_value(g.cycle) AS repeat_purchase_cycle_days,
       avg(((mx.last - per.last_day) > g.churn_days)::INT) AS loop_exit_rate,
       any_value(g.churn_days) AS churn_days
FROM per, g, mx
"""


def sql_loop_metrics(db: str) -> dict:
    con = duckdb.connect(db, read_only=True)
    df = con.sql(SQL_LOOPS.format(schema=_schema(con))).pl()
    con.close()
    return _summary_loops(df)


# -- agreement check (not timed) --------------------------------------------------------------------

def check(touchpoints: int) -> None:
    db = str(db_path(touchpoints))
    for ours, base in ((cx_transitions, sql_transitions), (cx_loop_metrics, sql_loop_metrics)):
        a, b = ours(db), base(db)
        same = a == b
        print(f"{ours.__name__} vs {base.__name__}: {'agree' if same else 'DIFFER'}")
        if not same:
            print(" ours:", a, "\n base:", b)
        else:
            print(" ", {k: v for k, v in a.items() if k != "rows"})


if __name__ == "__main__":  # python -m bench.ops_flows 1M 10M
    from bench.harness import parse_size

    for size in sys.argv[1:] or ["1M"]:
        check(parse_size(size))
