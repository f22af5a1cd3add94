"""The closed loop (issue 24): the case rules on the generated dataset, and the Cases page with many cases.

- rules: every case rule run on the whole dataset (`cx.cases.evaluate`) on a copy of the generated
  database (bench.ops_pages.app_db) whose loop tables (and last-run record) are emptied first
  (untimed), so every run opens the same cases; a rerun on the same data (nothing new: what a cron
  run or the "Run the rules now" button costs when nothing happened: the last run's stamp matches);
  the same rerun forced (every rule runs, the marks open nothing); and each rule's trigger query alone.
- page: the Cases page (AppTest, a fresh process per run) on the shipped demo with `n` synthetic cases
  added (statuses, reasons, owners, ages and histories like the demo's), cold and warm.

Each op times its own section (extra["seconds"]), so opening the store and emptying tables do not count.
"""
from __future__ import annotations

import importlib
import shutil
import time
from pathlib import Path

import duckdb  # noqa: F401 - imported before any timer: start-up is not the operation
import ibis  # noqa: F401
import ibis.backends.duckdb  # noqa: F401
import polars  # noqa: F401
import scipy.optimize  # noqa: F401

import cx.cases  # noqa: F401 - with the modules its rules load lazily (the CLV model, comment scoring)
import cx.clv  # noqa: F401
import cx.voc.comments  # noqa: F401

from bench.harness import DATA, cpu_seconds, steal_seconds

DATASET = "demo"


def rules_db(n_touchpoints: int) -> str:
    """A copy of the generated database of that size (its loop tables are the ops' to change)."""
    from bench.ops_pages import app_db

    src = Path(app_db(n_touchpoints))
    dst = src.with_name("cases.duckdb")
    if not dst.exists() or dst.stat().st_mtime < src.stat().st_mtime:
        shutil.copy(src, dst)
    return str(dst)


def _timed(fn):
    c, st, t = cpu_seconds(), steal_seconds(), time.perf_counter()
    out = fn()
    return out, {"seconds": time.perf_counter() - t, "cpu_s": cpu_seconds() - c, "steal_s": steal_seconds() - st}


def evaluate_fresh(db: str) -> dict:
    """Every rule on the whole dataset, nothing seen before: the cases opened per reason."""
    import cx
    from cx.cases import evaluate
    from cx.cases.evaluate import LAST_RUN
    from cx.store import LOOP_TABLES

    s = cx.open(db)
    d = s.dataset(DATASET).id
    with s.transaction() as cur:
        for t in LOOP_TABLES:
            if t not in ("loop_settings", "loop_rev"):
                cur.sql(f"DELETE FROM cx_meta.{t} WHERE dataset_id = $d", params={"d": d})
        cur.sql("DELETE FROM cx_meta.loop_settings WHERE dataset_id = $d AND key = $k", params={"d": d, "k": LAST_RUN})
    ev, timing = _timed(lambda: evaluate(s, DATASET))
    s.close()
    assert not ev.skipped, ev.skipped
    return {**timing, "opened": dict(sorted(ev.opened.items()))}


def evaluate_again(db: str, force: bool = False) -> dict:
    """The rules run again on the same data (after evaluate_fresh): nothing is opened. Unforced, the
    last run's stamp matches and the rules do not run; forced, they all run."""
    import cx
    from cx.cases import evaluate

    s = cx.open(db)
    ev, timing = _timed(lambda: evaluate(s, DATASET, force=force))
    s.close()
    assert sum(ev.opened.values()) == 0, ev.opened
    assert ev.unchanged != force, ev
    return {**timing, "opened": sum(ev.opened.values())}


def rule_triggers(db: str, reason: str) -> dict:
    """One rule's trigger query alone (read-only): how many events it finds."""
    import cx
    from cx.data import Data
    from cx.filters import Filters

    rules = importlib.import_module("cx.cases.rules")
    s = cx.open(db, read_only=True)
    d = Data.open(s, DATASET, Filters())
    rule = rules.default_rules()[reason]

    def run():
        return rules.triggers(d, reason, rule, rules.data_end(d)).height

    n, timing = _timed(run)
    s.close()
    return {**timing, "triggers": n}


# -- the Cases page with many cases ------------------------------------------------------------------------
SYNTHETIC_CASES = """
INSERT INTO cx_meta.loop_cases
WITH c AS (SELECT customer_id, row_number() OVER (ORDER BY customer_id) - 1 AS k FROM {schema}.customers),
     nc AS (SELECT count(*) AS n FROM c),
     g AS (SELECT i, CAST(hash(i) % 1000000007 AS BIGINT) AS h, CAST(hash(i * 7919 + 1) % 1000000007 AS BIGINT) AS h2
           FROM range($n) r(i)),
     x AS (
    SELECT i, h, h2, c.customer_id,
           ['detractor', 'low_csat', 'high_effort', 'incident_no_followup', 'valuable_at_risk',
            'negative_comment'][1 + h2 % 6] AS reason,
           ['CX team', 'logistics', 'billing', 'support', 'store'][1 + (h // 7) % 5] AS owner,
           CASE WHEN h2 % 100 < 12 THEN 'new' WHEN h2 % 100 < 20 THEN 'in_progress'
                WHEN h2 % 100 < 80 THEN 'resolved' ELSE 'wont_fix' END AS status,
           $now - to_minutes(CAST(h % (365 * 24 * 60) AS BIGINT)) AS opened_at
    FROM g JOIN c ON c.k = g.h % (SELECT n FROM nc))
SELECT $base + i, $d, customer_id, reason, 'bench:' || i, opened_at - INTERVAL 1 DAY,
       'synthetic case ' || i, NULL, NULL, owner,
       CASE WHEN status <> 'new' THEN ['Ana Silva', 'Ben Okafor', 'Dana Novak', 'Eli Haddad'][1 + h % 4] END,
       ['high', 'medium', 'low'][1 + h % 3], status, opened_at, opened_at + INTERVAL 3 DAY,
       CASE WHEN status <> 'new' THEN opened_at + to_hours(CAST(h2 % 96 AS BIGINT)) END,
       CASE WHEN status IN ('resolved', 'wont_fix') THEN opened_at + to_hours(CAST(h2 % 120 AS BIGINT)) END,
       NULL, NULL, 1, opened_at, 'bench'
FROM x
"""


def cases_db(n_cases: int) -> str:
    """The shipped demo with `n_cases` synthetic cases added (and an "opened" history row each), cached."""
    import cx
    from cx.cases.storage import bump
    from cx.ingest import ensure_demo
    from cx.store import _now

    folder = DATA / f"cases_{n_cases}"
    db = folder / "app.duckdb"
    if db.exists():
        return str(db)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "building.duckdb"
    tmp.unlink(missing_ok=True)
    s = cx.open(tmp)
    ensure_demo(s)
    ds = s.dataset(DATASET)
    have = s.con.sql("SELECT count(*) FROM cx_meta.loop_cases WHERE dataset_id = $d", params={"d": ds.id}).fetchall()[0][0]
    base = s.con.sql("SELECT coalesce(max(id), 0) + 1000000 FROM cx_meta.loop_cases").fetchall()[0][0]
    with s.transaction() as cur:
        cur.sql(SYNTHETIC_CASES.format(schema=ds.schema),
                params={"n": max(0, n_cases - have), "now": _now(), "d": ds.id, "base": base})
        cur.sql("INSERT INTO cx_meta.loop_history SELECT dataset_id, 'case', id, opened_at, 'bench', 'opened', NULL, "
                "owner FROM cx_meta.loop_cases WHERE dataset_id = $d AND trigger_key LIKE 'bench:%'",
                params={"d": ds.id})
        bump(cur, ds.id)
    n = s.con.sql("SELECT count(*) FROM cx_meta.loop_cases WHERE dataset_id = $d", params={"d": ds.id}).fetchall()[0][0]
    s.close()
    assert n == n_cases, n
    tmp.rename(db)
    return str(db)


def cases_page(db: str, tab: str, warm: bool) -> dict:
    """The Cases page on one tab (bench.ops_pages.page_run): cold = its first run in a fresh process
    (after the Overview, the app's first page), warm = a rerun with nothing changed (what a click costs)."""
    from bench.ops_pages import page_run

    expect = {"Inbox": "cases in all", "Did it work?": "Resolved against not resolved"}.get(tab)
    return page_run(db, "cases", warm, params={"tab": tab}, expect=expect)
