"""`python -m bench sqlbox`: the SQL box's sandbox. Snapshot build time (once per dataset version,
on the first query after a change) on the demo and on the generated data at each size; a warm
query through the worker process vs the same statement in the app's own process (the path before
issue 19), median of 30; the first query of a new app process (a worker starts)."""
from bench.harness import measure, report


def run(sizes, repeat):
    rows = []
    dbs = [("demo", {"fn": "demo_db"})] + [(f"{n / 1e6:g}M", {"fn": "big_db", "n": n}) for n in sizes[:1]]
    from bench import ops_sqlbox

    for size, how in dbs:
        db = ops_sqlbox.demo_db() if how["fn"] == "demo_db" else ops_sqlbox.big_db(how["n"])
        build = measure("ops_sqlbox", "snapshot_build", {"db": db}, repeat=repeat)
        rows.append({"operation": f"snapshot build ({build['extra']['rows']:,} rows)", "size": size, "ours": build})
        worker = measure("ops_sqlbox", "query_worker", {"db": db}, repeat=repeat)
        inproc = measure("ops_sqlbox", "query_in_process", {"db": db}, repeat=repeat)
        rows.append({"operation": "warm query, worker vs in-process", "size": size, "ours": worker,
                     "baseline": inproc, "baseline_name": "the statement on the app's connection"})
        rows.append({"operation": "first query (worker start)", "size": size,
                     "ours": measure("ops_sqlbox", "first_query", {"db": db}, repeat=repeat)})
        for r in rows[-3:]:
            print(r["operation"], size, r["ours"]["median_s"], r["ours"].get("extra"))
    report("sqlbox", rows)
