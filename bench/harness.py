"""Run each measured operation in a fresh subprocess (its own peak memory), repeat, take medians,
print a table and save it as CSV with the machine described."""
from __future__ import annotations

import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"


def machine() -> str:
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):  # pragma: no cover
        mem = float("nan")
    import duckdb
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, "
            f"Python {platform.python_version()}, DuckDB {duckdb.__version__}")


def run_once(module: str, func: str, args: dict) -> tuple[float, float, dict, tuple | None]:
    """Run bench.<module>.<func>(**args) in a child process; (seconds, peak MiB, extra, cpu) where
    cpu is (CPU-seconds of the child, all threads; machine steal seconds) or None."""
    code = ("import json, resource, sys, time\n"
            "from bench.harness import cpu_seconds, steal_seconds\n"
            f"from bench.{module} import {func} as f\n"
            "a = json.loads(sys.argv[1])\n"
            "c, st = cpu_seconds(), steal_seconds()\n"
            "t = time.perf_counter(); extra = f(**a) or {}; s = time.perf_counter() - t\n"
            "c, st = cpu_seconds() - c, steal_seconds() - st\n"
            "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
            "print('RESULT ' + json.dumps({'seconds': s, 'peak': peak, 'extra': extra, 'cpu': c, 'steal': st}))\n")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(args)], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if out.returncode or line is None:
        raise RuntimeError(f"bench.{module}.{func} failed (exit {out.returncode}): {out.stderr[-2000:]}")
    r = json.loads(line[7:])
    # an operation may time its own section (after set-up it must not count): extra["seconds"]; the
    # CPU and steal figures then come from it too (extra["cpu_s"], extra["steal_s"]) or are left out
    ex = r["extra"]
    own = "seconds" in ex
    cpu, steal = ex.pop("cpu_s", None if own else r["cpu"]), ex.pop("steal_s", None if own else r["steal"])
    return ex.pop("seconds", r["seconds"]), r["peak"], ex, None if cpu is None else (cpu, steal or 0.0)


def cpu_seconds() -> float:
    """User + system CPU time of this process, every thread (DuckDB's included)."""
    import resource

    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def steal_seconds() -> float:
    """CPU time the hypervisor gave to other guests, all CPUs of this machine (0 off a VM / Linux):
    wall times measured while it grows are slower than the code is."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def measure(module: str, func: str, args: dict, repeat: int = 3, warmup: int = 1) -> dict:
    for _ in range(warmup):
        run_once(module, func, args)
    runs = [run_once(module, func, args) for _ in range(repeat)]
    cpu = [r[3] for r in runs if r[3] is not None]
    return {"median_s": statistics.median(r[0] for r in runs), "best_s": min(r[0] for r in runs),
            "runs_s": [round(r[0], 3) for r in runs],
            "cpu_s": statistics.median(c[0] for c in cpu) if len(cpu) == len(runs) else None,
            "steal_s": [round(c[1], 2) for c in cpu] if len(cpu) == len(runs) else None,
            "peak_mib": max(r[1] for r in runs), "extra": runs[-1][2]}


def report(name: str, rows: list[dict]) -> Path:
    """rows: operation, size, ours, baseline, target (ratio) -> printed table + CSV."""
    print(f"\n{name} — {machine()}")
    # ratio = median / median; best = fastest run / fastest run, the figure least disturbed by other
    # work on the machine (as timeit does); a target is met when the best ratio meets it. cpu: our
    # median CPU seconds (all threads); steal: the most CPU seconds the hypervisor took from this
    # machine during one of our runs (a VM's other guests: wall times then run slow)
    hdr = (f"{'operation':<34}{'size':>8}{'ours (s)':>11}{'baseline (s)':>14}{'ratio':>8}{'best':>7}{'target':>8}"
           f"{'peak MiB':>10}{'cpu s':>8}{'steal s':>8}  met")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        ratio = r["ours"]["median_s"] / r["baseline"]["median_s"] if r.get("baseline") else None
        best = (r["ours"].get("best_s", r["ours"]["median_s"]) / r["baseline"].get("best_s", r["baseline"]["median_s"])
                if r.get("baseline") else None)
        r["ratio"], r["best_ratio"] = ratio, best
        met = "" if best is None or r.get("target") is None else ("yes" if best <= r["target"] else "NO")
        if r.get("target_s") is not None:  # an absolute target, in seconds
            met = "yes" if r["ours"]["median_s"] < r["target_s"] else "NO"
            r["target"] = f"<{r['target_s']:g}s"
        print(f"{r['operation']:<34}{r['size']:>8}{r['ours']['median_s']:>11.2f}"
              f"{(r['baseline']['median_s'] if r.get('baseline') else float('nan')):>14.2f}"
              f"{(ratio if ratio is not None else float('nan')):>8.2f}"
              f"{(best if best is not None else float('nan')):>7.2f}"
              f"{str(r.get('target') or ''):>8}{r['ours']['peak_mib']:>10.0f}"
              f"{_fmt(r['ours'].get('cpu_s')):>8}{_fmt(max(r['ours'].get('steal_s') or [], default=None)):>8}"
              f"  {met}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.csv"
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["operation", "size", "ours_median_s", "ours_runs_s", "baseline", "baseline_median_s",
                    "baseline_runs_s", "ratio", "best_ratio", "target", "peak_mib", "machine", "when",
                    "ours_cpu_median_s", "steal_runs_s"])
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for r in rows:
            b = r.get("baseline") or {}
            w.writerow([r["operation"], r["size"], f"{r['ours']['median_s']:.3f}", r["ours"]["runs_s"],
                        r.get("baseline_name", ""), f"{b.get('median_s', float('nan')):.3f}", b.get("runs_s", ""),
                        f"{r['ratio']:.3f}" if r["ratio"] is not None else "",
                        f"{r['best_ratio']:.3f}" if r.get("best_ratio") is not None else "", r.get("target", ""),
                        f"{r['ours']['peak_mib']:.0f}", machine(), when, _fmt(r["ours"].get("cpu_s"), 3),
                        r["ours"].get("steal_s") or ""])
    print(f"saved {out.relative_to(ROOT)}")
    return out


def _fmt(v, digits: int = 2) -> str:
    return "" if v is None else f"{v:.{digits}f}"


def sample_csv(touchpoints: int) -> Path:
    """The demo generator's interactions.csv with about `touchpoints` rows, cached on disk."""
    from cx import sample

    per_customer = 30
    n = max(100, touchpoints // per_customer)
    d = DATA / f"sample_{n}"
    f = d / "interactions.csv"
    if not f.exists():
        t = time.time()
        sample.write(sample.generate(n_customers=n, seed=7), d)
        print(f"generated {d.relative_to(ROOT)} in {time.time() - t:.0f} s")
    return f


def parse_size(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}.get(s[-1], 1)
    return int(float(s[:-1] if s[-1] in "KMB" else s) * mult)


def ensure_event_store(db, dataset: str) -> float:
    """Build the dataset's journey event store in a cached database made before it existed (or
    whose rows were copied in by SQL), so the kernels run; seconds taken (0: it was current)."""
    import cx

    s = cx.open(db)
    try:
        took = s.build_event_store(dataset)
        if took:
            s.con.sql("CHECKPOINT")
        return took
    finally:
        s.close()
