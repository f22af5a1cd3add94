"""Segments: per-customer features (ours: one Ibis expression; baseline: a hand-written DuckDB SQL
query answering the same) and clustering (ours: cx.segments.cluster; baseline: scikit-learn
KMeans called directly on the same matrix).

Data. Features are timed on the generated dataset (`db_path`: 10M touchpoints ≈ 333k customers). For 1M customers the FEATURE FRAME is synthetic: rows of the 10M dataset's
features resampled with replacement to 1M (new customer ids), cached under bench/data/ — generating
1M customers (≈32M touchpoints) was too slow/large for this machine. Clustering is timed on it.

`python -m bench.ops_segments 1M` prints ours and the baseline side by side (they must agree).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb  # noqa: F401 - imported before the timer starts
import ibis  # noqa: F401
import ibis.backends.duckdb  # noqa: F401
import ibis.backends.duckdb.converter  # noqa: F401
import numpy as np
import polars as pl
import pyarrow  # noqa: F401
import sklearn.cluster  # noqa: F401 - scikit-learn's import (seconds) is start-up, not the operation
import sklearn.decomposition  # noqa: F401
import sklearn.metrics  # noqa: F401
import threadpoolctl  # noqa: F401

import cx
from cx import segments

DATA = Path(__file__).resolve().parent / "data"
CHECK = ("touchpoints", "purchases", "spend", "loops", "gives_received", "incidents", "service_contacts",
         "furthest_stage")


def db_path(touchpoints: int) -> str:
    """Our own copy of the generated dataset of that size, imported as 'demo' (interactions,
    customers, feedback), cached beside the sample's CSVs (other benches hold locks on theirs)."""
    from bench.harness import ensure_event_store, sample_csv

    from cx.ingest import import_folder

    folder = sample_csv(touchpoints).parent
    db = folder / "segments.duckdb"
    if not db.exists():
        tmp = db.with_name("segments.duckdb.tmp")
        for p in (tmp, Path(str(tmp) + ".wal")):
            p.unlink(missing_ok=True)
        s = cx.open(tmp)
        import_folder(s, folder, "demo")
        s.close()
        tmp.rename(db)
    else:
        ensure_event_store(db, "demo")
    return str(db)


def db_1m_customers(source_db: str, copies: int = 3) -> str:
    """A dataset of about 1M customers with real touchpoints: the 10M-touchpoint dataset
    (333,333 customers) `copies` times, each copy's customer ids suffixed (…#1, …#2), so 999,999
    customers and 31.9M touchpoints; cached under bench/data/."""
    db = DATA / f"segments_{copies}x.duckdb"
    if db.exists():
        ensure_event_store(db, "demo")
        return str(db)
    import shutil

    tmp = db.with_name(db.name + ".tmp")
    shutil.copy(source_db, tmp)
    s = cx.open(tmp)
    sch = s.dataset("demo").schema
    with s.transaction() as cur:
        for kind in ("interactions", "customers", "feedback"):
            cols = [r[0] for r in cur.sql(f"DESCRIBE {sch}.{kind}").fetchall()]
            sel = ", ".join(f"customer_id || '#{{i}}' AS customer_id" if c == "customer_id" else c for c in cols)
            for i in range(1, copies):
                cur.execute(f"INSERT INTO {sch}.{kind} SELECT {sel.format(i=i)} FROM {sch}.{kind} "
                              f"WHERE NOT contains(customer_id, '#')")
    s.build_event_store("demo")  # the rows were copied in by SQL: the kernels' store is built here
    s.close()
    tmp.rename(db)
    return str(db)


def features_cluster_ours(db: str, k: int | None = 6, warm: bool = False) -> dict:
    """Features then clustering, end to end, from the database (what the Segments page computes
    once per dataset version and parameters). warm: timed on the second run in the process (the
    database's buffers, Ibis and scikit-learn warm, as in the running app); otherwise the first
    run of a fresh process."""
    from bench.harness import cpu_seconds, steal_seconds

    s = cx.open(db, read_only=True)
    if warm:
        segments.cluster(segments.features(s, dataset="demo"), k=k, scan=k is None)
    c0, st0 = cpu_seconds(), steal_seconds()
    t = time.perf_counter()
    df = segments.features(s, dataset="demo")
    t_feat = time.perf_counter() - t
    r = segments.cluster(df, k=k, scan=k is None)
    sec = time.perf_counter() - t
    return {"seconds": sec, "cpu_s": cpu_seconds() - c0, "steal_s": steal_seconds() - st0,
            "customers": df.height, "features_s": round(t_feat, 2), "cluster_s": round(sec - t_feat, 2), "k": r.k}


def _summary(df: pl.DataFrame) -> dict:
    out = {"customers": df.height}
    for c in CHECK:
        out[c] = round(float(df[c].cast(pl.Float64).sum()), 2)
    for c in ("inbound_share", "mean_sentiment", "last_nps", "last_ces", "recency_days", "tenure_days"):
        out[c] = round(float(df[c].cast(pl.Float64).sum()), 3)
    chans = sorted(c for c in df.columns if c.startswith(("ch_", "in_")))
    out["mix"] = round(float(sum(df[c].fill_null(0).sum() for c in chans)), 3)
    return out


def features_ours(db: str) -> dict:
    s = cx.open(db, read_only=True)
    t = time.perf_counter()
    df = segments.features(s, dataset="demo")
    sec = time.perf_counter() - t
    return {"seconds": sec, **_summary(df)}


def features_sql(db: str) -> dict:
    """The same features in one plain DuckDB SQL query (channels and the dataset's purchase
    touchpoints looked up first, as ours does: a purchase is an amount > 0 or a purchase
    touchpoint, cx.expr.is_purchase)."""
    s = cx.open(db, read_only=True)
    con = s.con
    t = time.perf_counter()
    ds = s.dataset("demo").schema
    tps = s.purchase_touchpoints(s.dataset("demo"))
    bought = "amount > 0" + (" OR touchpoint IN ({})".format(", ".join("'" + x.replace("'", "''") + "'" for x in tps))
                             if tps else "")
    chans = [r[0] for r in con.sql(f"SELECT channel FROM {ds}.interactions WHERE channel IS NOT NULL "
                                   "GROUP BY channel ORDER BY count(*) DESC, channel LIMIT 10").fetchall()]
    mix = ", ".join(f"count(*) FILTER (WHERE channel = '{c}') / count(*) AS ch_{c}, "
                    f"CASE WHEN count(*) FILTER (WHERE direction = 'inbound') > 0 THEN "
                    f"count(*) FILTER (WHERE direction = 'inbound' AND channel = '{c}') / "
                    f"count(*) FILTER (WHERE direction = 'inbound') END AS in_{c}" for c in chans)
    sql = f"""
    WITH r AS (
      SELECT *, lag(rk) OVER (PARTITION BY customer_id ORDER BY timestamp, _seq) AS prk FROM (
        SELECT *, CASE stage WHEN 'discover' THEN 0 WHEN 'consider' THEN 1 WHEN 'evaluate' THEN 2
               WHEN 'purchase' THEN 3 WHEN 'use' THEN 4 END AS rk FROM {ds}.interactions)),
    per AS (
      SELECT customer_id, min(timestamp) AS f, max(timestamp) AS l, count(*) AS touchpoints,
        count(*) FILTER (WHERE {bought}) AS purchases, coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS spend,
        max(rk) AS furthest_stage, count(*) FILTER (WHERE rk < prk) AS loops,
        CASE WHEN count(direction) > 0 THEN count(*) FILTER (WHERE direction = 'inbound') / count(direction) END
          AS inbound_share,
        count(value_given) AS gives_received, count(*) FILTER (WHERE incident) AS incidents,
        avg(sentiment) AS mean_sentiment,
        count(*) FILTER (WHERE direction = 'inbound' AND stage = 'use' AND department IS NOT NULL) AS service_contacts,
        {mix}
      FROM r GROUP BY customer_id),
    fb AS (
      SELECT customer_id, arg_max(score, (timestamp, _seq)) FILTER (WHERE metric = 'nps' AND score IS NOT NULL)
               AS last_nps,
             arg_max(score, (timestamp, _seq)) FILTER (WHERE metric = 'ces' AND score IS NOT NULL) AS last_ces
      FROM {ds}.feedback GROUP BY customer_id)
    SELECT per.* EXCLUDE (f, l), epoch(max(l) OVER () - l) / 86400 AS recency_days,
           epoch(max(l) OVER () - f) / 86400 AS tenure_days, fb.last_nps, fb.last_ces
    FROM per LEFT JOIN fb USING (customer_id) ORDER BY customer_id"""
    df = con.sql(sql).pl()
    sec = time.perf_counter() - t
    return {"seconds": sec, **_summary(df)}


def feature_frame(n_customers: int, source_db: str) -> pl.DataFrame:
    """The features of `source_db`'s dataset resampled (with replacement, seed 0) to n_customers
    rows with new ids; cached as parquet under bench/data/."""
    out = DATA / f"segments_features_{n_customers}.parquet"
    if not out.exists():
        base = DATA / "segments_features_source.parquet"
        if not base.exists():
            s = cx.open(source_db, read_only=True)
            segments.features(s, dataset="demo").write_parquet(base)
            s.close()
        src = pl.read_parquet(base)
        idx = np.random.default_rng(0).integers(0, src.height, n_customers)
        df = src[idx].with_columns(customer_id=pl.format("S{}", pl.int_range(n_customers).cast(pl.Utf8).str.zfill(7)))
        df.write_parquet(out)
    return pl.read_parquet(out)


def cluster_ours(n: int, source_db: str, k: int | None = 6) -> dict:
    df = feature_frame(n, source_db)
    t = time.perf_counter()
    r = segments.cluster(df, k=k, scan=k is None)
    sec = time.perf_counter() - t
    return {"seconds": sec, "k": r.k, "stability": round(r.stability, 3),
            "sizes": r.sizes["customers"].to_list()}


def kmeans_direct(n: int, source_db: str, k: int = 6) -> dict:
    """Baseline: KMeans(k, n_init=3, random_state=0) on the same standardised matrix, all rows,
    same thread limit as ours."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    df = feature_frame(n, source_db)
    X, _ = segments.transform(df, segments.default_columns(df))
    with threadpool_limits(limits=segments.THREADS):
        t = time.perf_counter()
        m = KMeans(n_clusters=k, n_init=3, random_state=0).fit(X)
        sec = time.perf_counter() - t
    return {"seconds": sec, "k": k, "sizes": sorted(np.bincount(m.labels_).tolist(), reverse=True)}


if __name__ == "__main__":
    from bench.harness import parse_size

    db = db_path(parse_size(sys.argv[1] if len(sys.argv) > 1 else "1M"))
    a, b = features_ours(db), features_sql(db)
    for key in a:
        print(f"{key:<18}{a[key]!s:>22}{b.get(key)!s:>22}")
