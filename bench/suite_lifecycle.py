"""`python -m bench lifecycle --touchpoints 1M,10M`: retention cohorts, lifecycle states and the teams
report (ours, Ibis on DuckDB) vs hand-written DuckDB SQL, plus the Life cycle and Teams page runs."""
from .harness import measure, report


def run(sizes, repeat):
    from .ops_pages import app_db

    rows = []
    for n in sizes:
        db = app_db(n)
        size = f"{n / 1e6:g}M"
        for op, label in (("retention", "retention cohorts (month)"), ("lifecycle", "lifecycle states (month)"),
                          ("teams", "teams report (departments)")):
            ours = measure("ops_lifecycle", f"cx_{op}", {"db": db}, repeat=repeat)
            base = measure("ops_lifecycle", f"sql_{op}", {"db": db}, repeat=repeat)
            agree = {k: v for k, v in ours["extra"].items() if k in base["extra"]} == base["extra"]
            assert agree, f"{op}: ours and the SQL baseline disagree"
            rows.append({"operation": label, "size": size, "ours": ours, "baseline": base,
                         "baseline_name": "hand-written DuckDB SQL" + (" (ASOF JOIN)" if op == "teams" else ""),
                         "target": 1.5})
        for page in ("lifecycle", "teams"):
            for warm, target in ((True, 1.0), (False, None)):
                try:
                    r = measure("ops_pages", "page_run", {"db": db, "page": page, "warm": warm}, repeat=repeat,
                                warmup=0)
                except RuntimeError as e:  # keep the other rows: say which page run failed, and why
                    print(f"{page} page ({'warm' if warm else 'cold'}, {size}) failed: {str(e)[-600:]}")
                    continue
                rows.append({"operation": f"{page} page, {'warm' if warm else 'cold'} run (s)", "size": size,
                             "ours": r, **({"target_s": target} if target else {})})
    report("lifecycle", rows)
