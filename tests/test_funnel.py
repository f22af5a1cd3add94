"""The ordered funnel: exact counts on hand-built files, agreement with a deliberately simple
reference implementation on random journeys, and the demo data."""
import random
import statistics
from datetime import date, datetime, timedelta

import polars as pl
import pytest

import cx
from cx import CXError, Filters
from cx.journey.funnel import funnel, dropoff_members, funnel_trend, parse_window, step_names

T0 = datetime(2025, 1, 6, 9, 0, 0)  # a Monday


def ts(**kw) -> str:
    return (T0 + timedelta(**kw)).strftime("%Y-%m-%dT%H:%M:%SZ")


def csv(rows, header="customer_id,timestamp,touchpoint,channel,session_id") -> str:
    return header + "\n" + "".join(",".join("" if v is None else str(v) for v in r) + "\n" for r in rows)


@pytest.fixture
def load(store, write):
    def _load(rows, header="customer_id,timestamp,touchpoint,channel,session_id", customers=None):
        store.import_file(write("e.csv", csv(rows, header)), kind="interactions", dataset="t")
        if customers:
            store.import_file(write("c.csv", customers), kind="customers", dataset="t")
        return store
    return _load


def counts(df) -> list[int]:
    return df["count"].to_list()


# -- exact cases ------------------------------------------------------------------------------
def test_window_is_inclusive_and_one_second_over_is_out(load):
    s = load([
        ("a", ts(), "ad", "web", None), ("a", ts(days=4), "product", "web", None),
        ("a", ts(days=30), "order", "web", None),                       # exactly entry + 30 days
        ("b", ts(), "ad", "web", None), ("b", ts(days=1), "product", "web", None),
        ("b", ts(days=30, seconds=1), "order", "web", None),            # one second over
    ])
    steps = ["ad", "product", "order"]
    assert counts(funnel(s, steps, window="30d", dataset="t")) == [2, 2, 1]
    assert counts(funnel(s, steps, window=timedelta(days=30), dataset="t")) == [2, 2, 1]
    assert counts(funnel(s, steps, window=timedelta(days=30, seconds=1), dataset="t")) == [2, 2, 2]
    assert counts(funnel(s, steps, window=None, dataset="t")) == [2, 2, 2]
    assert counts(funnel(s, steps, window="2d", dataset="t")) == [2, 1, 0]  # a's product is 4 days on
    df = funnel(s, steps, window="30d", dataset="t")
    assert df.columns == ["step", "name", "count", "conversion_from_previous", "conversion_from_first",
                          "median_time_from_previous", "p90_time_from_previous"]
    assert df["conversion_from_previous"].to_list() == [1.0, 1.0, 0.5]
    assert df["conversion_from_first"].to_list() == [1.0, 1.0, 0.5]
    # step 2: a after 4 days, b after 1 day; step 3: only a (26 days after its product)
    assert df["median_time_from_previous"].to_list() == [None, 2.5 * 86400, 26 * 86400]
    assert df["p90_time_from_previous"][1] == pytest.approx(86400 * (1 + 0.9 * 3))


def test_same_timestamp_keeps_file_order(load):
    s = load([
        ("c", ts(), "product", "web", None), ("c", ts(), "ad", "web", None),   # product first in the file
        ("d", ts(), "ad", "web", None), ("d", ts(), "product", "web", None),   # ad first in the file
        ("e", ts(hours=1), "product", "web", None), ("e", ts(), "ad", "web", None),  # time decides first
    ])
    df = funnel(s, ["ad", "product"], dataset="t")
    assert counts(df) == [3, 2]
    assert df["median_time_from_previous"][1] == pytest.approx(1800.0)  # d: 0 s, e: 3600 s


def test_a_later_entry_that_gets_further_wins_and_its_times_are_used(load):
    s = load([
        # f: the first entry stalls (its product is 2 days on, no order in the week); the second
        # entry reaches the order: it wins, and its times (1 day, 1 day) are the ones used
        ("f", ts(), "ad", "social", None), ("f", ts(days=2), "product", "web", None),
        ("f", ts(days=20), "ad", "email", None), ("f", ts(days=21), "product", "web", None),
        ("f", ts(days=22), "order", "web", None),
        # g: two entries reach the product only: the earliest one is used (2 hours, not 1)
        ("g", ts(), "ad", "web", None), ("g", ts(hours=1), "ad", "social", None),
        ("g", ts(hours=2), "product", "web", None),
    ])
    steps = ["ad", "product", "order"]
    df = funnel(s, steps, window="7d", dataset="t")
    assert counts(df) == [2, 2, 1]
    assert df["median_time_from_previous"].to_list() == [None, (86400 + 7200) / 2, 86400.0]
    # the channel of the winning entry
    by = funnel(s, steps, window="7d", breakdown="channel", dataset="t")
    assert by.filter(pl.col("step") == 1).select("channel", "count").rows() == [("email", 1), ("web", 1)]
    assert by.filter(pl.col("step") == 3).select("channel", "count").rows() == [("email", 1), ("web", 0)]
    # the trend counts a unit in the week of its winning entry
    tr = funnel_trend(s, steps, window="7d", period="week", dataset="t")
    assert tr.rows() == [(date(2025, 1, 6), 1, 0, 0.0), (date(2025, 1, 20), 1, 1, 1.0)]
    drop = dropoff_members(s, steps, 2, window="7d", dataset="t")
    assert drop.rows() == [("g", T0, T0 + timedelta(hours=2))]
    assert dropoff_members(s, steps, 1, window="7d", dataset="t").height == 0
    with pytest.raises(CXError):
        dropoff_members(s, steps, 3, window="7d", dataset="t")


def test_any_of_step(load):
    s = load([
        ("h", ts(), "ad", "web", None), ("h", ts(minutes=1), "product_b", "web", None),
        ("h", ts(minutes=2), "order", "web", None),
        ("i", ts(), "ad", "web", None), ("i", ts(minutes=1), "product_a", "web", None),
        ("i", ts(minutes=2), "product_b", "web", None), ("i", ts(minutes=9), "order", "web", None),
        ("j", ts(), "ad", "web", None), ("j", ts(minutes=1), "order", "web", None),  # skips the product
    ])
    steps = ["ad", ["product_a", "product_b"], "order"]
    df = funnel(s, steps, dataset="t")
    assert df["name"].to_list() == ["ad", "product_a | product_b", "order"]
    assert step_names(steps) == ["ad", "product_a | product_b", "order"]
    assert counts(df) == [3, 2, 2]
    assert df["median_time_from_previous"].to_list() == [None, 60.0, (60 + 480) / 2]
    assert counts(funnel(s, ["ad", "product_b", "order"], dataset="t")) == [3, 2, 2]
    assert counts(funnel(s, ["ad", "product_a", "order"], dataset="t")) == [3, 1, 1]


def test_sessions(load):
    s = load([
        ("k", ts(), "ad", "web", "S1"), ("k", ts(minutes=5), "product", "web", "S1"),
        ("k", ts(days=1), "product", "web", "S2"), ("k", ts(days=1, minutes=3), "order", "web", "S2"),
        ("k", ts(days=2), "ad", "web", "S3"), ("k", ts(days=2, minutes=1), "product", "web", "S3"),
        ("k", ts(days=2, minutes=4), "order", "web", "S3"),
        ("k", ts(days=3), "ad", "web", None),                 # no session: ignored per session
        ("m", ts(), "ad", "web", "S1"), ("m", ts(minutes=1), "order", "web", "S1"),  # same id, other customer
    ])
    steps = ["ad", "product", "order"]
    assert counts(funnel(s, steps, unit="session", dataset="t")) == [3, 2, 1]
    assert counts(funnel(s, steps, unit="customer", dataset="t")) == [2, 1, 1]
    drop = dropoff_members(s, steps, 2, unit="session", dataset="t")
    assert drop.columns == ["customer_id", "session_id", "entry_time", "last_step_time"]
    assert drop.rows() == [("k", "S1", T0, T0 + timedelta(minutes=5))]
    assert dropoff_members(s, steps, 1, unit="session", dataset="t").select("customer_id", "session_id").rows() \
        == [("m", "S1")]


def test_steps_out_of_order_only_count_after_an_entry(load):
    s = load([
        ("n", ts(), "order", "web", None), ("n", ts(hours=1), "product", "web", None),
        ("n", ts(hours=2), "ad", "web", None), ("n", ts(hours=3), "product", "web", None),
        ("o", ts(), "product", "web", None), ("o", ts(hours=1), "order", "web", None),  # never enters
    ])
    df = funnel(s, ["ad", "product", "order"], dataset="t")
    assert counts(df) == [1, 1, 0]
    assert df["median_time_from_previous"][1] == 3600.0
    assert df["conversion_from_previous"].to_list() == [1.0, 1.0, 0.0]


def test_stage_field_filters_and_breakdown_by_customer_column(load):
    rows = [
        ("p", ts(), "banner", "discover", "social"), ("p", ts(hours=1), "homepage", "consider", "web"),
        ("p", ts(hours=2), "order_placed", "purchase", "web"),
        ("q", ts(), "search_ad", "discover", "web"), ("q", ts(hours=1), "order_placed", "purchase", "web"),
        ("r", ts(), "banner", "discover", "social"), ("r", ts(hours=1), "homepage", "consider", "web"),
        ("s", ts(), "homepage", "consider", "web"),
    ]
    cust = "customer_id,persona,region,name\np,Researcher,North,P\nq,Researcher,South,Q\nr,Bargain hunter,,R\n"
    s = load(rows, header="customer_id,timestamp,touchpoint,stage,channel", customers=cust)
    steps = ["discover", "consider", "purchase"]
    assert counts(funnel(s, steps, field="stage", dataset="t")) == [3, 2, 1]
    assert counts(funnel(s, ["discover", "purchase"], field="stage", dataset="t")) == [3, 2]
    assert counts(funnel(s, steps, field="stage", filters=Filters(persona=("Researcher",)), dataset="t")) == [2, 1, 1]
    assert counts(funnel(s, steps, field="stage", filters=Filters(channels=("social",)), dataset="t")) == [2, 0, 0]
    by = funnel(s, steps, field="stage", breakdown="persona", dataset="t")
    assert by.columns[0] == "persona"
    assert by.select("persona", "count").rows() == [("Researcher", 2), ("Researcher", 1), ("Researcher", 1),
                                                    ("Bargain hunter", 1), ("Bargain hunter", 1),
                                                    ("Bargain hunter", 0)]
    by = funnel(s, steps, field="stage", breakdown="region", top=1, dataset="t")
    assert by.filter(pl.col("step") == 1).select("region", "count").rows() == [
        ("North", 1), ("Other", 1), ("(unknown)", 1)]
    by = funnel(s, steps, field="stage", breakdown="name", dataset="t")  # an extra column named like ours
    assert by.columns[:3] == ["by_name", "step", "name"] and by.height == 9
    with pytest.raises(CXError, match="not a stage"):
        funnel(s, ["discover", "checkout"], field="stage", dataset="t")
    with pytest.raises(CXError, match="break the funnel down"):
        funnel(s, steps, field="stage", breakdown="shoe_size", dataset="t")


def test_parameters():
    assert parse_window("30d") == timedelta(days=30)
    assert parse_window("12h") == timedelta(hours=12)
    assert parse_window("90m") == timedelta(minutes=90)
    assert parse_window("2w") == timedelta(weeks=2)
    assert parse_window(None) is None
    for bad in ("thirty days", "30", "-1d", 30):
        with pytest.raises(CXError):
            parse_window(bad)


def test_empty_result(load):
    s = load([("a", ts(), "ad", "web", None)])
    df = funnel(s, ["nothing", "ad"], dataset="t")
    assert counts(df) == [0, 0]
    assert df["conversion_from_previous"].to_list() == [None, None]
    assert funnel_trend(s, ["nothing", "ad"], dataset="t").height == 0


# -- agreement with a simple reference on random journeys -------------------------------------
def reference(events, steps, window, unit):
    """events: (customer, session, seconds, touchpoint, seq). Plain Python, entry by entry."""
    groups = [{s} if isinstance(s, str) else set(s) for s in steps]
    by_unit = {}
    for e in events:
        if unit == "session" and e[1] is None:
            continue
        by_unit.setdefault((e[0], e[1]) if unit == "session" else e[0], []).append(e)
    n = len(groups)
    reached, deltas = [0] * n, [[] for _ in range(n)]
    for evs in by_unit.values():
        evs.sort(key=lambda e: (e[2], e[4]))
        best = None
        for i, e in enumerate(evs):
            if e[3] not in groups[0]:
                continue
            times, cur = [e[2]], i
            for k in range(1, n):
                nxt = next((j for j in range(cur + 1, len(evs)) if evs[j][3] in groups[k]), None)
                if nxt is None or (window is not None and evs[nxt][2] - e[2] > window):
                    break
                times.append(evs[nxt][2])
                cur = nxt
            if best is None or len(times) > len(best):
                best = times
        if best is not None:
            for k in range(len(best)):
                reached[k] += 1
                if k:
                    deltas[k].append(float(best[k] - best[k - 1]))
    return reached, deltas


def quantile(xs, q):
    xs = sorted(xs)
    pos = (len(xs) - 1) * q
    lo = int(pos)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (pos - lo)


def test_agrees_with_a_simple_reference_on_random_journeys(store, write):
    rnd = random.Random(7)
    events, rows = [], []
    for c in range(300):
        for _ in range(rnd.randint(1, 14)):
            sec = rnd.randint(0, 40) * 600          # coarse times: many equal timestamps
            sess = rnd.choice(["S1", "S2", None])
            events.append([f"c{c:03d}", sess, sec, rnd.choice("abcde"), 0])
    rnd.shuffle(events)                             # file order differs from time order
    for i, e in enumerate(events):
        e[4] = i
        rows.append((e[0], ts(seconds=e[2]), e[3], "web", e[1]))
    store.import_file(write("r.csv", csv(rows)), kind="interactions", dataset="t")
    cases = [(["a", "b", "c"], None), (["a", "b", "c"], 3600), (["a", ["b", "c"], "d", "e"], 7200),
             (["a", "b", "a"], 6000), (["b", "b"], 0), (["c", "a", "d"], 24000), (["e"], None)]
    ours = {}
    for unit in ("customer", "session"):
        for steps, window in cases:
            got = funnel(store, steps, window=None if window is None else timedelta(seconds=window),
                         unit=unit, dataset="t")
            want, deltas = reference(events, steps, window, unit)
            assert got["count"].to_list() == want, (unit, steps, window)
            if unit == "customer":
                ours[str(steps), window] = want
            for k in range(1, len(steps)):
                if deltas[k]:
                    assert got["median_time_from_previous"][k] == pytest.approx(statistics.median(deltas[k]))
                    assert got["p90_time_from_previous"][k] == pytest.approx(quantile(deltas[k], 0.9))
                else:
                    assert got["median_time_from_previous"][k] is None
    # the benchmark's hand-written SQL baselines answer the same question: check them here too
    from bench.ops_funnel import sql_funnel, sql_funnel_minframe

    store.close()
    for steps, window in cases:
        w = None if window is None else timedelta(seconds=window)
        for sql in (sql_funnel, sql_funnel_minframe):
            got = sql(str(store.path), steps, field="touchpoint", window=w, dataset="t")["counts"]
            assert got == ours[str(steps), window], (sql.__name__, steps, window)


# -- demo data ---------------------------------------------------------------------------------
def test_demo_stage_funnel(demo):
    steps = ["discover", "consider", "evaluate", "purchase"]
    df = funnel(demo, steps, field="stage", dataset="demo")
    c = counts(df)
    assert c[0] > c[1] > c[2] > c[3] > 0
    t = (demo.table("interactions", "demo").select("customer_id", "timestamp", "_seq", "stage").to_polars()
         .sort(["customer_id", "timestamp", "_seq"]).with_row_index("pos"))

    def first_after(prev: pl.DataFrame, stage: str) -> pl.DataFrame:
        nxt = t.filter(pl.col("stage") == stage).join(prev, on="customer_id").filter(pl.col("pos") > pl.col("after"))
        return nxt.group_by("customer_id").agg(after=pl.col("pos").min())

    reach = t.filter(pl.col("stage") == "discover").group_by("customer_id").agg(after=pl.col("pos").min())
    want = [reach.height]
    for stage in steps[1:]:
        reach = first_after(reach, stage)
        want.append(reach.height)
    assert c == want
    # two steps: the buyers who had a discover event before their first purchase
    buyers = (t.filter(pl.col("stage") == "purchase").group_by("customer_id").agg(p=pl.col("pos").min())
              .join(t.filter(pl.col("stage") == "discover").group_by("customer_id").agg(d=pl.col("pos").min()),
                    on="customer_id").filter(pl.col("d") < pl.col("p")).height)
    assert counts(funnel(demo, ["discover", "purchase"], field="stage", dataset="demo"))[1] == buyers
    # a window only removes conversions; the breakdown blocks add up to the total
    w = counts(funnel(demo, steps, field="stage", window="30d", dataset="demo"))
    assert w[0] == c[0] and all(a <= b for a, b in zip(w, c))
    by = funnel(demo, steps, field="stage", window="30d", breakdown="persona", dataset="demo")
    assert by.group_by("step").agg(pl.col("count").sum()).sort("step")["count"].to_list() == w
    tr = funnel_trend(demo, steps, field="stage", window="30d", period="month", dataset="demo")
    assert tr["entries"].sum() == w[0] and tr["completed"].sum() == w[3]
    assert dropoff_members(demo, steps, 2, field="stage", window="30d", dataset="demo").height == w[1] - w[2]


def test_report_reads_one_evaluation_and_gives_the_same_numbers(demo):
    """funnel_report (what the page shows) = funnel, funnel with a breakdown, and funnel_trend."""
    from cx.journey import funnel_report

    steps = ["discover", "consider", "evaluate", "purchase"]
    kw = dict(field="stage", window="30d", dataset="demo")
    rep = funnel_report(demo, steps, breakdown="channel", period="week", **kw)
    assert rep["funnel"].equals(funnel(demo, steps, **kw))
    assert rep["by"].equals(funnel(demo, steps, breakdown="channel", **kw))
    assert rep["trend"].equals(funnel_trend(demo, steps, period="week", **kw))
    assert funnel_report(demo, steps, **kw)["by"] is None
    with pytest.raises(cx.CXError):
        funnel_report(demo, steps, period="year", **kw)


def test_breakdown_by_saved_segment(load):
    s = load([("a", ts(hours=0), "home", "web", None), ("a", ts(hours=1), "cart", "web", None),
              ("b", ts(hours=0), "home", "web", None), ("c", ts(hours=0), "home", "app", None),
              ("c", ts(hours=2), "cart", "app", None)])
    s.save_segment("VIP", ["a", "b"], dataset="t")
    s.save_segment("Apps", ["c", "a"], dataset="t")  # a is in both: counted in each
    df = funnel(s, ["home", "cart"], breakdown="segment", dataset="t")
    got = {(r["segment"], r["step"]): r["count"] for r in df.iter_rows(named=True)}
    assert got == {("VIP", 1): 2, ("VIP", 2): 1, ("Apps", 1): 2, ("Apps", 2): 2}
