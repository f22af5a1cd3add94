"""Prepared dashboards: `python -m bench prepared --touchpoints 10M` (see bench/ops_prepared.py).

For every entry of cx.prepare.PLAN (each page's default view, and the tabs behind the model fits):
its first view after an import once the background job has prepared it (one preparation per size:
it takes minutes at 10M), and after an app restart (`repeat` fresh processes), each against the
same first view computed with the result store off (one fresh process; the figure before it).
Also: how long after the import every dashboard was ready, and what the store holds on disk."""
from __future__ import annotations

import statistics

from bench.harness import report, run_once

TARGET_S = 2.0


def _row(op: str, size: str, xs: list, peak: float, base: float | None, target: float | None = TARGET_S) -> dict:
    r = {"operation": op, "size": size, "ours": {"median_s": statistics.median(xs), "runs_s": [round(x, 3) for x in xs],
                                                 "peak_mib": peak, "extra": {}}}
    if base is not None:
        r.update(baseline={"median_s": base, "runs_s": [round(base, 3)]}, baseline_name="computed (CX_RESULTS=0)")
    if target is not None:
        r["target_s"] = target
    return r


def run(sizes, repeat):
    from cx.prepare import PLAN

    from bench.ops_prepared import working_copy

    rows = []
    for n in sizes:
        size = f"{n / 1e6:g}M"
        db = working_copy(n)
        base = {}
        for v in PLAN:
            s, peak, _, _ = run_once("ops_prepared", "computed", {"db": db, "page": v.page, "tab": v.tab})
            base[v.name] = (s, peak)
        s, peak, imp, _ = run_once("ops_prepared", "after_import", {"db": db})
        rows.append(_row("all dashboards ready after import", size, [imp["ready_s"]], peak,
                         sum(b[0] for b in base.values()), target=None))
        print("seconds per plan entry in the job:", imp["entry_s"])
        for v in PLAN:
            rows.append(_row(f"{v.name}: after import", size, [imp["first_view_s"][v.name]], peak, base[v.name][0]))
        for v in PLAN:
            runs = [run_once("ops_prepared", "after_restart", {"db": db, "page": v.page, "tab": v.tab})
                    for _ in range(repeat)]
            rows.append(_row(f"{v.name}: after restart", size, [r[0] for r in runs], max(r[1] for r in runs),
                             base[v.name][0]))
        st = run_once("ops_prepared", "stored", {"db": db})[2]
        print(f"result store at {size}: {st['results']} results, {st['mib']} MiB of payloads, "
              f"{st['compute_s']} s of computing saved per restart; database file {st['file_mib']} MiB")
    report("prepared", rows)
