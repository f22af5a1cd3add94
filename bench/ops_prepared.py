"""Prepared dashboards (cx.prepare, ui.prepare, cx.results): every page's default view timed on its
first view after an import (the app's background job has prepared it) and after an app restart (a
fresh process reading the result store), against the same first view computed with the result
store off (CX_RESULTS=0). Each page run is AppTest in-process, as bench/ops_pages.py."""
import os
import shutil
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def working_copy(n_touchpoints: int) -> str:
    """A copy of the generated dataset's database with nothing stored or prepared (the copy is the
    state right after an import)."""
    import cx
    from bench.ops_pages import app_db

    src = Path(app_db(n_touchpoints))
    dst = src.with_name("prepared.duckdb")
    for p in (dst, dst.with_name(dst.name + ".wal")):
        p.unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    s = cx.open(dst)
    s.con.sql("DROP TABLE cx_meta.results")  # made afresh by the next open (as this code makes it)
    s.close()
    cx.open(dst).close()
    return str(dst)


def _first_view(page: str, tab: str | None) -> float:
    """The page's first view in this session, timed after a first run of the Glossary page (which
    computes nothing: the process's imports and the store's opening are not the page's cost; the
    bench of `pages` does the same with the Overview)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=1800)
    at.switch_page("views/glossary.py").run()
    assert not at.exception, at.exception
    if tab:
        at.query_params["tab"] = tab
    at.switch_page(f"views/{page}.py")
    t = time.perf_counter()
    at.run()
    s = time.perf_counter() - t
    assert not at.exception, at.exception
    return s


def after_import(db: str) -> dict:
    """One process, as the app after an import: the Data page's run starts the background job
    (the sidebar sees a version never prepared), the job prepares every plan entry (its progress
    polled: seconds until each entry was done), then each entry's page is opened by a new session
    and its first view timed."""
    os.environ.update(CX_DB=db, CX_PREPARE="1", CX_RESULTS="1")
    from cx import prepare as plan
    from ui import prepare as job

    t0 = time.perf_counter()
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=1800)
    at.switch_page("views/data.py").run()
    assert not at.exception, at.exception
    marks, last = {}, -1
    while True:
        s = job.status("demo")
        if s and s["done"] != last:
            last = s["done"]
            marks[last] = time.perf_counter() - t0
        if s and s["state"] in ("done", "stopped") and not job._PENDING:
            break
        time.sleep(0.2)
    job.wait()
    ready = time.perf_counter() - t0
    s = job.status("demo")
    assert s["state"] == "done" and not s["failed"], s
    entry_s = {v.name: round(marks.get(i + 1, ready) - marks.get(i, 0.0), 2) for i, v in enumerate(plan.PLAN)}
    views = {v.name: round(_first_view(v.page, v.tab), 3) for v in plan.PLAN}
    return {"ready_s": round(ready, 2), "entry_s": entry_s, "first_view_s": views}


def after_restart(db: str, page: str, tab: str | None) -> dict:
    """A fresh process (a restarted app): the page's first view, its results read from the store."""
    os.environ.update(CX_DB=db, CX_PREPARE="1", CX_RESULTS="1")
    return {"seconds": _first_view(page, tab)}


def computed(db: str, page: str, tab: str | None) -> dict:
    """A fresh process with the result store off: the page's first view computes everything (the
    figure before the result store)."""
    os.environ.update(CX_DB=db, CX_PREPARE="0", CX_RESULTS="0")
    return {"seconds": _first_view(page, tab)}


def stored(db: str) -> dict:
    """What the result store holds after the preparation: rows, bytes, compute seconds it saves."""
    import cx
    from cx import results

    s = cx.open(db)
    try:
        row = results.summary(s).row(0, named=True)
        return {"results": row["results"], "mib": round(row["bytes"] / 2**20, 1),
                "compute_s": row["compute_seconds"], "file_mib": round(os.path.getsize(db) / 2**20, 1)}
    finally:
        s.close()
