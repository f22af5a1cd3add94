"""The leadership view: exact KPI cards, statuses, core elements and movers on a hand-built file."""
import polars as pl
import pytest

from cx import overview, profile

# three full months (1 Jan .. 31 Mar 2025): who is active and who buys is chosen by hand
EVENTS = """customer_id,timestamp,touchpoint,channel,amount
a,2025-01-01T09:00:00Z,homepage,web,
a,2025-01-10T09:00:00Z,order_placed,web,100
b,2025-01-20T09:00:00Z,homepage,store,
a,2025-02-03T09:00:00Z,homepage,web,
c,2025-02-10T09:00:00Z,order_placed,store,50
a,2025-03-05T09:00:00Z,order_placed,web,30
c,2025-03-06T09:00:00Z,order_placed,store,20
d,2025-03-31T18:00:00Z,homepage,app,
"""


@pytest.fixture
def tiny(store, write):
    store.import_file(write("e.csv", EVENTS), dataset="t")
    return store


def test_period_series_exact(tiny):
    s = overview.period_series(tiny, "month", dataset="t")
    assert [str(p) for p in s["period"]] == ["2025-01-01", "2025-02-01", "2025-03-01"]
    assert s["active_customers"].to_list() == [2, 2, 3]
    assert s["revenue"].to_list() == [100, 50, 50]
    # retention: Feb keeps a of {a, b} (50%); Mar keeps a and c of {a, c} (100%); Jan has no previous
    assert s["retention"].to_list() == [None, 50.0, 100.0]
    # repeat buyers: Feb's only buyer (c) is new; in Mar both buyers bought before
    assert s["repeat_rate"].to_list() == [0.0, 0.0, 100.0]
    assert "nps" not in s.columns  # no feedback table


def test_scorecard_cards_status_and_needs(tiny):
    sc = overview.scorecard(tiny, "month", dataset="t")
    by = {r["key"]: r for r in sc.iter_rows(named=True)}
    assert (by["active_customers"]["value"], by["active_customers"]["previous"]) == (3, 2)
    assert by["active_customers"]["delta"] == 1 and by["active_customers"]["status"] == "improving"
    assert by["revenue"]["delta"] == 0 and by["revenue"]["status"] == "steady"
    assert by["retention"]["value"] == 100 and by["retention"]["status"] == "improving"
    assert by["active_customers"]["spark"] == [2, 2, 3]
    assert str(by["revenue"]["period"]) == "2025-03-01"
    for k in ("nps", "csat", "ces"):
        assert by[k]["value"] is None and "feedback" in by[k]["needs"]
    assert overview.fmt_delta("pct", 50.0) == "+50 pts" and overview.fmt_delta("money", -2500) == "-2.5k"


def test_a_partial_last_month_is_not_compared(store, write):
    store.import_file(write("e.csv", EVENTS + "d,2025-04-02T10:00:00Z,homepage,app,\n"), dataset="t")
    s = overview.period_series(store, "month", dataset="t")
    assert str(s["period"][-1]) == "2025-03-01"  # April has two days of data: left out


def test_core_elements(tiny):
    el = overview.core_elements(overview.scorecard(tiny, "month", dataset="t"))
    st = dict(zip(el["element"], el["status"]))
    assert st == {"Engagement": "improving", "Success": "unknown", "Life cycle": "improving",
                  "Loyalty": "improving"}
    assert "Active customers up (2 → 3)" in el.filter(pl.col("element") == "Engagement")["sentence"][0]


def test_movers_in_words(tiny):
    mv = overview.movers(tiny, "month", dataset="t")
    top = mv.row(0, named=True)
    # revenue: web 0 -> 30 and store 50 -> 20 (total 50): store's -30 and web's +30 are the largest moves
    assert (top["metric"], top["dimension"]) == ("revenue", "channel") and abs(top["change"]) == 30
    assert any(s == "Active customers with channel app rose by 1 (0 → 1) in March 2025." for s in mv["sentence"])


def test_purchase_activity(tiny):
    pa = profile.purchase_activity(tiny, dataset="t", period="month")
    assert pa["buyers"].to_list() == [1, 1, 2] and pa["repeat_buyers"].to_list() == [0, 0, 2]
