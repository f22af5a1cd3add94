"""`python -m bench load`: the websocket load client (bench/load.py) at 10, 25 and 50 sessions on the
demo data; p95 of an overview rerun per level (target: 25 sessions under 1 s). Sizes do not apply:
the load runs on the demo dataset; `repeat` is the reruns per session. Two think times between
clicks: 1 s (a stress test) and 2 s."""
from .harness import report
from .load import main as load_main


def run(sizes, repeat):
    rows = []
    for think in ("1.0", "2.0"):
        for r in load_main(["--sessions", "10,25,50", "--reruns", str(max(repeat, 3)), "--think", think]):
            ours = {"median_s": r["p95_s"], "runs_s": [r["p50_s"], r["p95_s"], r["max_s"]],
                    "peak_mib": float("nan"), "extra": r}
            rows.append({"operation": f"overview rerun p95, think {think} s ({r['errors']} errors)",
                         "size": f"{r['sessions']}s", "ours": ours, "target_s": 1.0 if r["sessions"] == 25 else None})
    report("load", rows)
