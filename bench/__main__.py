"""`python -m bench [import] [--touchpoints 10M] [--repeat 3]`: measure, print, save."""
import argparse

from .harness import DATA, measure, parse_size, report, sample_csv


def bench_import(sizes, repeat):
    rows = []
    for n in sizes:
        f = sample_csv(n)
        db = str(DATA / "import_bench.duckdb")
        ours = measure("ops_import", "cx_import", {"path": str(f), "db": db}, repeat=repeat)
        base = measure("ops_import", "bare_read_csv", {"path": str(f), "db": db}, repeat=repeat)
        rows.append({"operation": "import interactions CSV", "size": f"{ours['extra']['rows'] / 1e6:.1f}M",
                     "ours": ours, "baseline": base, "baseline_name": "duckdb read_csv -> table",
                     "target": 1.5})
        # a purchase log split on runs of whitespace (read through a normalised copy) vs the same
        # values comma-separated: what the whitespace path costs
        from .ops_import import purchase_logs

        ws, comma = purchase_logs(n)
        ours = measure("ops_import", "cx_import_log", {"path": str(ws), "db": db}, repeat=repeat)
        base = measure("ops_import", "cx_import_log", {"path": str(comma), "db": db}, repeat=repeat)
        assert (ours["extra"]["delimiter"], base["extra"]["delimiter"]) == ("whitespace", ",")
        rows.append({"operation": "import log, whitespace vs comma", "size": f"{n / 1e6:g}M", "ours": ours,
                     "baseline": base, "baseline_name": "cx import of the comma-separated file", "target": 1.3})
    report("import", rows)


def bench_funnel(sizes, repeat):
    """4-step stage funnel, 30-day window, per customer: ours vs plain SQL (and chdb's windowFunnel)."""
    from .ops_funnel import cached_db, chdb_dir, chdb_session

    rows = []
    for n in sizes:
        db = cached_db(n)
        ours = measure("ops_funnel", "cx_funnel", {"db": db}, repeat=repeat)
        base = measure("ops_funnel", "sql_funnel", {"db": db}, repeat=repeat)
        assert ours["extra"] == base["extra"], f"funnel: ours and the SQL baseline disagree: {ours['extra']} {base['extra']}"
        size = f"{n / 1e6:g}M"
        rows.append({"operation": "funnel (4 stages, 30d)", "size": size, "ours": ours, "baseline": base,
                     "baseline_name": "hand-written DuckDB SQL", "target": 1.25})
        if chdb_session is not None:
            chdb_dir(db)  # load once, outside the timings
            ch = measure("ops_funnel", "chdb_funnel", {"db": db}, repeat=repeat)
            assert ch["extra"]["counts"] == ours["extra"]["counts"], "funnel: ours and chdb disagree"
            rows.append({"operation": "funnel vs chdb windowFunnel", "size": size, "ours": ours, "baseline": ch,
                         "baseline_name": "chdb windowFunnel", "target": 1.0})
    report("funnel", rows)


def bench_flows(sizes, repeat):
    from .ops_flows import db_path

    rows = []
    for n in sizes:
        db = str(db_path(n))
        for op in ("transitions", "loop_metrics"):
            ours = measure("ops_flows", f"cx_{op}", {"db": db}, repeat=repeat)
            base = measure("ops_flows", f"sql_{op}", {"db": db}, repeat=repeat)
            assert ours["extra"] == base["extra"], f"{op}: ours and the SQL baseline disagree"
            rows.append({"operation": f"journey {op.replace('_', ' ')}", "size": f"{n / 1e6:g}M", "ours": ours,
                         "baseline": base, "baseline_name": "hand-written DuckDB SQL", "target": 1.25})
    report("flows", rows)


PAGES = ("overview", "journey", "lifecycle", "loyalty", "voc", "segments", "value", "customer", "teams", "sql",
         "story", "glossary", "data")


def bench_pages(sizes, repeat, pages=PAGES):
    """Every page's script run in-process (AppTest) on a fresh process: cold = its first run (every
    metric computed), warm = a rerun (what a click costs when nothing changed); `repeat` fresh
    processes per page, medians."""
    import statistics

    from .harness import run_once
    from .ops_pages import app_db

    rows = []
    for n in sizes:
        db = app_db(n)
        for page in pages:
            runs = [run_once("ops_pages", "page_run", {"db": db, "page": page, "warm": True}) for _ in range(repeat)]
            warm = [r[0] for r in runs]
            cold = [r[2]["cold_s"] for r in runs]
            peak = max(r[1] for r in runs)
            for label, xs, target in (("warm", warm, 1.0), ("cold", cold, 5.0)):
                rows.append({"operation": f"{page} page, {label} run (s)", "size": f"{n / 1e6:g}M",
                             "ours": {"median_s": statistics.median(xs), "runs_s": [round(x, 3) for x in xs],
                                      "peak_mib": peak, "extra": {}}, "target_s": target})
    report("pages", rows)


def suites() -> dict:
    """Further suites: every bench/suite_<name>.py with `run(sizes, repeat)` (and an optional
    `SIZES` default, e.g. customers rather than touchpoints) adds the command `<name>`."""
    import importlib
    from pathlib import Path

    out = {}
    for f in sorted(Path(__file__).parent.glob("suite_*.py")):
        out[f.stem[len("suite_"):]] = importlib.import_module(f"bench.{f.stem}")
    return out


def parse(argv=None) -> argparse.Namespace:
    """The command line: suites (none = every suite), sizes, repeats, pages."""
    extra = suites()
    builtin = ["import", "funnel", "flows", "pages"]
    ap = argparse.ArgumentParser(prog="python -m bench")
    # no `choices` here: on Python 3.11 argparse checks the empty (or default) list of nargs="*"
    # against them as one value and refuses it, so `python -m bench` alone failed; checked below
    known = builtin + list(extra)
    ap.add_argument("what", nargs="*", help=f"suites to run (default: all): {', '.join(known)}")
    ap.add_argument("--touchpoints", default="1M,10M", help="comma-separated sizes, e.g. 1M,10M")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pages", default=",".join(PAGES), help="pages to run for `pages`, comma-separated")
    a = ap.parse_args(argv)
    unknown = [w for w in a.what if w not in known]
    if unknown:
        ap.error(f"unknown suite {', '.join(unknown)} (choose from {', '.join(known)})")
    a.what = a.what or known
    a.sizes = [parse_size(s) for s in a.touchpoints.split(",")]
    return a


def main(argv=None):
    a = parse(argv)
    extra = suites()
    sizes = a.sizes
    if "import" in a.what:
        bench_import(sizes, a.repeat)
    if "funnel" in a.what:
        bench_funnel(sizes, a.repeat)
    if "flows" in a.what:
        bench_flows(sizes, a.repeat)
    if "pages" in a.what:
        bench_pages(sizes, a.repeat, pages=tuple(p for p in a.pages.split(",") if p))
    for name, mod in extra.items():
        if name in a.what:
            mod.run(sizes, a.repeat)


if __name__ == "__main__":
    main()
