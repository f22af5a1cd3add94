"""Dashboards ready before anyone opens them: cx.prepare's plan is exactly what the pages ask for on
their first view, the app prepares it in a background thread (progress in the sidebar), and a
restarted app reads the results instead of computing them again (ui.cache, cx.results)."""
import logging
import os
import subprocess
import sys
from collections import Counter

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import cx
from cx import prepare, results
from tests.conftest import ROOT, copy_demo
from tests.test_app import tiny_db  # noqa: F401 (a fixture)
from ui import cache as core
from ui import prepare as job

APP = str(ROOT / "app.py")
LOOP = "cx.cases."  # the closed loop's functions (ui.loop.loop_call): keyed by the loop's revision too


@pytest.fixture(autouse=True)
def _fresh_job_state():
    core._clear_cached()
    job._CHECKED.clear()
    yield
    job.wait(600)  # a job a test started ends before the next test
    core.flush_writes()
    core._clear_cached()
    job._CHECKED.clear()
    job._STATUS.clear()


@pytest.fixture
def demo_app(app_db, demo_db):
    """The app's database holding a copy of the demo dataset (nothing prepared)."""
    return copy_demo(demo_db, app_db)


@pytest.fixture
def tiny_app(tiny_db):
    """Only a tiny dataset: no customers table, no feedback, a few touchpoints."""
    return tiny_db


def restart() -> None:
    """What an app restart forgets: the store object and every result held in memory."""
    core.flush_writes()
    st.cache_resource.clear()
    core._clear_cached()


def open_page(page: str, tab: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=600)
    if tab:
        at.query_params["tab"] = tab
    if page != "overview":
        at.switch_page(f"views/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def shown(at) -> list:
    return [(m.label, m.value) for m in at.metric]


# -- the plan is what the pages ask for --------------------------------------------------------
class Recording(prepare.Call):
    """The plan's calls, recorded by key (and answered from the app's cache)."""

    def __init__(self, store, dataset):
        self.store, self.dataset, self.keys = store, dataset, set()

    def __call__(self, fn, *args, **kwargs):
        name, kw = results.qualname(fn), tuple(sorted(kwargs.items()))
        self.keys.add(results.call_key(name, args, kw))
        return core._cached(name, self.dataset, self.store.version(self.dataset), args, kw)


def planned(store, dataset: str, v) -> set:
    c = Recording(store, dataset)
    prepare._sidebar(c)
    try:
        v.run(c)
    except cx.CXError:  # the page shows this message
        pass
    return c.keys


def asked_by_pages(monkeypatch, store, dataset: str) -> dict:
    """Each plan entry's page (on its tab) opened in the app: the keys it asked call() for."""
    asked: list = []
    original = core._cached

    def recording(qualname, ds, version, args, kwargs):
        if type(version) is int:  # not the closed loop's (version, loop revision): never prepared nor stored
            asked.append(results.call_key(qualname, args, kwargs))
        return original(qualname, ds, version, args, kwargs)

    monkeypatch.setattr(core, "_cached", recording)
    monkeypatch.setattr("ui.sidebar._cached", recording)
    out = {}
    for v in prepare.PLAN:
        asked.clear()
        open_page(v.page, v.tab)
        out[v.name] = set(asked)
    return out


@pytest.mark.parametrize("which", ["demo", "tiny"])
def test_the_plan_is_exactly_what_each_page_asks_for_on_its_first_view(which, request, monkeypatch):
    db = request.getfixturevalue(f"{which}_app")
    dataset = "demo" if which == "demo" else "tiny"
    store = cx.open(db)
    try:
        asked = asked_by_pages(monkeypatch, store, dataset)
        for v in prepare.PLAN:
            assert asked[v.name] == planned(store, dataset, v), v.name
        if which == "demo":  # every model fit is there: CLV, clustering, themes, key drivers, recipes, outreach
            fns = {k.split("'")[1] for ks in asked.values() for k in ks}
            assert {"cx.clv.value:customer_value", "cx.segments.run:run", "cx.voc.theme_metrics:theme_summary",
                    "cx.loyalty.drivers:key_drivers", "cx.segments.mix:mix_run", "cx.clv.risk:outreach"} <= fns
    finally:
        store.close()


# -- persisted results: a restart reads them --------------------------------------------------
def test_a_restarted_app_reads_the_overview_instead_of_computing_it(demo_app, monkeypatch):
    import cx.overview.cards as cards

    n = []
    original = cards.scorecard

    def counting(*a, **k):
        n.append(1)
        return original(*a, **k)

    monkeypatch.setattr(cards, "scorecard", counting)
    first = shown(open_page("overview"))
    assert len(n) == 1 and len(first) == 9
    restart()
    assert shown(open_page("overview")) == first and len(n) == 1  # read from the database
    # a corrupted payload: computed again, the same cards
    s = cx.open(demo_app)
    key = s.con.sql("SELECT key FROM cx_meta.results WHERE fn = 'cx.overview.cards:scorecard'").fetchall()[0][0]
    s.con.sql("UPDATE cx_meta.results SET payload = $p WHERE key = $k", params={"p": b"CXR1 broken", "k": key})
    s.close()
    restart()
    assert shown(open_page("overview")) == first and len(n) == 2


def test_a_page_reads_what_another_process_prepared_without_computing(demo_app, monkeypatch):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "cx", "prepare", "--db", str(demo_app), "--dataset", "demo", "--quiet"],
                   check=True, cwd=ROOT, env=env, capture_output=True)
    computed = []
    original = core._run_cx
    # the closed loop's results (cx.cases: open cases and plans on the Overview) follow the loop's own
    # revision, not the dataset version: always live, never prepared
    def counting(*a):
        if not a[0].startswith(LOOP):
            computed.append(a[0])
        return original(*a)

    monkeypatch.setattr(core, "_run_cx", counting)
    pages = {}
    for page in ("value", "segments", "overview", "customer"):
        pages[page] = shown(open_page(page))
    # every result of these first views was read; only a call that ends in a message (the customer
    # view's segment card: no saved segment) runs again, as errors are never kept
    assert computed == ["cx.clv.value:segments_table"]
    s = cx.open(demo_app)
    vm = cx.clv.customer_value(s, horizon_months=12, discount_rate=0.10, time_unit="W", dataset="demo")
    s.close()
    assert ("Buyers", f"{vm.customers.height:,}") in pages["value"]


def test_a_failed_write_or_a_missing_table_never_fails_a_page(tiny_app, monkeypatch, caplog):
    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(results, "_write_payload", broken)
    monkeypatch.setattr(core, "PERSIST_MIN_S", 0.0)  # every result goes to the writer
    with caplog.at_level(logging.WARNING, "cx.results"):
        first = shown(open_page("overview"))
        core.flush_writes()
    assert "not stored: disk full" in caplog.text and first
    monkeypatch.undo()
    s = cx.open(tiny_app)
    s.con.sql("DROP TABLE cx_meta.results")
    s.close()
    monkeypatch.setenv("CX_DB", str(tiny_app))
    restart()
    assert shown(open_page("overview")) == first


# -- the background job -------------------------------------------------------------------------
def test_the_app_prepares_every_page_in_the_background_once(demo_app, monkeypatch):
    monkeypatch.setenv("CX_PREPARE", "1")
    counts = Counter()
    original = core._run_cx

    def counting(qualname, dataset, args, kwargs):
        out = original(qualname, dataset, args, kwargs)  # counted when it gave a result (errors are never kept)
        if not qualname.startswith(LOOP):  # the closed loop's: live, never prepared
            counts[results.call_key(qualname, args, kwargs)] += 1
        return out

    monkeypatch.setattr(core, "_run_cx", counting)
    open_page("overview")  # the first run sees a version never prepared: the job starts beside the page
    open_page("value")
    assert job.wait(600)
    s = job.status("demo")
    assert (s["state"], s["done"], s["total"], s["failed"]) == ("done", len(prepare.PLAN), len(prepare.PLAN), [])
    assert counts and max(counts.values()) == 1  # the page and the job never computed a key twice
    n = sum(counts.values())
    for v in prepare.PLAN:
        open_page(v.page, v.tab)
    assert sum(counts.values()) == n  # every first view is ready
    restart()
    for page in ("overview", "segments"):
        open_page(page)
    assert sum(counts.values()) == n and job.status("demo")["state"] == "done"  # read, and not prepared again
    store = cx.open(demo_app)
    assert results.prepared(store, store.dataset("demo"))["steps"] == len(prepare.PLAN)
    # every prepared result is pinned (never evicted for room), also those a page wrote first
    assert store.con.sql("SELECT bool_and(pinned), count(*) FROM cx_meta.results").fetchall()[0] == (True, n + 1)
    store.close()


def test_the_sidebar_shows_the_preparation_progress(tiny_app, monkeypatch):
    monkeypatch.setitem(job._STATUS, "tiny", {"state": "running", "version": 1, "done": 4, "total": 14,
                                              "step": "Segments", "seconds": 3.0, "failed": []})
    at = open_page("overview")
    assert "Preparing dashboards 4/14: Segments" in [c.value for c in at.sidebar.caption]
    monkeypatch.setitem(job._STATUS, "tiny", {**job._STATUS["tiny"], "state": "done"})
    at.run()
    assert not any("Preparing dashboards" in c.value for c in at.sidebar.caption)


def test_a_new_version_stops_the_walk(tiny_app):
    s = cx.open(tiny_app)
    seen = []

    class Counting(prepare.StoreCall):
        def __call__(self, fn, *a, **k):
            seen.append(results.qualname(fn))
            return super().__call__(fn, *a, **k)

    out = prepare.run_plan(Counting(s, s.dataset("tiny")), stop=lambda: len(seen) > 0)
    assert out["stopped"] and out["done"] == 1 and results.prepared(s, s.dataset("tiny")) is None
    s.close()
