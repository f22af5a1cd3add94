"""`python -m bench voc --touchpoints 100k`: voice of the customer at N comments (the sizes are
comment counts here). Target: sentiment + themes for 100k comments under 60 s, once per import."""
from __future__ import annotations

from bench.harness import measure, report

SIZES = (100_000,)


def run(sizes, repeat):
    rows = []
    for n in sizes:
        if n >= 1_000_000:  # the CLI's default touchpoint sizes: use the comment count of the issue
            n = SIZES[0]
        size = f"{n / 1e3:g}k"
        imp = measure("ops_voc", "import_with_sentiment", {"n": n}, repeat=repeat)
        base = measure("ops_voc", "import_without_sentiment", {"n": n}, repeat=repeat)
        fit = measure("ops_voc", "theme_fit", {"n": n}, repeat=repeat)
        rows.append({"operation": "feedback import + sentiment", "size": size, "ours": imp, "baseline": base,
                     "baseline_name": "the same import without the hook"})
        rows.append({"operation": "themes fit (auto k), stored", "size": size, "ours": fit})
        total = {"median_s": imp["median_s"] + fit["median_s"], "peak_mib": max(imp["peak_mib"], fit["peak_mib"]),
                 "runs_s": [], "extra": {}}
        rows.append({"operation": "import + sentiment + themes", "size": size, "ours": total, "target_s": 60})
        rows.append({"operation": "page queries (fit stored)", "size": size,
                     "ours": measure("ops_voc", "page_queries", {"n": n}, repeat=repeat)})
        rows.append({"operation": "VADER, distinct texts", "size": size,
                     "ours": measure("ops_voc", "vader_distinct", {"n": n}, repeat=1, warmup=0),
                     "baseline": measure("ops_voc", "vader_every_row", {"n": n}, repeat=1, warmup=0),
                     "baseline_name": "VADER on every row"})
        for r in rows:
            print(r["operation"], r["ours"].get("extra"))
    report("voc", rows)
