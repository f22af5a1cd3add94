"""The compiled journey kernels (cx.journey.kernels, over the customer-ordered event store) against
the Ibis expressions they replace (the reference definition): on Hypothesis-generated small
journeys and on the demo dataset, every metric with a kernel gives IDENTICAL frames on both paths.

The Ibis path is forced with ``kernels.off()``; each case first checks that the kernel path is
really taken (the dataset version has a current event store). Timestamps are drawn from a coarse
grid so that ties are frequent: both paths order (customer, timestamp, file order).
"""
from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import cx
from cx import Filters
from cx import journey as J
from cx.data import of
from cx.journey import kernels as K
from cx.segments import features

from tests.conftest import copy_demo

T0 = datetime(2025, 3, 3, 8, 0, 0)
TOUCHPOINTS = {  # touchpoint -> its stage in the file (None: no stage)
    "social_ad": "discover", "homepage": "consider", "product_page": "consider",
    "pricing_page": "evaluate", "order_placed": "purchase", "delivery": "use", "mystery": None,
}
CHANNELS = ["web", "email", "store", None]
SESSIONS = ["S1", "S2", None]
PERSONAS = ["Researcher", "Bargain Hunter", None]


def both(fn, *a, **kw):
    """(kernel result, Ibis result) of fn(*a, **kw)."""
    fast = fn(*a, **kw)
    with K.off():
        slow = fn(*a, **kw)
    return fast, slow


def same(fast, slow, what: str) -> None:
    if isinstance(fast, dict):
        assert fast.keys() == slow.keys(), what
        for k in fast:
            same(fast[k], slow[k], f"{what}[{k}]")
    elif fast is None:
        assert slow is None, what
    else:
        assert isinstance(fast, pl.DataFrame), what
        assert_frame_equal(fast, slow, check_exact=True, check_dtypes=True), what


rows_st = st.lists(
    st.tuples(st.sampled_from("abcdef"), st.integers(0, 40), st.sampled_from(sorted(TOUCHPOINTS)),
              st.sampled_from(CHANNELS), st.sampled_from(SESSIONS),
              st.sampled_from([None, None, None, 10, 25.5, -5])),
    min_size=1, max_size=40)


def write_journeys(path, rows) -> None:
    lines = ["customer_id,timestamp,touchpoint,stage,channel,session_id,amount"]
    for c, t, tp, ch, s, amt in rows:
        when = (T0 + timedelta(hours=6 * t)).strftime("%Y-%m-%dT%H:%M:%SZ")  # a coarse grid: many ties
        lines.append(",".join("" if v is None else str(v) for v in (c, when, tp, TOUCHPOINTS[tp], ch, s, amt)))
    path.write_text("\n".join(lines) + "\n")


def write_customers(path) -> None:
    path.write_text("customer_id,persona\n" + "".join(f"{c},{PERSONAS[i % 3] or ''}\n"
                                                      for i, c in enumerate("abcdef")))


FUNNELS = [  # (steps, field, window, unit)
    (["discover", "consider", "evaluate", "purchase"], "stage", "30d", "customer"),
    (["discover", "purchase", "use"], "stage", "1d", "customer"),
    (["consider", "consider", "purchase"], "stage", None, "customer"),  # a repeated step
    (["social_ad", ["product_page", "homepage"], "order_placed"], "touchpoint", "2d", "customer"),
    (["homepage", "pricing_page", "order_placed", "delivery"], "touchpoint", None, "session"),
    (["social_ad", "mystery"], "touchpoint", "12h", "session"),
]


def check_all(s, dataset: str, filters: Filters | None = None, funnels=FUNNELS, breakdowns=("channel", "persona"),
              steps_per_customer: bool = True) -> None:
    d = of(s, filters, dataset)
    assert K.events(d, "stage", "touchpoint") is not None, "the kernel path is not taken"
    kw = {"filters": filters, "dataset": dataset}
    for steps, field, window, unit in funnels:
        what = f"funnel {steps} {field} {window} {unit}"
        same(*both(J.funnel, s, steps, field=field, window=window, unit=unit, **kw), what)
        for b in breakdowns:
            same(*both(J.funnel, s, steps, field=field, window=window, unit=unit, breakdown=b, top=2, **kw),
                 f"{what} by {b}")
        same(*both(J.funnel_trend, s, steps, field=field, window=window, unit=unit, **kw), f"{what} trend")
        same(*both(J.funnel_report, s, steps, field=field, window=window, unit=unit, breakdown="channel", **kw),
             f"{what} report")
        for at in range(1, len(steps)):
            same(*both(J.dropoff_members, s, steps, at, field=field, window=window, unit=unit, **kw),
                 f"{what} drop-offs at {at}")
    for level in ("stage", "touchpoint"):
        for collapse in (True, False):
            for top in (None, 2):
                same(*both(J.transitions, s, level=level, top=top, collapse_repeats=collapse, **kw),
                     f"transitions {level} {collapse} {top}")
                same(*both(J.step_sankey, s, steps=4, level=level, collapse_repeats=collapse, top=top, **kw),
                     f"sankey {level} {collapse} {top}")
        for max_len in (1, 3, 8):
            same(*both(J.paths, s, top=5, level=level, max_len=max_len, top_touchpoints=3, **kw),
                 f"paths {level} {max_len}")
    for by in (None, "channel", *(["persona"] if "persona" in breakdowns else [])):
        same(*both(J.loop_metrics, s, by=by, **kw), f"loop metrics by {by}")
    same(*both(J.loop_metrics, s, churn_days=2, **kw), "loop metrics churn 2")
    same(*both(J.channel_switching, s, top=3, **kw), "channel switching")
    if steps_per_customer:
        same(*both(features, s, **kw), "segment features")


@pytest.fixture(scope="module")
def hstore(tmp_path_factory):
    s = cx.open(tmp_path_factory.mktemp("parity") / "p.duckdb")
    yield s
    s.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_st, filtered=st.booleans(), fn=st.sampled_from(FUNNELS), breakdown=st.sampled_from(["channel", "persona"]),
       level=st.sampled_from(["stage", "touchpoint"]), collapse=st.booleans(), top=st.sampled_from([None, 2]),
       max_len=st.sampled_from([1, 3, 8]), by=st.sampled_from([None, "channel", "persona"]))
def test_kernels_match_ibis_on_generated_journeys(hstore, tmp_path_factory, rows, filtered, fn, breakdown, level,
                                                  collapse, top, max_len, by):
    """One drawn variant of each metric per example (the full grid runs on the demo)."""
    d = tmp_path_factory.mktemp("j")
    write_journeys(d / "e.csv", rows)
    write_customers(d / "c.csv")
    hstore.import_file(d / "e.csv", kind="interactions", dataset="h", mode="replace")
    hstore.import_file(d / "c.csv", kind="customers", dataset="h", mode="replace")
    kw = {"filters": Filters(channels=("web", "email")) if filtered else None, "dataset": "h"}
    assert K.events(of(hstore, kw["filters"], "h"), "stage", "touchpoint") is not None
    steps, field, window, unit = fn
    same(*both(J.funnel_report, hstore, steps, field=field, window=window, unit=unit, breakdown=breakdown, top=2,
               **kw), "funnel report")
    for at in range(1, len(steps)):
        same(*both(J.dropoff_members, hstore, steps, at, field=field, window=window, unit=unit, **kw), "drop-offs")
    same(*both(J.transitions, hstore, level=level, top=top, collapse_repeats=collapse, **kw), "transitions")
    same(*both(J.step_sankey, hstore, steps=4, level=level, collapse_repeats=collapse, top=top, **kw), "sankey")
    same(*both(J.paths, hstore, top=5, level=level, max_len=max_len, top_touchpoints=3, **kw), "paths")
    same(*both(J.loop_metrics, hstore, by=by, **kw), "loop metrics")
    same(*both(J.channel_switching, hstore, top=3, **kw), "channel switching")
    same(*both(features, hstore, **kw), "segment features")


def test_tied_timestamps_keep_file_order_on_both_paths(store, write):
    """Same-timestamp rows: file order decides (an evaluate written before the consider it ties with
    comes first), on both paths; the exact counts say the tie was broken by file order."""
    f = write("e.csv", "customer_id,timestamp,touchpoint,stage,channel\n"
                       "a,2025-01-01T09:00:00Z,ad,discover,web\n"
                       "a,2025-01-01T10:00:00Z,pricing,evaluate,web\n"
                       "a,2025-01-01T10:00:00Z,product,consider,email\n"
                       "b,2025-01-01T09:00:00Z,ad,discover,web\n"
                       "b,2025-01-01T10:00:00Z,product,consider,email\n"
                       "b,2025-01-01T10:00:00Z,pricing,evaluate,web\n")
    store.import_file(f, kind="interactions", dataset="t")
    fast, slow = both(J.funnel, store, ["discover", "consider", "evaluate"], field="stage", dataset="t")
    same(fast, slow, "tied funnel")
    assert fast["count"].to_list() == [2, 2, 1]  # only b has evaluate after consider
    fast, slow = both(J.loop_metrics, store, dataset="t")
    same(fast, slow, "tied loops")
    assert fast["loops_per_customer"].to_list() == [0.5]  # a: evaluate -> consider is a loop
    fast, slow = both(J.channel_switching, store, dataset="t")
    same(fast, slow, "tied switching")
    assert fast["handoffs"].rows() == [("web", "email", 2, 2), ("email", "web", 1, 1)]
    check_all(store, "t", breakdowns=("channel",))


def test_event_log_attributes_break_down_alike(store, write):
    """An attribute column of the event log (kept beside the contract's): the funnel reads it from
    the winning entry's row, loop metrics from each customer's most used value, on both paths."""
    f = write("e.csv", "customer_id,timestamp,touchpoint,stage,channel,campaign\n"
                       "a,2025-01-01T09:00:00Z,ad,discover,web,spring\n"
                       "a,2025-01-01T10:00:00Z,product,consider,web,\n"
                       "a,2025-01-02T10:00:00Z,pricing,evaluate,email,spring\n"
                       "a,2025-01-03T10:00:00Z,product,consider,email,autumn\n"
                       "b,2025-01-01T09:00:00Z,ad,discover,web,autumn\n"
                       "b,2025-01-01T09:00:00Z,product,consider,store,autumn\n"
                       "c,2025-01-04T09:00:00Z,product,consider,web,\n")
    store.import_file(f, kind="interactions", dataset="t")
    steps = ["discover", "consider", "evaluate"]
    fast, slow = both(J.funnel, store, steps, field="stage", breakdown="campaign", dataset="t")
    same(fast, slow, "funnel by campaign")
    assert fast.filter(fast["step"] == 1)["count"].sum() == 2
    fast, slow = both(J.loop_metrics, store, by="campaign", dataset="t")
    same(fast, slow, "loops by campaign")
    assert sorted(fast["campaign"].to_list()) == ["(unknown)", "autumn", "spring"]


def test_kernels_match_ibis_on_the_demo(demo_db, tmp_path):
    s = cx.open(copy_demo(demo_db, tmp_path / "demo.duckdb"))
    try:
        s.build_event_store()
        ds = s.datasets()["name"][0]
        funnels = [(J.default_steps(s, dataset=ds), "touchpoint", "30d", "customer"),
                   (["discover", "consider", "evaluate", "purchase"], "stage", "30d", "customer"),
                   (["discover", "consider", "purchase"], "stage", "7d", "session")]
        check_all(s, ds, funnels=funnels, breakdowns=("channel", "persona", "direction"))
        check_all(s, ds, Filters(channels=("web",), persona=("Researcher",)), funnels=funnels[1:2], breakdowns=())
    finally:
        s.close()
