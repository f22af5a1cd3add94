"""The app's per-rerun shortcuts: figures memoised per input object, and call()'s cache key."""
import gc
import tomllib
from datetime import date
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import pytest

from cx.filters import Filters
from ui import cache as core


@pytest.fixture(autouse=True)
def _empty_memo():
    core._FIGURES.clear()
    yield
    core._FIGURES.clear()


def _counting():
    calls = []

    def bars(df, title="t", order=None):
        calls.append(title)
        return go.Figure(go.Bar(x=df["x"].to_list(), y=df["y"].to_list()), layout={"title": title})

    return bars, calls


def test_same_input_object_gives_the_same_figure_built_once():
    bars, calls = _counting()
    df = pl.DataFrame({"x": ["a", "b"], "y": [1, 2]})
    f1 = core.figure(bars, df, title="one", order=["b", "a"])
    f2 = core.figure(bars, df, title="one", order=["b", "a"])
    assert f1 is f2 and calls == ["one"]
    # another title, another order (lists compared by value) or an equal but new frame: built again
    core.figure(bars, df, title="two", order=["b", "a"])
    core.figure(bars, df, title="one", order=["a", "b"])
    core.figure(bars, pl.DataFrame({"x": ["a", "b"], "y": [1, 2]}), title="one", order=["b", "a"])
    assert calls == ["one", "two", "one", "one"]
    assert list(core.figure(bars, df, title="two", order=["b", "a"]).data[0].y) == [1, 2]
    assert len(calls) == 4


def test_a_dropped_input_is_never_mistaken_for_a_new_one():
    bars, calls = _counting()
    for y in range(5):  # new frames, often at the address of the one just dropped
        fig = core.figure(bars, pl.DataFrame({"x": ["a"], "y": [y]}))
        assert list(fig.data[0].y) == [y]
        gc.collect()
    assert len(calls) == 5


def test_unkeyable_arguments_and_non_figures_are_not_memoised():
    bars, calls = _counting()
    df = pl.DataFrame({"x": ["a"], "y": [1]})
    o = object()  # neither a plain value nor weakly referable
    core.figure(bars, df, order=o)
    core.figure(bars, df, order=o)
    assert len(calls) == 2
    out = []
    core.figure(lambda: out.append(1) or [1])
    core.figure(lambda: out.append(1) or [1])
    assert out == [1, 1] and not core._FIGURES


def test_the_memo_is_bounded():
    bars, _ = _counting()
    frames = [pl.DataFrame({"x": ["a"], "y": [i]}) for i in range(core._FIGURES_MAX + 10)]
    for df in frames:
        core.figure(bars, df)
    assert len(core._FIGURES) == core._FIGURES_MAX


def test_figures_proxy_memoises_a_chart_module():
    from cx.charts import overview as charts

    df = pl.DataFrame({"stage": ["discover", "consider"], "touchpoints": [30, 9], "customers": [10, 4]})
    ch = core.figures(charts)
    assert ch.stage_bars(df) is ch.stage_bars(df)
    assert ch.STAGE_COLORS is charts.STAGE_COLORS  # not a function: passed through


def test_plain_key_tells_values_and_types_apart():
    k = core._key
    assert len({k(1), k(True), k(1.0), k("1"), k(None), k((1,)), k([1])}) == 7
    assert k(Filters(start=date(2024, 1, 2))) != k(Filters(end=date(2024, 1, 2)))
    assert k(Filters(channels=("web",))) == k(Filters(channels=("web",)))
    with pytest.raises(core._Unkeyable):
        k(pl.DataFrame({"a": [1]}))  # a frame's repr is truncated: never a key
    with pytest.raises(core._Unkeyable):
        k({"a"})  # a set: not a plain value (and call() keys have no identity fallback)
    assert k({"a": 1, "b": 2}) == k({"b": 2, "a": 1}) != k({"a": 2, "b": 2})  # dicts by value
    refs = []
    df = pl.DataFrame({"a": [1]})
    assert k((df, 1), refs) == k((df, 1), []) and refs[0]() is df  # with refs: frames by identity


def test_streamlit_does_not_collect_garbage_after_every_run_nor_watch_files():
    cfg = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text())
    assert cfg["runner"]["postScriptGC"] is False
    assert cfg["server"]["fileWatcherType"] == "none" and cfg["server"]["runOnSave"] is False


def test_call_cache_computes_each_key_once_and_empties_when_the_store_changes(monkeypatch):
    computed = []

    def fake_run(qualname, dataset, args, kwargs):
        computed.append((qualname, dataset, args))
        return object()

    monkeypatch.setattr(core, "_run_cx", fake_run)
    core._RESULTS.clear()

    class Store:  # stands for two successive stores (st.cache_resource cleared in between)
        pass

    one, two = Store(), Store()
    core._results_for(one)
    v1 = core._cached("cx.overview:scorecard", "demo", 3, (Filters(),), ())
    assert core._cached("cx.overview:scorecard", "demo", 3, (Filters(),), ()) is v1 and len(computed) == 1
    core._cached("cx.overview:scorecard", "demo", 4, (Filters(),), ())  # a new dataset version: a new key
    assert len(computed) == 2
    core._results_for(one)  # same store: entries kept
    assert core._cached("cx.overview:scorecard", "demo", 3, (Filters(),), ()) is v1 and len(computed) == 2
    core._results_for(two)  # another store: emptied, computed again
    assert core._cached("cx.overview:scorecard", "demo", 3, (Filters(),), ()) is not v1 and len(computed) == 3
    monkeypatch.setattr(core, "RESULT_ENTRIES", 2)
    for v in range(5):
        core._cached("cx.overview:scorecard", "demo", 10 + v, (), ())
    assert len(core._RESULTS) == 2  # bounded, oldest out first
    core._cached.clear()
    assert not core._RESULTS and not core._COMPUTING


def test_call_cache_computes_once_when_sessions_ask_at_once(monkeypatch):
    import threading
    import time

    calls = []

    def slow_run(qualname, dataset, args, kwargs):
        calls.append(1)
        time.sleep(0.2)
        return object()

    monkeypatch.setattr(core, "_run_cx", slow_run)
    core._RESULTS.clear()
    got = []
    threads = [threading.Thread(target=lambda: got.append(core._cached("cx.clv:customer_value", "demo", 1, (), ())))
               for _ in range(5)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(calls) == 1 and len(got) == 5 and all(g is got[0] for g in got)
    assert not core._COMPUTING

    def failing(*a):
        raise ValueError("no data")

    monkeypatch.setattr(core, "_run_cx", failing)
    with pytest.raises(ValueError):
        core._cached("cx.clv:customer_value", "demo", 2, (), ())
    assert len(core._RESULTS) == 1  # only version 1's result: the failure is not cached
    assert not core._COMPUTING  # a failure is not cached and leaves no lock behind
    core._cached.clear()


def test_call_cache_is_bounded_by_bytes_the_newest_always_kept(monkeypatch):
    """Customer-level frames of 106M touchpoints piled up in memory until the preparation was
    killed: beyond CX_CACHE_MB the oldest results go (they stay in the result store)."""
    import numpy as np
    import polars as pl

    def frame_run(qualname, dataset, args, kwargs):  # 1 MiB a result (131,072 float64)
        return pl.DataFrame({"x": np.zeros(131_072)})

    monkeypatch.setattr(core, "_run_cx", frame_run)
    monkeypatch.setenv("CX_CACHE_MB", "2.5")
    core._cached.clear()
    assert core.result_bytes(frame_run(0, 0, 0, 0)) == 2**20
    for v in range(4):
        core._cached("cx.clv:customer_value", "demo", v, (), ())
    keys = list(core._RESULTS)
    assert len(keys) == 2 and core._BYTES[0] == 2 * 2**20  # two of 1 MiB fit under 2.5 MiB: versions 2 and 3
    monkeypatch.setenv("CX_CACHE_MB", "0.5")
    core._cached("cx.clv:customer_value", "demo", 9, (), ())
    assert len(core._RESULTS) == 1 and core._BYTES[0] == 2**20  # larger than the budget alone: still kept
    # sizes are found inside dataclasses, dicts and tuples too
    from dataclasses import dataclass

    @dataclass
    class R:
        a: object
        b: dict

    f = pl.DataFrame({"x": np.zeros(1000)})
    assert core.result_bytes(R(f, {"k": (f, np.zeros(10))})) == 2 * 8000 + 80
    core._cached.clear()
    assert core._BYTES[0] == 0 and not core._SIZES
