"""The event store after an append (issue 23, part 1): merged into the current store against built
again from all the interactions, on a copy of the generated dataset's database (bench.ops_pages.app_db)
to which the 1M-touchpoint sample's interactions are appended (1.06M rows of customers it already has,
their timestamps interleaved with the old ones: a month of new events, say). Each run appends to a
fresh copy (untimed); the op reports the event store's part of the import (ImportReport.events_seconds)
and the whole import."""
from __future__ import annotations

import shutil
from pathlib import Path


def _copy(n_touchpoints: int) -> Path:
    from bench.ops_pages import app_db

    src = Path(app_db(n_touchpoints))
    dst = src.with_name("append.duckdb")
    for p in (dst, dst.with_name(dst.name + ".wal")):
        p.unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    return dst


def append(n_touchpoints: int, merge: bool) -> dict:
    import cx
    import cx.ingest.land as land
    from bench.harness import sample_csv

    extra = sample_csv(1_000_000)
    db = _copy(n_touchpoints)
    s = cx.open(db)
    s.build_event_store("demo")  # current before the append (untimed; a no-op when it is)
    if not merge:  # the baseline: the same append, its store built from all the interactions
        real = land.build_events
        land.build_events = lambda con, ds, version, appended_after=None: real(con, ds, version)
    with land.deferred_hook():  # the closed loop's rules are not the event store's cost
        rep = s.import_file(extra, kind="interactions", dataset="demo", mode="append", allow_duplicate=True)
    rows = s.con.sql("SELECT rows FROM cx_meta.event_stores WHERE dataset_id = $d",
                     params={"d": s.dataset("demo").id}).fetchall()[0][0]
    s.close()
    db.unlink()
    return {"seconds": rep.events_seconds, "import_s": round(rep.seconds, 2), "appended": rep.accepted,
            "store_rows": rows}
