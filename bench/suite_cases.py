"""`python -m bench cases --touchpoints 1M,10M`: the closed loop (issue 24). Targets: every case rule on
10M touchpoints under 5 s; the Cases page warm under 1 s with 100,000 cases.

Rows: the rules on the whole dataset, nothing seen before (every case opened), and again on the same data
(nothing new: the last run's stamp matches, the rules do not run), the same rerun forced (every rule runs,
the marks open nothing), with each rule's trigger query alone;
the Cases page (Inbox and "Did it work?") with PAGE_CASES cases, cold and warm."""
from __future__ import annotations

import statistics

from bench.harness import measure, report, run_once

PAGE_CASES = 100_000
REASONS = ("detractor", "low_csat", "high_effort", "incident_no_followup", "valuable_at_risk", "negative_comment")


def run(sizes, repeat):
    from .ops_cases import cases_db, rules_db

    rows = []
    for n in sizes:
        db = rules_db(n)
        size = f"{n / 1e6:g}M"
        fresh = measure("ops_cases", "evaluate_fresh", {"db": db}, repeat=repeat)
        again = measure("ops_cases", "evaluate_again", {"db": db}, repeat=repeat)
        forced = measure("ops_cases", "evaluate_again", {"db": db, "force": True}, repeat=repeat)
        target = 5.0 if n >= 10_000_000 else None
        rows.append({"operation": "case rules, every case opened", "size": size, "ours": fresh,
                     **({"target_s": target} if target else {})})
        rows.append({"operation": "case rules again, nothing new", "size": size, "ours": again,
                     **({"target_s": target} if target else {})})
        rows.append({"operation": "case rules again, forced", "size": size, "ours": forced,
                     **({"target_s": target} if target else {})})
        print(f"opened at {size}: {fresh['extra']['opened']}")
        for reason in REASONS:
            rows.append({"operation": f"  trigger query: {reason}", "size": size,
                         "ours": measure("ops_cases", "rule_triggers", {"db": db, "reason": reason}, repeat=repeat)})
    db = cases_db(PAGE_CASES)
    for tab in ("Inbox", "Did it work?"):
        runs = [run_once("ops_cases", "cases_page", {"db": db, "tab": tab, "warm": True}) for _ in range(repeat)]
        warm, cold = [r[0] for r in runs], [r[2]["cold_s"] for r in runs]
        peak = max(r[1] for r in runs)
        for label, xs, target in (("warm", warm, 1.0), ("cold", cold, None)):
            rows.append({"operation": f"Cases page ({tab}), {label} run", "size": f"{PAGE_CASES / 1e3:g}k cases",
                         "ours": {"median_s": statistics.median(xs), "runs_s": [round(x, 3) for x in xs],
                                  "peak_mib": peak, "extra": {}}, **({"target_s": target} if target else {})})
    report("cases", rows)
