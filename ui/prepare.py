"""Dashboards ready before anyone opens them: the app prepares cx.prepare's plan (every page's
default view and the model fits) in a background thread of its own process, once per dataset
version, and the sidebar shows how far it got ("Preparing dashboards 4/14").

- When: the sidebar checks, on each run, whether the dataset it shows is prepared at its current
  version (in memory after the first check; the result store's record otherwise): after an
  import, after a rule change or a saved segment (each a new version), and on the first run after
  an app start whose dataset version was never prepared. The Data page also asks right after an
  import or a rule change.
- How: one job thread at a time, one dataset after another; it asks for each result through
  ui.cache's _cached, so a page asking for a key the job is computing waits for it (the per-key
  lock) instead of computing it twice, and each result lands in memory and in the result store.
  A page never waits for the job otherwise. A version that changes under the job stops it, and
  the new version is prepared next.
- CX_PREPARE=0 turns the job off (results are still stored as pages compute them).
- At exit (the server stopping) the job stops after the entry it is on, waited for up to
  EXIT_WAIT_S: a daemon thread killed inside DuckDB aborts the process ("terminate called ...").
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time

import streamlit as st

from cx import prepare as plan
from cx import results
from cx.store import Dataset

from . import cache
from .store import get_store

log = logging.getLogger("cxloop")

_LOCK = threading.Lock()
_PENDING: list = []  # (store, dataset name), in order
_THREAD: list = [None]
_STATUS: dict = {}  # dataset name -> {"state", "version", "done", "total", "step", "seconds", "failed"}
_CHECKED: set = set()  # (id of the store, dataset, version) whose preparation was looked at
_EXITING = threading.Event()
EXIT_WAIT_S = 30.0


def enabled() -> bool:
    return os.environ.get("CX_PREPARE", "1") != "0" and cache.persisting()


def status(dataset: str | None) -> dict | None:
    """The job's state for the dataset: state is queued, running, done or stopped."""
    with _LOCK:
        s = _STATUS.get(dataset)
        return dict(s) if s else None


def ensure(store, dataset: str | None, version: int) -> None:
    """Start preparing the dataset in the background when its version was never prepared. Cheap
    after the first call per version (a set lookup)."""
    if dataset is None or not enabled() or getattr(store, "backend_name", None) != "duckdb":
        return
    tag = (id(store), dataset, version)
    if tag in _CHECKED:
        return
    _CHECKED.add(tag)
    try:
        ds = Dataset(store.dataset(dataset).id, dataset, version)
        if results.prepared(store, ds) is not None:
            return
    except Exception as e:  # noqa: BLE001 - never in the way of a page
        log.warning("could not check whether %s is prepared: %s", dataset, e)
        return
    start(store, dataset)


def start(store, dataset: str) -> None:
    """Queue the dataset for preparation (its version at the time the job reaches it)."""
    if not enabled():
        return
    with _LOCK:
        if not any(d == dataset and s is store for s, d in _PENDING):
            _PENDING.append((store, dataset))
        if dataset not in _STATUS or _STATUS[dataset]["state"] in ("done", "stopped"):
            _STATUS[dataset] = {"state": "queued", "version": None, "done": 0, "total": len(plan.PLAN), "step": "",
                                "seconds": 0.0, "failed": []}
        if _THREAD[0] is None or not _THREAD[0].is_alive():
            _THREAD[0] = threading.Thread(target=_run, name="cx-prepare", daemon=True)
            _THREAD[0].start()


def prepare_dashboards(dataset: str) -> None:
    """After a page changed the dataset (an import, new rules): prepare its new version now. Never
    raises: the change is done whatever happens here."""
    try:
        start(get_store(), dataset)
    except Exception as e:  # noqa: BLE001 - the job never fails an import
        log.warning("could not start preparing the dashboards of %s: %s", dataset, e)


def wait(timeout: float | None = None) -> bool:
    """Wait for the job to finish everything queued (tests, benchmarks). True when it did."""
    th = _THREAD[0]
    if th is not None:
        th.join(timeout)
    return th is None or not th.is_alive()


@atexit.register
def _stop_at_exit() -> None:
    _EXITING.set()
    with _LOCK:
        _PENDING.clear()
    wait(EXIT_WAIT_S)


def _run() -> None:
    while True:
        with _LOCK:
            if not _PENDING or _EXITING.is_set():
                _THREAD[0] = None
                return
            store, dataset = _PENDING.pop(0)
        try:
            _prepare(store, dataset)
        except Exception as e:  # noqa: BLE001 - the job never takes the app down
            log.warning("preparing the dashboards of %s failed: %s", dataset, e)
            _set(dataset, state="stopped")


def _set(dataset: str, **kw) -> None:
    with _LOCK:
        _STATUS.setdefault(dataset, {}).update(kw)


class _AppCall(plan.Call):
    """The plan's calls through ui.cache: the same memory, the same per-key locks as the pages."""

    def __init__(self, store, ds: Dataset):
        self.store, self.ds, self.dataset = store, ds, ds.name

    def __call__(self, fn, *args, **kwargs):
        name, kw = results.qualname(fn), tuple(sorted(kwargs.items()))
        out = cache._cached(name, self.ds.name, self.ds.version, args, kw)
        cache.stored(name, self.ds.name, self.ds.version, args, kw, out)  # also when a page had it in memory only
        return out


def _prepare(store, dataset: str) -> None:
    ds = store.dataset(dataset)
    if results.prepared(store, ds) is not None:
        _set(dataset, state="done", version=ds.version, done=len(plan.PLAN), total=len(plan.PLAN))
        return
    t0 = time.perf_counter()
    _set(dataset, state="running", version=ds.version, done=0, total=len(plan.PLAN), step="")

    def progress(done: int, total: int, step: str) -> None:
        _set(dataset, done=done, total=total, step=step, seconds=round(time.perf_counter() - t0, 1))

    def moved_on() -> bool:
        if _EXITING.is_set():
            return True
        try:
            return store.version(dataset) != ds.version
        except Exception:  # noqa: BLE001 - deleted or renamed meanwhile
            return True

    cache._LOCAL.store, cache._LOCAL.job = store, True
    try:
        summary = plan.run_plan(_AppCall(store, ds), progress, stop=moved_on)
    finally:
        cache._LOCAL.store, cache._LOCAL.job = None, False
    if summary["stopped"]:
        _set(dataset, state="stopped")
        if not _EXITING.is_set() and store.has_dataset(dataset):
            start(store, dataset)  # its new version, next
        return
    results.mark_prepared(store, ds, summary)
    _set(dataset, state="done", seconds=summary["seconds"], failed=summary["failed"])
    log.info("dashboards of %s v%s prepared in %.1f s%s", dataset, ds.version, summary["seconds"],
             f" ({', '.join(summary['failed'])} failed)" if summary["failed"] else "")


# -- in the sidebar ------------------------------------------------------------------------
def show_progress(dataset: str | None) -> None:
    """In the sidebar: "Preparing dashboards 4/14" while the job works on this dataset (the line
    refreshes itself every two seconds; when the job is done, the page reruns once and it goes)."""
    s = status(dataset)
    if s and s["state"] in ("queued", "running"):
        _progress(dataset)


@st.fragment(run_every=2)
def _progress(dataset: str) -> None:
    s = status(dataset)
    if not s or s["state"] not in ("queued", "running"):
        st.rerun(scope="app")
    st.caption(progress_text(s), help="Every page's first view and the model fits are computed once per dataset "
               "version and kept in the database, so pages open at once, also after a restart of the app. You "
               "can use the app meanwhile: a page asking for a result being prepared waits for it.")
    st.progress(s["done"] / max(s["total"], 1))


def progress_text(s: dict) -> str:
    if s["state"] == "queued":
        return f"Preparing dashboards 0/{s['total']} (waiting for another dataset)"
    return f"Preparing dashboards {s['done']}/{s['total']}" + (f": {s['step']}" if s.get("step") else "")
