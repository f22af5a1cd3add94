"""`python -m bench eventstore --touchpoints 10M`: an append merges into the event store instead of
building it again (bench/ops_eventstore.py); the event store's part of the import, merge vs build, and
the ratio in the same run."""
from __future__ import annotations

from bench.harness import measure, report


def run(sizes, repeat):
    rows = []
    for n in sizes:
        size = f"{n / 1e6:g}M + 1.06M appended"
        merged = measure("ops_eventstore", "append", {"n_touchpoints": n, "merge": True}, repeat=repeat, warmup=0)
        built = measure("ops_eventstore", "append", {"n_touchpoints": n, "merge": False}, repeat=repeat, warmup=0)
        assert merged["extra"]["store_rows"] == built["extra"]["store_rows"], (merged, built)
        rows.append({"operation": "event store after an append: merge vs build", "size": size, "ours": merged,
                     "baseline": built, "baseline_name": "built from all the interactions", "target": None})
    report("eventstore", rows)
