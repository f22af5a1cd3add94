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
    report("import", rows)


def main():
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("what", nargs="*", default=["import"], choices=["import"])
    ap.add_argument("--touchpoints", default="1M,10M", help="comma-separated sizes, e.g. 1M,10M")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    sizes = [parse_size(s) for s in a.touchpoints.split(",")]
    if "import" in a.what:
        bench_import(sizes, a.repeat)


if __name__ == "__main__":
    main()
