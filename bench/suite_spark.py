"""`python -m bench spark --touchpoints 1M`: the metrics of the parity suite on Spark local beside
DuckDB, on the same generated data (Spark reads it as Parquet). Spark is slower on one machine:
the ratio documents its overhead, which buys running where the data lives (see the README)."""
from __future__ import annotations

from bench.harness import measure, report

OPERATIONS = ("funnel", "funnel, 30d window", "funnel, by entry channel", "transitions (stages)", "loop metrics",
              "paths", "retention cohorts", "lifecycle states", "NPS by channel", "key drivers", "forgiveness",
              "relationship summary", "segment features", "CLV summary")


def run(sizes, repeat):
    from bench.ops_pages import app_db
    from bench.ops_spark import lake

    rows = []
    if any(n > 1_000_000 for n in sizes):
        print("spark: measured at 1M touchpoints at most (local Spark on 2 cores; larger sizes take long)")
        sizes = sorted({min(n, 1_000_000) for n in sizes})
    for n in sizes:
        db = app_db(n)
        lk = lake(db)
        for name in OPERATIONS:
            duck = measure("ops_spark", "duckdb_op", {"db": db, "name": name}, repeat=repeat, warmup=0)
            spark = measure("ops_spark", "spark_op", {"lake_dir": lk, "name": name}, repeat=repeat, warmup=0)
            assert spark["extra"]["rows"] == duck["extra"]["rows"], (name, spark["extra"], duck["extra"])
            rows.append({"operation": name, "size": f"{n / 1e6:g}M", "ours": spark, "baseline": duck,
                         "baseline_name": "DuckDB (same function)"})
        print(f"Spark session start-up: {spark['extra']['session_start_s']} s (once per app process)")
    report("spark", rows)
