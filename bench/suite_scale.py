"""`python -m bench scale --touchpoints 100M --repeat 1`: the dataset ten times the 10M one, on this
machine (issue 23, part 4; bench/ops_scale.py). Generated as Parquet in chunks, imported as a folder
(with the event store's build and the closed loop's rules), the funnel (target < 3 s, warm), and every
page's default view after the import (the background job's preparation, then each first view) and after
an app restart (bench.ops_prepared). Sizes under 50M are read as 100M: this suite is about scale."""
from __future__ import annotations

import statistics

from bench.harness import measure, report, run_once

FUNNEL_TARGET_S = 3.0


def _row(op: str, size: str, xs: list, peak: float, extra: dict | None = None, target: float | None = None) -> dict:
    r = {"operation": op, "size": size, "ours": {"median_s": statistics.median(xs), "runs_s": [round(x, 3) for x in xs],
                                                 "peak_mib": peak, "extra": extra or {}}}
    if target is not None:
        r["target_s"] = target
    return r


def run(sizes, repeat):
    from cx.prepare import PLAN

    from bench.ops_scale import db_path

    rows = []
    for n in sorted({max(n, 100_000_000) if n < 50_000_000 else n for n in sizes}):
        size = f"{n / 1e6:g}M"
        s, peak, g, _ = run_once("ops_scale", "generate", {"touchpoints": n})
        print(f"generated at {size}: {g}", flush=True)
        if not g.get("cached"):
            rows.append(_row("generate (Parquet, chunked)", size, [s], peak, g))
        s, peak, imp, _ = run_once("ops_scale", "import_all", {"touchpoints": n})
        print(f"imported at {size}: {imp}", flush=True)
        rows.append(_row("import folder (3 tables + event store + case rules)", size, [s], peak, imp))
        db = db_path(n)
        f = measure("ops_scale", "funnel", {"db": db}, repeat=repeat, warmup=0)
        rows.append({"operation": "funnel (4 stages, 30d), kernel, warm", "size": size, "ours": f,
                     "target_s": FUNNEL_TARGET_S})
        s, peak, imp, _ = run_once("ops_prepared", "after_import", {"db": db})
        print("seconds per plan entry in the job:", imp["entry_s"], flush=True)
        rows.append(_row("all dashboards ready after import", size, [imp["ready_s"]], peak))
        for v in PLAN:
            rows.append(_row(f"{v.name}: after import", size, [imp["first_view_s"][v.name]], peak, target=2.0))
        for v in PLAN:
            runs = [run_once("ops_prepared", "after_restart", {"db": db, "page": v.page, "tab": v.tab})
                    for _ in range(repeat)]
            rows.append(_row(f"{v.name}: after restart", size, [r[0] for r in runs], max(r[1] for r in runs),
                             target=2.0))
        report("scale", rows)
