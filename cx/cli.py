"""`python -m cx ...`: generate demo data, import files, list datasets, print a report."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _store(args):
    import cx

    return cx.open(args.db) if args.db else cx.open()


def cmd_generate(args) -> int:
    from . import sample

    t = time.time()
    data = sample.generate(n_customers=args.customers, seed=args.seed)
    t_gen = time.time() - t
    paths = sample.write(data, args.out)
    print(f"generated {data.customers.height:,} customers, {data.interactions.height:,} interactions, "
          f"{data.feedback.height:,} feedback rows in {t_gen:.1f} s; written in {time.time() - t - t_gen:.1f} s:")
    for p in paths.values():
        print(f"  {p}")
    return 0


def _parse_map(items: list[str], option: str = "--map", pair: str = "SOURCE=TARGET") -> dict[str, str]:
    out = {}
    for it in items or []:
        if "=" not in it:
            raise SystemExit(f"{option} takes {pair} pairs, got {it!r}")
        src, dst = it.split("=", 1)
        out[src.strip()] = dst.strip()
    return out


def cmd_import(args) -> int:
    from .ingest import import_file, open_source

    store = _store(args)
    mapping = _parse_map(args.map) or None
    constants = _parse_map(args.constant, "--constant", "COLUMN=VALUE") or None
    progress = (lambda f, m: print(f"  [{f:4.0%}] {m}", file=sys.stderr)) if not args.quiet else None
    if mapping is not None and not args.exact_map:
        # --map completes the suggested mapping: named columns override it
        with open_source(store, args.file, sheet=args.sheet, delimiter=args.delimiter) as src:
            kind = args.kind or src.detect_kind()
            base = {k: v for k, v in src.suggest_mapping(kind).items()
                    if v not in mapping.values() and v not in (constants or {})}
        mapping = {**base, **mapping}
    rep = import_file(store, args.file, kind=args.kind, mapping=mapping, dataset=args.dataset,
                      mode=args.mode, timezone=args.timezone, dry_run=args.dry_run, progress=progress,
                      valid_from=args.valid_from, valid_to=args.valid_to, allow_duplicate=args.allow_duplicate,
                      sheet=args.sheet, delimiter=args.delimiter, constants=constants)
    print(rep.summary())
    print(f"read as: {rep.read_as}")
    print("mapping: " + ", ".join([f"{k} -> {v}" for k, v in rep.mapping.items()]
                                  + [f"'{v}' (constant) -> {k}" for k, v in rep.constants.items()]))
    if rep.attributes:
        from .ingest.parse import ATTRIBUTE_TYPES

        print("attributes: " + ", ".join(f"{k} ({ATTRIBUTE_TYPES[v]})" for k, v in rep.attributes.items()))
    for w in rep.warnings:
        print(f"note: {w}")
    if rep.rejected:
        print(f"{rep.error_count:,} problem(s) in {rep.rejected:,} rejected row(s); first ones:")
        with __import__("polars").Config(tbl_rows=20, fmt_str_lengths=60, tbl_width_chars=160):
            print(rep.errors.head(20))
        if args.errors:
            from .export import write_csv

            write_csv(rep.errors, args.errors)
            print(f"all problems written to {args.errors}")
    if args.prepare and not args.dry_run:
        return _prepare(store, args.dataset, args.quiet)
    return 0


def _prepare(store, dataset: str, quiet: bool = False) -> int:
    """Every page's default view and the model fits, computed now and kept in the database."""
    from .prepare import prepare

    def progress(done, total, step):
        if not quiet:
            print(f"  preparing dashboards {done}/{total}" + (f": {step}" if step else ""), file=sys.stderr)

    out = prepare(store, dataset, progress=progress)
    print(f"dashboards of '{dataset}' (version {out['version']}) prepared in {out['seconds']:.1f} s: "
          f"{out['computed']} results computed, {out['read']} read back"
          + (f"; showing what they need: {', '.join(out['messages'])}" if out["messages"] else "")
          + (f"; failed (see the log): {', '.join(out['failed'])}" if out["failed"] else ""))
    return 0


def cmd_prepare(args) -> int:
    return _prepare(_store(args), args.dataset, args.quiet)


def cmd_results(args) -> int:
    from . import results

    store = _store(args)
    if args.clear:
        n = results.clear(store, args.dataset)
        print(f"deleted {n:,} stored result(s)" + (f" of '{args.dataset}'" if args.dataset else ""))
        return 0
    df = results.summary(store)
    if df.height == 0:
        print(f"no stored results in {store.path}")
        return 0
    print(f"stored results in {store.path}:")
    for r in df.iter_rows(named=True):
        print(f"  {r['dataset'] or '(deleted)':<24} version {r['version']:<4} results {r['results']:>5}  "
              f"{r['bytes'] / 2**20:>9.1f} MiB  compute {r['compute_seconds'] or 0:>8.1f} s"
              + ("  prepared" if r["prepared"] else "") + ("" if r["current_code"] else "  (older code)"))
    return 0


def cmd_datasets(args) -> int:
    store = _store(args)
    df = store.datasets()
    if df.height == 0:
        print(f"no datasets in {store.path}")
        return 0
    print(f"datasets in {store.path}:")
    for r in df.iter_rows(named=True):
        print(f"  {r['name']:<24} version {r['version']:<4} interactions {r['interactions']:>12,}  "
              f"customers {r['customers']:>10,}  feedback {r['feedback']:>10,}")
    return 0


def cmd_demo(args) -> int:
    from .ingest import SAMPLE_DIR, import_folder

    store = _store(args)
    if store.has_dataset(args.dataset):
        store.delete_dataset(args.dataset)
    for rep in import_folder(store, args.folder or SAMPLE_DIR, args.dataset):
        print(rep.summary())
    return 0


def cmd_report(args) -> int:
    from . import profile
    from .filters import Filters

    store = _store(args)
    k = profile.kpis(store, Filters(), args.dataset).row(0, named=True)
    print(f"dataset '{args.dataset}': {k['customers']:,} customers, {k['touchpoints']:,} touchpoints, "
          f"{k['purchases']:,} purchases by {k['purchasers']:,} customers, revenue {k['revenue']:,.2f}, "
          f"from {k['first']} to {k['last']}")
    print(profile.by_stage(store, Filters(), args.dataset))
    print(profile.by_channel(store, Filters(), args.dataset))
    return 0


def cmd_export_lake(args) -> int:
    from .spark import export_dataset

    store = _store(args)
    paths = export_dataset(store, args.out, args.dataset)
    print(f"dataset '{store.dataset(args.dataset).name}' written for Spark (CX_SPARK_DATASETS=name={args.out}):")
    for k, p in paths.items():
        print(f"  {k}: {p}")
    return 0


# -- the closed loop (cx.cases): for cron ---------------------------------------------------------------
def cmd_cases(args) -> int:
    from . import cases

    store = _store(args)
    if args.evaluate:
        ev = cases.evaluate(store, args.dataset, force=args.force)
        print(f"dataset '{args.dataset}': {ev.summary()} ({ev.seconds:.1f} s)")
    c = store.con.sql("SELECT status, count(*) FROM cx_meta.loop_cases WHERE dataset_id = $d GROUP BY 1 ORDER BY 1",
                      params={"d": store.dataset(args.dataset).id}).fetchall()
    n = cases.open_counts(store, args.dataset)
    print(f"cases: {', '.join(f'{k} {v:,}' for k, v in c) or 'none'}; open {n['open']:,}, overdue {n['overdue']:,}")
    return 0


def cmd_alerts(args) -> int:
    from .cases import alerts, channels

    store = _store(args)
    r = alerts.run_alerts(store, args.dataset)
    print(f"dataset '{args.dataset}': {r['fired']} alert(s) firing, {len(r['new'])} new; delivery: "
          f"{channels.describe(r['delivery'])}")
    for key, ch, err in (r["delivery"] or {}).get("failed", []):
        print(f"  failed: {key} via {ch}: {err}", file=sys.stderr)
    return 1 if (r["delivery"] or {}).get("failed") else 0


def cmd_digest(args) -> int:
    from .cases import channels, digest

    store = _store(args)
    g = digest.build(store, args.dataset, period=args.period)
    out = args.out or Path(f"cx_digest_{args.dataset}_{args.period}")
    h, t = digest.write(g, out)
    print(f"digest written: {h} and {t}")
    if args.send:
        r = digest.send(store, g)
        print(f"sent: {channels.describe(r)}")
        return 1 if r["failed"] else 0
    return 0


def cmd_glossary(args) -> int:
    from . import glossary

    print(glossary.markdown(), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cx", description="CX Loop command line")
    ap.add_argument("--db", help="database file (default: $CX_DB or the user data directory)")
    sub = ap.add_subparsers(dest="cmd", required=True)

    g = sub.add_parser("generate", help="generate a demo dataset (CSV files + planted truth)")
    g.add_argument("--customers", type=int, default=5000)
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--out", required=True, type=Path)
    g.set_defaults(fn=cmd_generate)

    i = sub.add_parser("import", help="validate and import a CSV/Parquet/Excel file")
    i.add_argument("file", type=Path)
    i.add_argument("--kind", choices=["interactions", "customers", "feedback"])
    i.add_argument("--map", action="append", metavar="SOURCE=TARGET",
                   help="column mapping; repeatable; completes the suggested mapping")
    i.add_argument("--exact-map", action="store_true", help="use only the --map pairs, no suggestions")
    i.add_argument("--dataset", default="default")
    i.add_argument("--mode", choices=["replace", "append"], default="replace")
    i.add_argument("--timezone", default="UTC", help="time zone of timestamps without an offset")
    i.add_argument("--valid-from", metavar="DATE", help="earliest plausible timestamp (default 1970-01-01); "
                   "earlier ones are rejected with their row")
    i.add_argument("--valid-to", metavar="DATE", help="latest plausible date (default: a year after today)")
    i.add_argument("--allow-duplicate", action="store_true",
                   help="append the file even if the same bytes were already appended to the dataset")
    i.add_argument("--sheet", help="the sheet of an Excel workbook to read (default: the first)")
    i.add_argument("--delimiter", metavar="DELIM",
                   help="the delimiter of a text file: ',', ';', tab, '|' or whitespace (runs of spaces or tabs); "
                        "default: detected")
    i.add_argument("--constant", action="append", metavar="COLUMN=VALUE",
                   help="a contract column the file lacks, the same for every row (--constant touchpoint=order); "
                        "repeatable")
    i.add_argument("--dry-run", action="store_true", help="validate only")
    i.add_argument("--errors", type=Path, help="write every problem found to this CSV")
    i.add_argument("--quiet", action="store_true")
    i.add_argument("--prepare", action="store_true", help="then prepare the dataset's dashboards (every page's "
                   "default view and the model fits), kept in the database for the app")
    i.add_argument("--db", default=argparse.SUPPRESS)
    i.set_defaults(fn=cmd_import)

    pr = sub.add_parser("prepare", help="compute every page's default view and the model fits of a dataset and "
                        "keep them in the database (the app does it by itself after an import)")
    pr.add_argument("--dataset", default="demo")
    pr.add_argument("--quiet", action="store_true")
    pr.add_argument("--db", default=argparse.SUPPRESS)
    pr.set_defaults(fn=cmd_prepare)

    rs = sub.add_parser("results", help="what the result store holds (per dataset and version), or --clear it")
    rs.add_argument("--dataset", help="only this dataset (with --clear)")
    rs.add_argument("--clear", action="store_true", help="delete the stored results (they are computed again)")
    rs.add_argument("--db", default=argparse.SUPPRESS)
    rs.set_defaults(fn=cmd_results)

    d = sub.add_parser("datasets", help="list datasets")
    d.add_argument("--db", default=argparse.SUPPRESS)
    d.set_defaults(fn=cmd_datasets)

    m = sub.add_parser("demo", help="(re)load the demo dataset from sample_data/ or a folder")
    m.add_argument("--folder", type=Path)
    m.add_argument("--dataset", default="demo")
    m.add_argument("--db", default=argparse.SUPPRESS)
    m.set_defaults(fn=cmd_demo)

    r = sub.add_parser("report", help="print a short profile of a dataset")
    r.add_argument("--dataset", default="demo")
    r.add_argument("--db", default=argparse.SUPPRESS)
    r.set_defaults(fn=cmd_report)

    x = sub.add_parser("export-lake", help="write a dataset's tables as Parquet for Spark (cx.spark)")
    x.add_argument("--dataset", default="demo")
    x.add_argument("--out", required=True, type=Path)
    x.add_argument("--db", default=argparse.SUPPRESS)
    x.set_defaults(fn=cmd_export_lake)

    c = sub.add_parser("cases", help="the closed loop's cases: counts; --evaluate runs the rules (for cron)")
    c.add_argument("--dataset", default="demo")
    c.add_argument("--evaluate", action="store_true", help="run the case rules and escalate overdue cases")
    c.add_argument("--force", action="store_true", help="with --evaluate: run the rules even when the data, rules "
                   "and owners are those of the last run (which otherwise only escalates)")
    c.add_argument("--db", default=argparse.SUPPRESS)
    c.set_defaults(fn=cmd_cases)

    al = sub.add_parser("alerts", help="evaluate the alert rules and deliver new alerts once (for cron)")
    al.add_argument("--dataset", default="demo")
    al.add_argument("--db", default=argparse.SUPPRESS)
    al.set_defaults(fn=cmd_alerts)

    dg = sub.add_parser("digest", help="write the leadership digest (HTML and text); --send delivers it")
    dg.add_argument("--dataset", default="demo")
    dg.add_argument("--period", choices=["week", "month"], default="week")
    dg.add_argument("--out", type=Path, help="path of the digest (.html and .txt are written)")
    dg.add_argument("--send", action="store_true", help="send it through the configured channels (once a day)")
    dg.add_argument("--db", default=argparse.SUPPRESS)
    dg.set_defaults(fn=cmd_digest)

    gl = sub.add_parser("glossary", help="print every metric's definition (the README's metric section)")
    gl.set_defaults(fn=cmd_glossary)

    args = ap.parse_args(argv)
    if not hasattr(args, "db"):
        args.db = None
    return _run(args)


def _run(args) -> int:
    """The command, with every failure a message on stderr and exit code 2, never a traceback
    (CX_DEBUG=1 shows it, for unexpected errors)."""
    import os

    from .store import CXError

    try:
        return args.fn(args)
    except CXError as e:
        print(f"error: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130
    except OSError as e:
        import errno

        if e.errno == errno.ENOSPC:
            print("error: the disk is full (no space left on device); nothing was imported. Free some space "
                  "and try again.", file=sys.stderr)
        else:
            print(f"error: {e.strerror or e}" + (f": {e.filename}" if e.filename else ""), file=sys.stderr)
    except Exception as e:  # noqa: BLE001 - the command line never prints a traceback
        if os.environ.get("CX_DEBUG"):
            raise
        first = (str(e).splitlines() or [""])[0]
        print(f"error: {type(e).__name__}: {first} (set CX_DEBUG=1 to see the traceback)", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
