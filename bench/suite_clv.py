"""`python -m bench clv --touchpoints 1M,10M`: the CLV summary on the generated dataset (Ibis,
per size), summary + fits on 1M customers (the largest size three times over, ids suffixed: see
bench/ops_segments.db_1m_customers), and the model fit on 1M simulated customers against
lifetimes (when it imports)."""
from __future__ import annotations

from bench.harness import measure, report

FIT_CUSTOMERS = 1_000_000


def run(sizes, repeat):
    from bench.ops_clv import db_path, sim_path

    rows = []
    for n in sizes:
        db = db_path(n)
        r = measure("ops_clv", "cx_summary", {"db": db}, repeat=repeat)
        rows.append({"operation": f"clv summary ({r['extra']['customers']:,} cust)", "size": f"{n / 1e6:g}M",
                     "ours": r, "target_s": 2.0})
        r = measure("ops_clv", "cx_summary_fit", {"db": db}, repeat=repeat)
        rows.append({"operation": "clv summary + fits", "size": f"{n / 1e6:g}M", "ours": r, "target_s": 2.0})
    from bench.ops_segments import db_1m_customers
    from bench.ops_segments import db_path as segments_db

    big = db_1m_customers(segments_db(max(sizes)))
    for warm in (False, True):
        r = measure("ops_clv", "cx_summary_fit", {"db": big, "warm": warm}, repeat=repeat)
        rows.append({"operation": f"clv summary + fits, {'warm' if warm else 'cold'} ({r['extra']['customers']:,} buyers)",
                     "size": f"3×{max(sizes) / 1e6:g}M", "ours": r, "target_s": 2.0})
    sim_path(FIT_CUSTOMERS)
    ours = measure("ops_clv", "cx_fit", {"n": FIT_CUSTOMERS}, repeat=repeat)
    row = {"operation": "BG/NBD + GG fit, 1M customers", "size": "1M cust", "ours": ours, "target_s": 2.0}
    try:
        base = measure("ops_clv", "lifetimes_fit", {"n": FIT_CUSTOMERS}, repeat=1, warmup=0)
        row.update(baseline=base, baseline_name="lifetimes 0.11", target=0.2)
        row.pop("target_s")
        print("ours:", ours["extra"], "\nlifetimes:", base["extra"])
    except RuntimeError as e:
        print("lifetimes does not run here:", str(e)[-300:])
    rows.append(row)
    report("clv", rows)
