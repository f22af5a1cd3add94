"""`python -m bench loyalty --touchpoints 1M,10M`: the Loyalty & trust metrics (ours: Ibis on DuckDB) beside
hand-written DuckDB SQL answering the same question (answers checked equal), and the page's cold and
warm run times."""
from __future__ import annotations

import shutil
from pathlib import Path

from bench.harness import measure, report


def private_db(n: int) -> str:
    """A copy of bench.ops_pages.app_db(n) for this suite alone (the shared file may be held open for
    writing by another suite's app run; DuckDB then refuses even readers)."""
    from bench.ops_pages import app_db

    src = Path(app_db(n))
    dst = src.with_name("loyalty_app.duckdb")
    if not dst.exists():
        tmp = dst.with_name(dst.name + ".tmp")
        shutil.copyfile(src, tmp)
        tmp.rename(dst)
    return str(dst)

LABELS = {"scores": "CSAT by touchpoint", "linked_scores": "CSAT by stage (linked answers)",
          "drivers": "key drivers (NPS, rel. weights)", "trust": "trust levels vs NPS/repurchase",
          "forgiveness": "forgiveness by tenure", "relationship": "relationship quality (all cust.)",
          "health_retention": "health deciles vs retention"}


def run(sizes, repeat):
    from bench.ops_loyalty import OPS

    rows = []
    for n in sizes:
        db = private_db(n)
        size = f"{n / 1e6:g}M"
        for op in OPS:
            ours = measure("ops_loyalty", f"cx_{op}", {"db": db}, repeat=repeat)
            base = measure("ops_loyalty", f"sql_{op}", {"db": db}, repeat=repeat)
            assert ours["extra"] == base["extra"], f"{op}: ours and the SQL baseline disagree"
            rows.append({"operation": LABELS[op], "size": size, "ours": ours, "baseline": base,
                         "baseline_name": "hand-written DuckDB SQL"})
        for warm, target in ((True, 1.0), (False, None)):
            r = measure("ops_pages", "page_run", {"db": db, "page": "loyalty", "warm": warm}, repeat=repeat, warmup=0)
            row = {"operation": f"loyalty page, {'warm' if warm else 'cold'} run", "size": size, "ours": r}
            if target is not None:
                row["target_s"] = target
            rows.append(row)
    report("loyalty", rows)
