"""Loyalty & trust: our Ibis metrics (cx.loyalty) vs plain hand-written DuckDB SQL answering the same
questions on the same database (bench.ops_pages.app_db: the generator's data imported as "demo").

Each op opens the database read-only, computes the whole answer and returns a small summary (the
`extra` of bench.harness.measure) so that ours and the baseline can be checked to agree:
`python -m bench.ops_loyalty 1M` prints both answers side by side.
"""
from __future__ import annotations

import math
import sys

import duckdb  # imported before the timer starts: start-up is not the operation
import ibis  # noqa: F401
import ibis.backends.duckdb  # noqa: F401
import ibis.backends.duckdb.converter  # noqa: F401 (loads pandas: start-up, not the query)
import polars as pl
import pyarrow  # noqa: F401

import cx
from cx import loyalty as L

DATASET = "demo"
OPS = ("scores", "linked_scores", "drivers", "trust", "forgiveness", "relationship", "health_retention")


def _schema(con) -> str:
    (i,), = con.sql("SELECT id FROM cx_meta.datasets WHERE name = $n", params={"n": DATASET}).fetchall()
    return f"ds_{int(i)}"


def _r(v):
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 6)
    return v


def _rows(df: pl.DataFrame, cols, sort=None) -> list:
    d = df.sort(sort) if sort else df
    return [[_r(v) for v in r] for r in d.select(cols).rows()]


# -- summaries (the same for ours and the baseline) ----------------------------------------------------

def _sum_scores(df):
    return {"rows": _rows(df, ["group", "n", "value", "mean_score"], sort="group")}


def _sum_drivers(d: dict):
    s = d["summary"].row(0, named=True)
    return {"rows": _rows(d["drivers"], ["touchpoint", "importance", "performance", "quadrant"], sort="touchpoint"),
            "customers": s["customers"], "r2": _r(s["r2"])}


def _sum_trust(df):
    return {"rows": _rows(df, ["trust", "customers", "n_nps", "nps", "buyers", "repurchase_rate"], sort="trust")}


def _sum_forgiveness(df):
    return {"rows": _rows(df, ["group", "customers", "still_active", "share", "baseline"], sort="group")}


def _sum_relationship(df):
    r = df.row(0, named=True)
    return {k: _r(float(r[k]) if r[k] is not None else None) for k in
            ("customers", "inbound_share", "median_answer_minutes", "answered_share", "gives", "purchases",
             "identified_share", "multichannel_share", "dialogue", "responsiveness", "exchange", "recognition",
             "health")}


def _sum_health(df):
    return {"rows": _rows(df, ["decile", "customers", "health", "retention"], sort="decile")}


# -- ours ------------------------------------------------------------------------------------------

def _ours(db: str, fn, summary, **kw) -> dict:
    store = cx.open(db, read_only=True)
    out = summary(fn(store, dataset=DATASET, **kw))
    store.close()
    return out


def cx_scores(db: str) -> dict:
    return _ours(db, L.score_summary, _sum_scores, metric="csat", by="touchpoint")


def cx_linked_scores(db: str) -> dict:
    return _ours(db, L.score_summary, _sum_scores, metric="csat", by="stage")


def cx_drivers(db: str) -> dict:
    return _ours(db, L.key_drivers, _sum_drivers, outcome="nps")


def cx_trust(db: str) -> dict:
    return _ours(db, L.trust_levels, _sum_trust)


def cx_forgiveness(db: str) -> dict:
    return _ours(db, L.forgiveness, _sum_forgiveness)


def cx_relationship(db: str) -> dict:
    return _ours(db, L.relationship_summary, _sum_relationship)


def cx_health_retention(db: str) -> dict:
    return _ours(db, L.health_retention, _sum_health)


# -- hand-written DuckDB SQL --------------------------------------------------------------------

def _sql(db: str, q: str) -> pl.DataFrame:
    con = duckdb.connect(db, read_only=True)
    con.sql("SET TimeZone = 'UTC'")
    out = con.sql(q.format(s=_schema(con))).pl()
    con.close()
    return out


SQL_SCORES = """
SELECT coalesce(touchpoint, '(unknown)') AS "group", count(*) AS n,
       100 * avg(CASE WHEN score >= 4 THEN 1.0 ELSE 0.0 END) AS value, avg(score) AS mean_score
FROM {s}.feedback WHERE metric = 'csat' AND score IS NOT NULL GROUP BY 1
"""

SQL_LINKED = """
WITH f AS (SELECT * FROM {s}.feedback WHERE metric = 'csat' AND score IS NOT NULL),
j AS (
    SELECT f._seq, f.score, i.stage, i.timestamp AS its,
           row_number() OVER (PARTITION BY f._seq ORDER BY i.timestamp DESC, i._seq DESC) AS r
    FROM f LEFT JOIN {s}.interactions i
      ON i.customer_id = f.customer_id AND i.touchpoint = f.touchpoint AND i.timestamp <= f.timestamp)
SELECT CASE WHEN its IS NULL THEN '(not linked)' ELSE coalesce(stage, '(unknown)') END AS "group", count(*) AS n,
       100 * avg(CASE WHEN score >= 4 THEN 1.0 ELSE 0.0 END) AS value, avg(score) AS mean_score
FROM j WHERE r = 1 GROUP BY 1
"""

SQL_DRIVERS = """
WITH y AS (
    SELECT customer_id, score AS y FROM (
        SELECT customer_id, score, row_number() OVER (PARTITION BY customer_id ORDER BY timestamp DESC, _seq DESC) AS r
        FROM {s}.feedback WHERE metric = 'nps' AND score IS NOT NULL AND customer_id IS NOT NULL) WHERE r = 1)
SELECT a.customer_id, a.touchpoint, avg(a.score) AS m, count(*) AS k, y.y
FROM {s}.feedback a JOIN y USING (customer_id)
WHERE a.metric = 'csat' AND a.score IS NOT NULL AND a.touchpoint IS NOT NULL
GROUP BY a.customer_id, a.touchpoint, y.y
"""

_LATEST = """(SELECT customer_id, score FROM (
    SELECT customer_id, score, row_number() OVER (PARTITION BY customer_id ORDER BY timestamp DESC, _seq DESC) AS r
    FROM {{s}}.feedback WHERE metric = '{m}' AND score IS NOT NULL AND customer_id IS NOT NULL) WHERE r = 1)"""

SQL_TRUST = f"""
WITH tr AS {_LATEST.format(m='trust')}, n AS {_LATEST.format(m='nps')},
p AS (SELECT customer_id, count(*) AS np FROM {{s}}.interactions WHERE amount > 0 GROUP BY 1)
SELECT CAST(round(tr.score) AS BIGINT) AS trust, count(*) AS customers, count(n.score) AS n_nps,
       100.0 * (count(*) FILTER (WHERE n.score >= 9) - count(*) FILTER (WHERE n.score <= 6)) / nullif(count(n.score), 0) AS nps,
       count(*) FILTER (WHERE coalesce(p.np, 0) > 0) AS buyers,
       avg(CASE WHEN p.np >= 2 THEN 1.0 WHEN p.np = 1 THEN 0.0 END) AS repurchase_rate
FROM tr LEFT JOIN n USING (customer_id) LEFT JOIN p USING (customer_id) GROUP BY 1
"""

SQL_FORGIVENESS = """
WITH per AS (
    SELECT customer_id, min(timestamp) AS fi, max(timestamp) AS last_ts,
           min(timestamp) FILTER (WHERE amount > 0) AS fp, min(timestamp) FILTER (WHERE incident) AS inc
    FROM {s}.interactions GROUP BY 1),
e AS (SELECT max(timestamp) - INTERVAL 90 DAY AS lim FROM {s}.interactions),
c AS (SELECT per.*, coalesce(CAST(cu.first_seen AS TIMESTAMP), per.fi) AS fs, e.lim
      FROM per LEFT JOIN {s}.customers cu USING (customer_id) CROSS JOIN e),
inc AS (
    SELECT CASE WHEN d < 182.625 THEN '< 6 months' WHEN d < 730.5 THEN '6–24 months' ELSE '> 24 months' END AS "group",
           count(*) AS customers, count(*) FILTER (WHERE last_ts >= inc + INTERVAL 90 DAY) AS still_active
    FROM (SELECT *, (epoch(inc) - epoch(fs)) / 86400 AS d FROM c WHERE inc IS NOT NULL AND inc <= lim) GROUP BY 1),
base AS (
    SELECT b."group", count(*) AS bn, count(*) FILTER (WHERE last_ts >= ref + INTERVAL 90 DAY) AS bact
    FROM (SELECT c.*, m."group", c.fs + to_days(m.mid) AS ref
          FROM c, (VALUES ('< 6 months', 90), ('6–24 months', 456), ('> 24 months', 1000)) m("group", mid)
          WHERE c.inc IS NULL AND c.fp IS NOT NULL) b
    WHERE fp <= ref AND ref <= lim AND last_ts >= ref GROUP BY 1)
SELECT inc."group", customers, still_active, still_active / customers AS share, bact / nullif(bn, 0) AS baseline
FROM inc LEFT JOIN base USING ("group")
UNION ALL
SELECT 'no incident', count(*), count(*) FILTER (WHERE last_ts >= fp + INTERVAL 90 DAY),
       count(*) FILTER (WHERE last_ts >= fp + INTERVAL 90 DAY) / nullif(count(*), 0), NULL
FROM c WHERE inc IS NULL AND fp IS NOT NULL AND fp <= lim
"""


def _relationship_sql(src: str) -> str:
    """Per customer relationship components over the interactions `src` (a subquery)."""
    return f"""
t AS ({src}),
base AS (
    SELECT customer_id, count(direction) AS contacts, count(*) FILTER (WHERE direction = 'inbound') AS inbound,
           count(*) FILTER (WHERE value_given IS NOT NULL AND (direction IS NULL OR direction = 'outbound')) AS gives,
           count(*) FILTER (WHERE amount > 0) AS purchases
    FROM t GROUP BY 1),
c AS (
    SELECT customer_id, channel, department, direction, timestamp,
           min(CASE WHEN direction = 'outbound' THEN timestamp END) OVER (
               PARTITION BY customer_id, channel, department ORDER BY timestamp, _seq
               ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS nxt
    FROM t WHERE direction IS NOT NULL AND department IS NOT NULL),
pairs AS (SELECT DISTINCT channel, department FROM t WHERE direction = 'outbound' AND department IS NOT NULL),
ans AS (
    SELECT customer_id, count(*) AS inbound_contacts, count(m) AS answered, median(m) AS med
    FROM (SELECT c.customer_id,
                 CASE WHEN nxt IS NOT NULL AND (epoch(nxt) - epoch(timestamp)) / 60 <= 7 * 1440
                      THEN (epoch(nxt) - epoch(timestamp)) / 60 END AS m
          FROM c SEMI JOIN pairs ON c.channel = pairs.channel AND c.department = pairs.department
          WHERE c.direction = 'inbound')
    GROUP BY 1),
ch AS (
    SELECT customer_id, count(*) AS channels, sum(n) AS tot, sum(n * idf) AS idn
    FROM (SELECT customer_id, channel, count(*) AS n,
                 max(CASE WHEN amount IS NOT NULL OR department IS NOT NULL OR employee_id IS NOT NULL THEN 1 ELSE 0 END) AS idf
          FROM t WHERE channel IS NOT NULL GROUP BY 1, 2)
    GROUP BY 1),
r0 AS (
    SELECT base.*, coalesce(ans.inbound_contacts, 0) AS inbound_contacts, coalesce(ans.answered, 0) AS answered,
           ans.med, inbound / nullif(contacts, 0) AS ish, ch.idn / nullif(ch.tot, 0) AS idshare,
           coalesce(ch.channels, 0) AS channels
    FROM base LEFT JOIN ans USING (customer_id) LEFT JOIN ch USING (customer_id)),
r1 AS (
    SELECT *, 100 * (1 - abs(ish - 0.5) * 2) AS dialogue, 100 * exp(-ln(2) * med / 1440) AS responsiveness,
           CASE WHEN gives + purchases > 0 THEN 100.0 * least(gives, purchases) / greatest(gives, purchases) ELSE 0 END AS exchange,
           100 * (0.5 * coalesce(idshare, 0) + 0.5 * CASE WHEN channels >= 2 THEN 1 ELSE 0 END) AS recognition
    FROM r0),
r AS (
    SELECT *, (0.25 * coalesce(dialogue, 0) + 0.25 * coalesce(responsiveness, 0) + 0.25 * exchange + 0.25 * recognition)
              / (0.25 * (dialogue IS NOT NULL)::INT + 0.25 * (responsiveness IS NOT NULL)::INT + 0.5) AS health
    FROM r1)"""


SQL_RELATIONSHIP = "WITH " + _relationship_sql("SELECT * FROM {s}.interactions") + """
SELECT count(*) AS customers, sum(inbound) / nullif(sum(contacts), 0) AS inbound_share,
       median(med) AS median_answer_minutes, sum(answered) / nullif(sum(inbound_contacts), 0) AS answered_share,
       sum(gives) AS gives, sum(purchases) AS purchases, avg(idshare) AS identified_share,
       avg(CASE WHEN channels >= 2 THEN 1.0 ELSE 0.0 END) AS multichannel_share, avg(dialogue) AS dialogue,
       avg(responsiveness) AS responsiveness, avg(exchange) AS exchange, avg(recognition) AS recognition,
       avg(health) AS health
FROM r
"""

SQL_HEALTH = """
WITH ref AS (SELECT max(timestamp) - INTERVAL 90 DAY AS ref FROM {s}.interactions),
recent AS (SELECT DISTINCT customer_id FROM {s}.interactions, ref
           WHERE (direction IS NULL OR direction <> 'outbound') AND timestamp < ref.ref
             AND timestamp >= ref.ref - INTERVAL 365 DAY),
after AS (SELECT DISTINCT customer_id FROM {s}.interactions, ref
          WHERE (direction IS NULL OR direction <> 'outbound') AND timestamp >= ref.ref
            AND timestamp <= ref.ref + INTERVAL 90 DAY),
""" + _relationship_sql("SELECT i.* FROM {s}.interactions i, ref WHERE i.timestamp < ref.ref") + """,
h AS (SELECT r.customer_id, r.health, after.customer_id IS NOT NULL AS retained
      FROM r SEMI JOIN recent USING (customer_id) LEFT JOIN after USING (customer_id)),
d AS (SELECT *, ntile(10) OVER (ORDER BY health, customer_id) AS decile FROM h)
SELECT decile, count(*) AS customers, avg(health) AS health, avg(retained::INT) AS retention FROM d GROUP BY 1
"""


def sql_scores(db: str) -> dict:
    return _sum_scores(_sql(db, SQL_SCORES))


def sql_linked_scores(db: str) -> dict:
    return _sum_scores(_sql(db, SQL_LINKED))


def sql_drivers(db: str) -> dict:
    # the same numpy modelling on the per-customer frame the SQL returns
    return _sum_drivers(L.fit_drivers(_sql(db, SQL_DRIVERS), "nps", "csat"))


def sql_trust(db: str) -> dict:
    return _sum_trust(_sql(db, SQL_TRUST))


def sql_forgiveness(db: str) -> dict:
    return _sum_forgiveness(_sql(db, SQL_FORGIVENESS))


def sql_relationship(db: str) -> dict:
    return _sum_relationship(_sql(db, SQL_RELATIONSHIP))


def sql_health_retention(db: str) -> dict:
    return _sum_health(_sql(db, SQL_HEALTH))


if __name__ == "__main__":  # python -m bench.ops_loyalty 1M [op ...]: both answers side by side
    import time

    from bench.harness import parse_size
    from bench.ops_pages import app_db

    db = app_db(parse_size(sys.argv[1] if len(sys.argv) > 1 else "1M"))
    for op in sys.argv[2:] or OPS:
        t = time.perf_counter()
        a = globals()[f"cx_{op}"](db)
        t1 = time.perf_counter()
        b = globals()[f"sql_{op}"](db)
        t2 = time.perf_counter()
        print(f"{op}: ours {t1 - t:.2f}s, sql {t2 - t1:.2f}s, agree: {a == b}")
        if a != b:
            print("  ours:", a)
            print("  sql: ", b)
