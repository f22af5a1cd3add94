"""Page script run times, measured in-process with Streamlit's AppTest (what a user waits for,
minus the network and the browser's drawing)."""
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def app_db(n_touchpoints: int) -> str:
    """A database holding the generated dataset of that size as 'demo' (built once, cached)."""
    from bench.harness import sample_csv

    import cx
    from cx.ingest import import_folder

    folder = sample_csv(n_touchpoints).parent
    db = folder / "app.duckdb"
    if not db.exists():
        s = cx.open(db)
        import_folder(s, folder, "demo")
        s.close()
    return str(db)


def page_run(db: str, page: str, warm: bool, params: dict | None = None, expect: str | None = None) -> dict:
    """Cold: the first run of the page on a fresh process (every metric computed). Warm: the
    same page run again (a rerun: what a click on a widget costs when nothing changed).
    `params`: the page's link parameters (e.g. its tab); `expect`: a text some caption or Markdown
    of the page must show (the run really drew what it measures)."""
    os.environ["CX_DB"] = db
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    if page == "overview":  # the default page: the very first run is its cold run
        for k, v in (params or {}).items():
            at.query_params[k] = v
        t = time.perf_counter()
        at.run()
    else:
        at.run()
        for k, v in (params or {}).items():
            at.query_params[k] = v
        t = time.perf_counter()
        at.switch_page(f"views/{page}.py").run()
    cold = time.perf_counter() - t
    assert not at.exception, at.exception
    assert expect is None or any(expect in e.value for e in [*at.caption, *at.markdown]), f"{page}: no '{expect}'"
    if not warm:
        return {"seconds": cold}
    t = time.perf_counter()
    at.run()
    warm_s = time.perf_counter() - t
    assert not at.exception, at.exception
    return {"seconds": warm_s, "cold_s": round(cold, 2)}
