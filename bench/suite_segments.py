"""Segments benchmark: `python -m bench segments --touchpoints 10M` (sizes in touchpoints for the
features; clustering alone is on 1M customers, a synthetic frame resampled from the largest size's
features; features + clustering end to end on 1M customers: the largest dataset three times over,
ids suffixed, 31.9M touchpoints: see bench/ops_segments.py)."""
from __future__ import annotations

from bench.harness import measure, report

CUSTOMERS = 1_000_000


def run(sizes, repeat):
    from bench.ops_segments import db_path as app_db

    rows = []
    for n in sizes:
        db = app_db(n)
        ours = measure("ops_segments", "features_ours", {"db": db}, repeat=repeat)
        base = measure("ops_segments", "features_sql", {"db": db}, repeat=repeat)
        assert ours["extra"] == base["extra"], "features: ours and the SQL baseline disagree"
        rows.append({"operation": f"features ({ours['extra']['customers']:,} cust.)", "size": f"{n / 1e6:g}M tp",
                     "ours": ours, "baseline": base, "baseline_name": "hand-written DuckDB SQL", "target": 1.5})
    src = app_db(max(sizes))
    args = {"n": CUSTOMERS, "source_db": src}
    fixed = measure("ops_segments", "cluster_ours", {**args, "k": 6}, repeat=repeat)
    direct = measure("ops_segments", "kmeans_direct", {**args, "k": 6}, repeat=repeat)
    rows.append({"operation": "cluster, k=6 (s)", "size": "1M cust.", "ours": fixed, "baseline": direct,
                 "baseline_name": "sklearn KMeans(n_init=3) on the same matrix", "target": None})
    auto = measure("ops_segments", "cluster_ours", {**args, "k": None}, repeat=repeat)
    rows.append({"operation": "cluster, automatic k (s)", "size": "1M cust.", "ours": auto, "target_s": 30.0})
    rows.append({"operation": "cluster k=6, absolute (s)", "size": "1M cust.", "ours": fixed, "target_s": 10.0})
    from bench.ops_segments import db_1m_customers

    big = db_1m_customers(src)
    for k, target, warm in ((6, 10.0, False), (6, 10.0, True), (None, 30.0, False)):
        e2e = measure("ops_segments", "features_cluster_ours", {"db": big, "k": k, "warm": warm}, repeat=repeat)
        n = e2e["extra"]["customers"]  # 1M when the largest size is 10M; the targets are for 1M customers
        rows.append({"operation": f"features + cluster, {'k=6' if k else 'auto k'}{', warm' if warm else ''}",
                     "size": f"{n / 1e3:,.0f}k cust.", "ours": e2e, **({"target_s": target} if n >= 900_000 else {})})
    report("segments", rows)
