"""`python -m bench loadbomb`: the load client (bench/load.py) with a memory bomb in flight (issue
19): 5 and 25 sessions load the overview, each level run without and then with one more session
opening `/sql?sql=SELECT len(range(2000000000)) AS n` again and again. Rows: overview p95 with and
without the bomb, errors, the server's largest resident memory, whether it was alive and healthy
afterwards, and how many bomb runs the page stopped with its memory message. Sizes do not apply;
`repeat` is the reruns per session."""
from .harness import report
from .load import main as load_main


def run(sizes, repeat):
    rows = []
    for r in load_main(["--sessions", "5,25", "--reruns", str(max(repeat, 3)), "--think", "1.0", "--memory-bomb"]):
        b = r["memory_bomb"]
        label = (f"with bomb ({b['runs']} runs, {b['stopped']} stopped)" if b is not None else "no bomb")
        ours = {"median_s": r["p95_s"], "runs_s": [r["p50_s"], r["p95_s"], r["max_s"]],
                "peak_mib": r["server_rss_max_mib"] or float("nan"), "extra": r}
        rows.append({"operation": f"overview p95, {label}, {r['errors']} errors, "
                                  f"server {'up' if r['server_alive'] else 'DOWN'}",
                     "size": f"{r['sessions']}s", "ours": ours})
    report("loadbomb", rows)
