"""`python -m bench kernels --touchpoints 10M`: the compiled journey kernels side by side with the
Ibis path of the same functions, hand-written DuckDB SQL, ClickHouse's windowFunnel (chdb, when it
installs) and the one-column scan floor; warm runs (bench/ops_kernels.py), medians and same-run
ratios (ratio = kernel / other: below 1 the kernel is faster). Every contender's answer is checked
against the kernel's before its time is reported."""
from __future__ import annotations

from bench.harness import measure, report

METRICS = ("transitions", "loop_metrics", "paths")
TARGETS = {"hand-written DuckDB SQL": 1 / 8, "chdb windowFunnel": 1 / 2}  # the funnel targets


def _extra(r: dict) -> dict:
    return {k: v for k, v in r["extra"].items() if k not in ("first_s", "peak_above_mib")}


def run(sizes, repeat):
    from bench.ops_funnel import cached_db, chdb_dir, chdb_session

    rows = []
    for n in sizes:
        db = cached_db(n)
        size = f"{n / 1e6:g}M"
        ours = measure("ops_kernels", "kernel_funnel", {"db": db}, repeat=repeat)
        print(f"kernel funnel {size}: first run in the process {ours['extra']['first_s']} s (arrays read, code "
              f"loaded), peak {ours['extra']['peak_above_mib']} MiB above the process's baseline")
        others = [("ibis_funnel", "Ibis path (kernels off)", None),
                  ("sql_funnel_warm", "hand-written DuckDB SQL", TARGETS["hand-written DuckDB SQL"])]
        if chdb_session is not None:
            chdb_dir(db)  # loaded once, outside the timings
            others.append(("chdb_funnel_warm", "chdb windowFunnel", TARGETS["chdb windowFunnel"]))
        for op, name, target in others:
            base = measure("ops_kernels", op, {"db": db}, repeat=repeat)
            want = _extra(ours) if op != "chdb_funnel_warm" else {"counts": _extra(ours)["counts"]}
            assert _extra(base) == want, f"funnel: the kernel and {name} disagree: {_extra(ours)} {_extra(base)}"
            rows.append({"operation": "funnel 4 stages 30d, kernel", "size": size, "ours": ours, "baseline": base,
                         "baseline_name": name, "target": target})
        floor = measure("ops_kernels", "scan_floor", {"db": db}, repeat=repeat)
        rows.append({"operation": "funnel kernel vs 1-column scan", "size": size, "ours": ours, "baseline": floor,
                     "baseline_name": "one-column scan (floor)", "target": None})
        for metric in METRICS:
            k = measure("ops_kernels", "kernel_metric", {"db": db, "name": metric}, repeat=repeat)
            s = measure("ops_kernels", "sql_metric", {"db": db, "name": metric}, repeat=repeat)
            assert _extra(k) == _extra(s), f"{metric}: the kernel and the SQL disagree: {_extra(k)} {_extra(s)}"
            rows.append({"operation": f"{metric.replace('_', ' ')}, kernel", "size": size, "ours": k, "baseline": s,
                         "baseline_name": "hand-written DuckDB SQL", "target": 1 / 4})
    for r in rows:
        print(f"  {r['operation']} {r['size']} vs {r['baseline_name']}: {r['ours']['median_s']:.3f} s vs "
              f"{r['baseline']['median_s']:.3f} s")
    report("kernels", rows)
