"""Results of cx functions, computed once per (dataset version, arguments) and shared by every
session of the process; and plotly figures, built once per input object."""
from __future__ import annotations

import dataclasses
import functools
import importlib
import threading
import weakref
from collections import OrderedDict
from datetime import date

import plotly.graph_objects as go
import streamlit as st

from .store import current_dataset, get_store


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
_RESULTS_LOCK = threading.Lock()
_COMPUTING: dict[str, threading.Lock] = {}  # key -> the lock of its computation in progress
_RESULTS_STORE = [lambda: None]  # weak reference to the store the results were computed on
_MISS = object()


def _cached(qualname: str, dataset: str, version: int, args: tuple, kwargs: tuple):
    """The cache behind call(). Arguments made of plain values (str, numbers, dates, None,
    tuples, lists, frozen dataclasses such as Filters) are keyed by value (:func:`_key`) in the
    process's result dict: a hit is one dict lookup (Streamlit's per-call key machinery was 5 % of
    a warm rerun), and a key is computed once however many sessions ask for it at once. Anything
    else goes through st.cache_resource and Streamlit's own (slower) hasher."""
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
                hit = _run_cx(qualname, dataset, args, kwargs)
                with _RESULTS_LOCK:
                    _RESULTS[key] = hit
                    while len(_RESULTS) > RESULT_ENTRIES:
                        _RESULTS.pop(next(iter(_RESULTS)))
    finally:
        with _RESULTS_LOCK:
            _COMPUTING.pop(key, None)
    return hit


def _results_for(store) -> None:
    """Empty the result dict when the store changed (st.cache_resource was cleared, e.g. by a
    test, and get_store() opened a new one): its keys hold dataset versions, not the store."""
    if _RESULTS_STORE[0]() is not store:
        with _RESULTS_LOCK:
            _RESULTS.clear()
            _RESULTS_STORE[0] = weakref.ref(store)


def _run_cx(qualname: str, dataset: str, args: tuple, kwargs: tuple):
    mod, name = qualname.split(":")
    fn = getattr(importlib.import_module(mod), name)
    return fn(get_store(), *args, dataset=dataset, **dict(kwargs))


@st.cache_resource(show_spinner=False, max_entries=128)
def _cached_hashed(qualname: str, dataset: str, version: int, args: tuple, kwargs: tuple):
    return _run_cx(qualname, dataset, args, kwargs)


def _clear_cached() -> None:
    with _RESULTS_LOCK:
        _RESULTS.clear()
    _cached_hashed.clear()


_cached.clear = _clear_cached


def clear_results() -> None:
    """Forget every cached result (after the app itself changed what a result depends on, e.g. a
    renamed theme, without a new dataset version)."""
    _clear_cached()


def _key(x, refs: list | None = None) -> str:
    """A cache key for `x`. Plain values (None, str, numbers, dates; tuples, lists and dicts of
    them; frozen dataclasses such as Filters) are keyed by value. With `refs`, any other object is
    keyed by identity and a weak reference to it is appended to `refs` (so the caller can tell
    when it is gone); without, or when it cannot be weakly referenced, _Unkeyable is raised."""
    if x is None or isinstance(x, (str, int, float, date)):  # bool is an int; datetime a date
        return f"{type(x).__name__}:{x!r}"
    if isinstance(x, (tuple, list)):
        return f"{type(x).__name__}(" + ",".join(_key(v, refs) for v in x) + ")"
    if isinstance(x, dict):
        return "dict(" + ",".join(f"{_key(k)}={_key(v, refs)}" for k, v in sorted(x.items(), key=lambda kv: str(kv[0]))) + ")"
    if dataclasses.is_dataclass(x) and not isinstance(x, type) and type(x).__dataclass_params__.frozen:
        return (f"{type(x).__module__}.{type(x).__qualname__}("
                + ",".join(f"{fl.name}={_key(getattr(x, fl.name), refs)}" for fl in dataclasses.fields(x)) + ")")
    if refs is not None:
        try:
            refs.append(weakref.ref(x))
        except TypeError:
            raise _Unkeyable from None
        return f"id:{id(x)}"
    raise _Unkeyable


class _Unkeyable(Exception):
    pass


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
