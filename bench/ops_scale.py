"""100M touchpoints on one 2-core, 24 GB machine (issue 23, part 4): the generator's data written as
Parquet, imported as an analyst would (the folder: interactions, customers, feedback, then the
closed loop's rules), the funnel on it, and every page's first view (bench.ops_prepared).

The generator holds a whole dataset in memory (10M touchpoints: 3.8 GB at its peak), so a larger
one is generated in chunks of CHUNK customers, each with its own seed, its customer and session ids
prefixed by the chunk ("K03C000001"), and streamed into one Parquet file per table: the import
reads one file per table, as a warehouse export would be.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from bench.harness import DATA

CHUNK = 333_333  # customers per generator run (~10.6M touchpoints, 3.8 GB at the generator's peak)
PER_CUSTOMER = 30  # touchpoints per customer, as bench.harness.sample_csv
DATASET = "demo"


def folder(touchpoints: int) -> Path:
    return DATA / f"scale_{touchpoints // 1_000_000}M"


def generate(touchpoints: int) -> dict:
    """The Parquet files of about `touchpoints` rows (cached): seconds, rows per table, MiB on disk."""
    import polars as pl
    import pyarrow.parquet as pq

    from cx import sample

    out = folder(touchpoints)
    done = out / "generated.ok"
    if done.exists():
        return {"seconds": 0.0, "cached": True, **_sizes(out)}
    out.mkdir(parents=True, exist_ok=True)
    chunks = max(1, round(touchpoints / PER_CUSTOMER / CHUNK))  # 100M: 10 chunks, ~106M touchpoints
    writers: dict = {}
    t = time.perf_counter()
    try:
        for k in range(chunks):
            data = sample.generate(n_customers=CHUNK, seed=1000 + k)
            tag = pl.lit(f"K{k:02d}")
            for name, df in (("interactions", data.interactions), ("customers", data.customers),
                             ("feedback", data.feedback)):
                ids = [c for c in ("customer_id", "session_id") if c in df.columns]
                df = df.with_columns([pl.when(pl.col(c).is_not_null()).then(tag + pl.col(c)).alias(c) for c in ids])
                tbl = df.to_arrow()
                if name not in writers:
                    writers[name] = pq.ParquetWriter(out / f"{name}.parquet", tbl.schema, compression="zstd")
                writers[name].write_table(tbl, row_group_size=1_000_000)
            del data
            print(f"  chunk {k + 1}/{chunks} generated ({time.perf_counter() - t:.0f} s)", flush=True)
    finally:
        for w in writers.values():
            w.close()
    seconds = time.perf_counter() - t
    done.write_text(f"{seconds:.1f}\n")
    return {"seconds": seconds, "cached": False, **_sizes(out)}


def _sizes(out: Path) -> dict:
    import pyarrow.parquet as pq

    return {name: pq.ParquetFile(out / f"{name}.parquet").metadata.num_rows
            for name in ("interactions", "customers", "feedback")} | {
        "parquet_mib": round(sum((out / f"{n}.parquet").stat().st_size for n in
                                 ("interactions", "customers", "feedback")) / 2**20)}


def import_all(touchpoints: int) -> dict:
    """The folder imported into a new database (as `python -m cx import` of the folder): seconds per
    table, of which the event store's build, and the closed loop's rules after it."""
    import cx
    from cx.ingest import import_folder

    out = folder(touchpoints)
    db = out / "app.duckdb"
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)
    s = cx.open(db)
    t = time.perf_counter()
    reports = import_folder(s, out, DATASET)
    total = time.perf_counter() - t
    s.con.sql("CHECKPOINT")
    s.close()
    per = {r.kind: round(r.seconds, 1) for r in reports}
    rows = {r.kind: r.accepted for r in reports}
    ev = next((r.events_seconds for r in reports if r.kind == "interactions"), None)
    return {"seconds": total, "per_table_s": per, "rows": rows, "event_store_s": round(ev or 0, 1),
            "rules_s": round(total - sum(r.seconds for r in reports), 1),
            "db_mib": round(os.path.getsize(db) / 2**20)}


def db_path(touchpoints: int) -> str:
    return str(folder(touchpoints) / "app.duckdb")


def funnel(db: str) -> dict:
    """The 4-stage, 30-day funnel (bench.ops_funnel's) on the kernel path, warm as bench.ops_kernels:
    the second run in the process; first_s includes reading the event arrays."""
    import cx
    from bench.ops_funnel import cx_funnel
    from bench.ops_kernels import _warm
    from cx.journey import kernels as K

    store = cx.open(db, read_only=True)
    K.warm_up()
    try:
        assert cx.data.of(store, dataset=DATASET).events() is not None, "no event store at this size"
        return _warm(lambda: cx_funnel(store, dataset=DATASET))
    finally:
        store.close()


def plan_entry(db: str, index: int) -> dict:
    """One entry of cx.prepare.PLAN (a page's default view) computed in this process as the
    background job computes it (results kept in the result store, so later entries read what earlier
    ones wrote): seconds, peak RSS, and each call's seconds and peak RSS after it (what to fix first
    when an entry does not fit in memory)."""
    import cx
    from bench.ops_kernels import _rss_mib
    from cx import prepare, results

    store = cx.open(db)
    ds = store.dataset(DATASET)
    v = prepare.PLAN[index]
    calls = []

    class Traced(prepare.StoreCall):
        def __call__(self, fn, *args, **kwargs):
            t = time.perf_counter()
            out = super().__call__(fn, *args, **kwargs)
            calls.append((results.qualname(fn), round(time.perf_counter() - t, 2), round(_rss_mib("VmHWM"))))
            print("   ", calls[-1], flush=True)
            return out

    t = time.perf_counter()
    try:
        v.run(Traced(store, ds))
        ok = "ok"
    except cx.CXError as e:
        ok = f"message: {e}"
    seconds = time.perf_counter() - t
    store.close()
    return {"seconds": seconds, "entry": v.name, "outcome": ok, "peak_mib": round(_rss_mib("VmHWM")), "calls": calls}
