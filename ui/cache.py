"""Results of cx functions, computed once per (dataset version, arguments) and shared by every
session of the process, and kept in the database's result store (cx.results) so that an app
restart reads them instead of computing them again; and plotly figures, built once per input
object."""
from __future__ import annotations

import functools
import logging
import os
import queue
import threading
import time
import weakref
from collections import OrderedDict

import plotly.graph_objects as go
import streamlit as st

from cx import results
from cx.results import Unkeyable as _Unkeyable
from cx.results import key as _key
from cx.store import Dataset

from .store import current_dataset, get_store

log = logging.getLogger("cxloop")


def new_run() -> None:
    """Called first thing on every script run (app.py): per-run memos start afresh."""
    st.session_state["_run_id"] = st.session_state.get("_run_id", 0) + 1


def dataset_version(ds: str | None) -> int:
    """The dataset's version, read once per script run (every call() of the run shares it)."""
    memo = st.session_state.setdefault("_versions", {})
    run = st.session_state.get("_run_id")
    if run is None or memo.get("run") != run:
        memo.clear()
        memo["run"] = run
        _results_for(get_store())
    if ds not in memo:
        memo[ds] = get_store().version(ds)
    return memo[ds]


def version_changed(ds: str | None) -> None:
    """Forget the version read this run: the page just changed the dataset (saved rules), and what
    it draws next must be computed for the new version."""
    st.session_state.get("_versions", {}).pop(ds, None)


def call(fn, *args, **kwargs):
    """Run a cx function (store, *args, dataset=..., **kwargs), cached per dataset version."""
    ds = current_dataset()
    version = dataset_version(ds)
    return _cached(f"{fn.__module__}:{fn.__qualname__}", ds, version, args, tuple(sorted(kwargs.items())))


# The results are shared as they are (polars frames, small dicts and dataclasses), never pickled
# and unpickled on every rerun (a 300k-row frame costs ~0.3 s per rerun as st.cache_data); pages
# and cx functions never mutate them (polars frames are immutable).
RESULT_ENTRIES = 512
_RESULTS: dict = {}  # key -> result, oldest first
_SIZES: dict = {}  # key -> its result's size in bytes (polars frames, numpy arrays; roughly)
_BYTES = [0]  # the sum of _SIZES
_RESULTS_LOCK = threading.Lock()
_COMPUTING: dict[str, threading.Lock] = {}  # key -> the lock of its computation in progress
_RESULTS_STORE = [lambda: None]  # weak reference to the store the results were computed on
_MISS = object()
_GENERATION = [0]  # bumped by clear_results(): a result computed before is neither kept nor stored
_STORED: set = set()  # keys of _RESULTS known to be in the result store (read from it, or written)
_LOCAL = threading.local()  # .store: the store of a background job's thread; .job: it writes every result

# A result that took at least this long to compute is written to the result store (by a writer
# thread, off the page's path); the preparation job writes every result it computes.
PERSIST_MIN_S = 0.1


def memory_budget() -> int:
    """Bytes of results kept in memory (``CX_CACHE_MB``; default a tenth of the machine's memory): the
    oldest go first beyond it (they stay in the result store, so a page reads them back). Bounded by
    count only, 106M touchpoints' customer-level frames piled up until the preparation was killed."""
    try:
        mb = float(os.environ.get("CX_CACHE_MB", "0") or 0)
    except ValueError:
        mb = 0.0
    if mb > 0:
        return int(mb * 2**20)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.10)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 2 * 2**30


def result_bytes(x, depth: int = 0) -> int:
    """A result's size in bytes, roughly: its polars frames and series and numpy arrays, also inside
    dataclasses, dicts, lists and tuples (a few levels deep); anything else counts as nothing."""
    import dataclasses

    import numpy as np
    import polars as pl

    if isinstance(x, (pl.DataFrame, pl.Series)):
        return int(x.estimated_size())
    if isinstance(x, np.ndarray):
        return int(x.nbytes)
    if depth >= 4:
        return 0
    if isinstance(x, dict):
        return sum(result_bytes(v, depth + 1) for v in x.values())
    if isinstance(x, (list, tuple)):
        return sum(result_bytes(v, depth + 1) for v in x[:256])
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return sum(result_bytes(getattr(x, f.name, None), depth + 1) for f in dataclasses.fields(x))
    return 0


def persisting() -> bool:
    """Whether results are read from and written to the database (CX_RESULTS=0 turns it off)."""
    return os.environ.get("CX_RESULTS", "1") != "0"


def _cached(qualname: str, dataset: str, version: int, args: tuple, kwargs: tuple):
    """The cache behind call(). Arguments made of plain values (str, numbers, dates, None,
    tuples, lists, frozen dataclasses such as Filters) are keyed by value (:func:`_key`) in the
    process's result dict: a hit is one dict lookup (Streamlit's per-call key machinery was 5 % of
    a warm rerun), and a key is computed once however many sessions (and the preparation job) ask
    for it at once. A miss reads the result store, and only then computes. Anything else goes
    through st.cache_resource and Streamlit's own (slower) hasher."""
    try:
        key = _key((qualname, dataset, version, args, kwargs))
    except _Unkeyable:
        return _cached_hashed(qualname, dataset, version, args, kwargs)
    hit = _RESULTS.get(key, _MISS)
    if hit is not _MISS:
        return hit
    with _RESULTS_LOCK:
        lock = _COMPUTING.setdefault(key, threading.Lock())
    try:
        with lock:  # a second session asking for the same key waits for the first one's result
            hit = _RESULTS.get(key, _MISS)
            if hit is _MISS:
                gen = _GENERATION[0]
                hit = _load_or_run(key, qualname, dataset, version, args, kwargs, gen)
                size = result_bytes(hit)
                with _RESULTS_LOCK:
                    if gen == _GENERATION[0]:  # not cleared meanwhile
                        _RESULTS[key] = hit
                        _SIZES[key] = size
                        _BYTES[0] += size
                    budget = memory_budget()
                    while len(_RESULTS) > RESULT_ENTRIES or (_BYTES[0] > budget and len(_RESULTS) > 1):
                        old = next(iter(_RESULTS))  # the oldest (the newest is always kept)
                        _STORED.discard(old)
                        _RESULTS.pop(old)
                        _BYTES[0] -= _SIZES.pop(old, 0)
    finally:
        with _RESULTS_LOCK:
            _COMPUTING.pop(key, None)
    return hit


def _load_or_run(key: str, qualname: str, dataset: str, version: int, args: tuple, kwargs: tuple, gen: int):
    """The result of a key missing in memory: read from the result store, else computed (and
    written: by the writer thread, or at once in the preparation job's thread)."""
    store = getattr(_LOCAL, "store", None) or _RESULTS_STORE[0]()  # None: no store seen yet, nothing stored
    ds = _stored_dataset(store, dataset, version)
    if ds is not None:
        k = results.call_key(qualname, args, kwargs)
        got = results.read(store, ds, k)
        if got is not results.MISSING:
            _STORED.add(key)
            return got
    t = time.perf_counter()
    value = _run_cx(qualname, dataset, args, kwargs)
    seconds = time.perf_counter() - t
    if ds is not None:
        job = getattr(_LOCAL, "job", False)
        item = (key, store, ds, qualname, k, value, seconds, gen, job)
        if job:
            _write(item)
        elif seconds >= PERSIST_MIN_S:
            _write_later(item)
    return value


def _stored_dataset(store, dataset: str | None, version: int) -> Dataset | None:
    """The dataset at `version` as the result store keys it (its id), or None: nothing stored (also
    for a version that is not the dataset's alone, e.g. ui.loop's (version, loop revision): the
    closed loop's state changes without a new version)."""
    if (dataset is None or type(version) is not int or not persisting()
            or getattr(store, "backend_name", None) != "duckdb"):
        return None
    try:
        return Dataset(store.dataset(dataset).id, dataset, version)
    except Exception:  # noqa: BLE001 - e.g. deleted meanwhile: computed, not stored
        return None


def _store():
    """The store results are computed on: a background job's own, else the app's."""
    return getattr(_LOCAL, "store", None) or _RESULTS_STORE[0]() or get_store()


# -- writes, off the page's path -----------------------------------------------------------
_WRITES: queue.Queue = queue.Queue()
_WRITER: list = [None]


def _write(item) -> None:
    key, store, ds, qualname, k, value, seconds, gen, pinned = item
    if gen != _GENERATION[0]:
        return  # computed before clear_results(): not kept
    try:
        if results.write(store, ds, qualname, k, value, seconds, pinned):
            _STORED.add(key)
    except Exception as e:  # noqa: BLE001 - results.write logs its own failures; this is a last guard
        log.warning("result %s not stored: %s", qualname, e)


def _write_later(item) -> None:
    with _RESULTS_LOCK:
        if _WRITER[0] is None or not _WRITER[0].is_alive():
            _WRITER[0] = threading.Thread(target=_writer, name="cx-results-writer", daemon=True)
            _WRITER[0].start()
    _WRITES.put(item)


def _writer() -> None:
    while True:
        item = _WRITES.get()
        try:
            _write(item)
        finally:
            del item
            _WRITES.task_done()


def stored(qualname: str, dataset: str, version: int, args: tuple, kwargs: tuple, value) -> None:
    """Make sure a result held in memory is in the result store too, pinned (the preparation job: a
    page may have computed it quickly, below PERSIST_MIN_S, and kept it in memory only, or had it
    written as one of its users' results)."""
    key = _key((qualname, dataset, version, args, kwargs))
    store = getattr(_LOCAL, "store", None) or _RESULTS_STORE[0]()
    ds = _stored_dataset(store, dataset, version)
    if ds is None:
        return
    k = results.call_key(qualname, args, kwargs)
    if key in _STORED:
        results.pin(store, ds, k)
    else:
        _write((key, store, ds, qualname, k, value, 0.0, _GENERATION[0], True))


def flush_writes() -> None:
    """Wait until every result queued for the result store is written (tests, benchmarks)."""
    _WRITES.join()


def _results_for(store) -> None:
    """Empty the result dict when the store changed (st.cache_resource was cleared, e.g. by a
    test, and get_store() opened a new one): its keys hold dataset versions, not the store."""
    if _RESULTS_STORE[0]() is not store:
        with _RESULTS_LOCK:
            _RESULTS.clear()
            _SIZES.clear()
            _BYTES[0] = 0
            _STORED.clear()
            _RESULTS_STORE[0] = weakref.ref(store)


def _run_cx(qualname: str, dataset: str, args: tuple, kwargs: tuple):
    return results.function(qualname)(_store(), *args, dataset=dataset, **dict(kwargs))


@st.cache_resource(show_spinner=False, max_entries=128)
def _cached_hashed(qualname: str, dataset: str, version: int, args: tuple, kwargs: tuple):
    return _run_cx(qualname, dataset, args, kwargs)


def _clear_cached() -> None:
    with _RESULTS_LOCK:
        _GENERATION[0] += 1
        _RESULTS.clear()
        _SIZES.clear()
        _BYTES[0] = 0
        _STORED.clear()
    _cached_hashed.clear()


_cached.clear = _clear_cached


def clear_results(fn_prefixes: tuple[str, ...] | None = None) -> None:
    """Forget every cached result (after the app itself changed what a result depends on, e.g. a
    renamed theme, without a new dataset version), and delete the current dataset's stored results
    of the functions whose name starts with one of `fn_prefixes` (e.g. ``("cx.voc",)``; None:
    all of them)."""
    _clear_cached()
    ds = current_dataset()
    if ds is None or not persisting() or not getattr(get_store(), "backend_name", None) == "duckdb":
        return
    try:
        results.clear(get_store(), ds, fn_prefixes)
    except Exception as e:  # noqa: BLE001 - the memory is cleared; stored rows of the version stay
        log.warning("stored results of %s not cleared: %s", ds, e)


# -- figures, built once per input ---------------------------------------------------------
# Building a plotly figure costs more CPU than the rest of a warm rerun together (the validators
# behind update_layout), and a page's inputs are the very objects _cached() shares between
# sessions and reruns. So a chart function's figure is kept per input *object* (held by weak
# reference: a frame that is dropped, or a new frame at the same address, is never mistaken for
# the old one) and shared as it is. Views never change a figure they are given; chart() copies
# one before enlarging it for presentation mode.
_FIGURES: OrderedDict = OrderedDict()
_FIGURES_LOCK = threading.Lock()
_FIGURES_MAX = 256


def figure(fn, *args, **kwargs):
    """fn(*args, **kwargs), a plotly figure, memoised per input object (see above). Arguments that
    can be neither compared by value nor weakly referenced turn the memo off for that call."""
    refs: list = []
    try:
        key = (fn, _key((args, kwargs), refs))
    except _Unkeyable:
        return fn(*args, **kwargs)
    with _FIGURES_LOCK:
        hit = _FIGURES.get(key)
        if hit is not None and all(r() is not None for r in hit[0]):
            _FIGURES.move_to_end(key)
            return hit[1]
    fig = fn(*args, **kwargs)
    if isinstance(fig, go.Figure):
        with _FIGURES_LOCK:
            _FIGURES[key] = (refs, fig)
            _FIGURES.move_to_end(key)
            while len(_FIGURES) > _FIGURES_MAX:
                _FIGURES.popitem(last=False)
    return fig


class figures:  # noqa: N801 - used like a module
    """A chart module whose functions are memoised by figure(): `vc = figures(cx.charts.value)`,
    then `vc.clv_histogram(df, horizon)` as before."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name: str):
        fn = getattr(self._module, name)
        return functools.partial(figure, fn) if callable(fn) and not isinstance(fn, type) else fn
