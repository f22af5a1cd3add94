"""Life cycle and teams: our Ibis metrics vs plain hand-written DuckDB SQL answering the same
questions on the same database (the generated dataset imported as "demo" by bench.ops_pages.app_db).

Each op opens the database read-only, computes the whole answer and returns a small summary (the
`extra` of bench.harness.measure), so ours and the baseline can be checked to agree:
`python -m bench.ops_lifecycle 1M` prints both answers' summaries side by side.
"""
from __future__ import annotations

import sys

import duckdb  # imported before the timer starts: start-up is not the operation
import ibis  # noqa: F401
import ibis.backends.duckdb  # noqa: F401
import ibis.backends.duckdb.converter  # noqa: F401 (loads pandas: start-up, not the query)
import polars as pl
import pyarrow  # noqa: F401
import scipy.stats  # noqa: F401

import cx
from cx import lifecycle, teams

DATASET = "demo"


def _schema(con) -> str:
    (i,), = con.sql("SELECT id FROM cx_meta.datasets WHERE name = $n", params={"n": DATASET}).fetchall()
    return f"ds_{int(i)}"


def _con(db):
    con = duckdb.connect(db, read_only=True)
    con.sql("SET TimeZone = 'UTC'")
    return con


# -- retention cohorts (month of first activity) -------------------------------------------------------

def _summary_retention(rows: list[tuple]) -> dict:
    """rows: (cohort, k, cohort_size, active) with active > 0."""
    rows = sorted(rows)
    return {"cells": len(rows), "active_sum": sum(r[3] for r in rows),
            "customers": sum(r[2] for r in rows if r[1] == 0),
            "k1_active": sum(r[3] for r in rows if r[1] == 1)}


def cx_retention(db: str) -> dict:
    store = cx.open(db, read_only=True)
    m = lifecycle.retention(store, period="month", dataset=DATASET)
    store.close()
    m = m.filter(pl.col("active") > 0)
    return _summary_retention(m.select("cohort", "period_index", "cohort_size", "active").rows())


SQL_RETENTION = """
WITH act AS (
    SELECT DISTINCT customer_id, CAST(date_trunc('month', timestamp) AS DATE) AS period
    FROM {s}.interactions WHERE direction IS NULL OR direction <> 'outbound'
), first AS (
    SELECT customer_id, min(period) AS cohort FROM act GROUP BY customer_id
), sizes AS (
    SELECT cohort, count(*) AS cohort_size FROM first GROUP BY cohort
), cnt AS (
    SELECT f.cohort, date_diff('month', f.cohort, a.period) AS k, count(*) AS active
    FROM act a JOIN first f USING (customer_id) GROUP BY 1, 2
)
SELECT cnt.cohort, k, cohort_size, active FROM cnt JOIN sizes USING (cohort) ORDER BY 1, 2
"""


def sql_retention(db: str) -> dict:
    con = _con(db)
    rows = con.sql(SQL_RETENTION.format(s=_schema(con))).fetchall()
    con.close()
    return _summary_retention(rows)


# -- lifecycle states per month --------------------------------------------------------------------

def _summary_lifecycle(rows) -> dict:
    rows = sorted((str(p), int(a), int(b), int(c), int(d)) for p, a, b, c, d in rows)
    return {"periods": len(rows), "totals": [sum(r[i] for r in rows) for i in range(1, 5)],
            "last": list(rows[-1]) if rows else None}


def cx_lifecycle(db: str) -> dict:
    store = cx.open(db, read_only=True)
    lc = lifecycle.lifecycle(store, period="month", dataset=DATASET)
    store.close()
    return _summary_lifecycle(lc.select("period", "new", "returning", "resurrecting", "dormant").rows())


SQL_LIFECYCLE = """
WITH act AS (
    SELECT DISTINCT customer_id, CAST(date_trunc('month', timestamp) AS DATE) AS p
    FROM {s}.interactions WHERE direction IS NULL OR direction <> 'outbound'
), w AS (
    SELECT p, lag(p) OVER (PARTITION BY customer_id ORDER BY p) AS prev,
           lead(p) OVER (PARTITION BY customer_id ORDER BY p) AS nxt FROM act
), lastp AS (
    SELECT CAST(date_trunc('month', max(timestamp)) AS DATE) AS lp FROM {s}.interactions
), a AS (
    SELECT p, count(*) FILTER (WHERE prev IS NULL) AS new,
           count(*) FILTER (WHERE prev = p - INTERVAL 1 MONTH) AS ret,
           count(*) FILTER (WHERE prev < p - INTERVAL 1 MONTH) AS resurrecting
    FROM w GROUP BY p
), d AS (
    SELECT CAST(p + INTERVAL 1 MONTH AS DATE) AS p, count(*) AS dormant FROM w, lastp
    WHERE (nxt IS NULL OR nxt > p + INTERVAL 1 MONTH) AND p + INTERVAL 1 MONTH <= lp GROUP BY 1
)
SELECT coalesce(a.p, d.p), coalesce(new, 0), coalesce(ret, 0), coalesce(resurrecting, 0),
       coalesce(dormant, 0)
FROM a FULL OUTER JOIN d ON a.p = d.p
"""


def sql_lifecycle(db: str) -> dict:
    con = _con(db)
    rows = con.sql(SQL_LIFECYCLE.format(s=_schema(con))).fetchall()
    con.close()
    return _summary_lifecycle(rows)


# -- teams: departments (link answers to the rated interaction, CSAT/CES, resolution, incidents) --------

def _summary_teams(rows) -> dict:
    """rows: (department, touchpoints, incidents, contacts, resolved, csat_n, csat_mean, ces_n)."""
    return {"rows": [[r[0], *[int(v) for v in r[1:6]], round(float(r[6]), 6) if r[6] is not None else None,
                      int(r[7])] for r in sorted(rows)]}


def cx_teams(db: str) -> dict:
    """The whole Teams report (departments, employees with intervals and shrinkage, consistency)."""
    store = cx.open(db, read_only=True)
    rep = teams.report(store, dataset=DATASET)
    store.close()
    d = rep["departments"]
    return _summary_teams(d.select("department", "touchpoints", "incidents", "contacts", "resolved", "csat_n",
                                   "csat_mean", "ces_n").rows()) | {"inconsistent": rep["consistency"]["inconsistent"]}


SQL_TEAMS = """
WITH f AS (
    SELECT customer_id, timestamp, metric, score, touchpoint FROM {s}.feedback
    WHERE metric IN ('csat', 'ces') AND score IS NOT NULL
), linked AS (
    SELECT f.metric, f.score, i.department FROM f ASOF LEFT JOIN {s}.interactions i
    ON f.customer_id = i.customer_id AND f.touchpoint = i.touchpoint AND f.timestamp >= i.timestamp
), scores AS (
    SELECT department, count(*) FILTER (WHERE metric = 'csat') AS csat_n,
           avg(score) FILTER (WHERE metric = 'csat') AS csat_mean, count(*) FILTER (WHERE metric = 'ces') AS ces_n
    FROM linked WHERE department IS NOT NULL GROUP BY 1
), c AS (
    SELECT department, timestamp,
           lead(timestamp) OVER (PARTITION BY customer_id, department ORDER BY timestamp, _seq) AS nxt
    FROM {s}.interactions WHERE direction = 'inbound' AND department IS NOT NULL
), res AS (
    SELECT department, count(*) AS contacts,
           count(*) FILTER (WHERE nxt IS NULL OR nxt > timestamp + INTERVAL 7 DAY) AS resolved FROM c GROUP BY 1
), ops AS (
    SELECT department, count(*) AS touchpoints, count(*) FILTER (WHERE incident) AS incidents
    FROM {s}.interactions WHERE department IS NOT NULL GROUP BY 1
)
SELECT ops.department, touchpoints, incidents, coalesce(contacts, 0), coalesce(resolved, 0),
       coalesce(csat_n, 0), csat_mean, coalesce(ces_n, 0)
FROM ops LEFT JOIN res USING (department) LEFT JOIN scores USING (department)
"""


def sql_teams(db: str) -> dict:
    con = _con(db)
    rows = con.sql(SQL_TEAMS.format(s=_schema(con))).fetchall()
    con.close()
    return _summary_teams(rows)


if __name__ == "__main__":  # python -m bench.ops_lifecycle 1M: show that both answers agree
    from bench.harness import parse_size
    from bench.ops_pages import app_db

    path = app_db(parse_size(sys.argv[1] if len(sys.argv) > 1 else "1M"))
    for op in ("retention", "lifecycle", "teams"):
        ours, base = globals()[f"cx_{op}"](path), globals()[f"sql_{op}"](path)
        base_cmp = {k: v for k, v in ours.items() if k in base}
        print(op, "agree" if base_cmp == base else "DIFFER", ours, base, sep="\n  ")
