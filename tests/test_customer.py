"""Customer 360 data functions: exact on a hand-built dataset."""
import polars as pl
import pytest

import cx
from cx import customer as cu

EVENTS = """customer_id,timestamp,touchpoint,stage,channel,direction,amount,incident
a,2025-01-06T09:00:00Z,social_ad,discover,social,outbound,,
a,2025-01-06T09:05:00Z,homepage,consider,web,inbound,,
a,2025-01-07T10:00:00Z,order_placed,purchase,web,inbound,100,
a,2025-01-07T10:00:00Z,delivery,use,,,,true
a,2025-01-20T10:00:00Z,refund_issued,,store,,-40,
b,2025-01-08T08:00:00Z,homepage,consider,web,,,
ab,2025-01-09T08:00:00Z,homepage,consider,web,,,
"""
FEEDBACK = """customer_id,timestamp,metric,score,comment
a,2025-01-08T09:00:00Z,nps,3,=HYPERLINK("x") late again
a,2025-01-21T09:00:00Z,nps,6,better
a,2025-01-22T09:00:00Z,csat,4,
b,2025-01-09T09:00:00Z,nps,10,great
"""
CUSTOMERS = "customer_id,persona,region\na,Researcher,North\nb,Bargain hunter,South\n"


@pytest.fixture
def tiny(store, write):
    store.import_file(write("e.csv", EVENTS), dataset="t")
    store.import_file(write("f.csv", FEEDBACK), kind="feedback", dataset="t")
    store.import_file(write("c.csv", CUSTOMERS), dataset="t")
    return store


def test_search(tiny):
    s = cu.search(tiny, "A", dataset="t")
    assert s["customer_id"].to_list() == ["a", "ab"]  # case-insensitive contains, most active first
    assert s["touchpoints"].to_list() == [5, 1]
    assert cu.search(tiny, "", limit=2, dataset="t")["customer_id"].to_list() == ["a", "ab"]
    assert cu.search(tiny, "zzz", dataset="t").height == 0


def test_timeline_kinds_and_order(tiny):
    tl = cu.timeline(tiny, "a", dataset="t")
    assert tl["touchpoint"].to_list() == ["social_ad", "homepage", "order_placed", "delivery", "refund_issued"]
    assert tl["kind"].to_list() == ["touchpoint", "touchpoint", "purchase", "incident", "refund"]
    assert tl["channel"][3] == "(unknown)"
    assert tl["stage"][4] in ("(no stage)", "purchase", "use", "evaluate")  # derived or unknown, never null
    with pytest.raises(cx.CXError, match="No customer"):
        cu.timeline(tiny, "nobody", dataset="t")
    assert cu.exists(tiny, "a", dataset="t") and not cu.exists(tiny, "nobody", dataset="t")


def test_profile_and_feedback(tiny):
    p = cu.profile(tiny, "a", dataset="t")
    assert (p["touchpoints"], p["purchases"], p["revenue"], p["incidents"], p["channels"]) == (5, 1, 60.0, 1, 3)
    assert p["attributes"]["persona"] == "Researcher" and p["attributes"]["region"] == "North"
    assert p["nps"]["score"] == 6  # the latest NPS answer
    fb = cu.feedback(tiny, "a", dataset="t")
    assert fb["metric"].to_list() == ["csat", "nps", "nps"]  # newest first
    assert cu.profile(tiny, "ab", dataset="t")["attributes"] == {}


def test_without_optional_tables(store, write):
    store.import_file(write("e.csv", "customer_id,timestamp,touchpoint\nx,2025-01-01,visit\n"), dataset="m")
    p = cu.profile(store, "x", dataset="m")
    assert p["nps"] is None and p["attributes"] == {} and not p.get("purchases")
    tl = cu.timeline(store, "x", dataset="m")
    assert tl["kind"].to_list() == ["touchpoint"]
    assert cu.feedback(store, "x", dataset="m").height == 0


def test_timeline_chart_marks_purchases_incidents_and_feedback(tiny):
    from cx.charts.value import customer_timeline

    fig = customer_timeline(cu.timeline(tiny, "a", dataset="t"), cu.feedback(tiny, "a", dataset="t"))
    assert fig.layout.title.text == "Every touchpoint, by channel"
    names = [d.name for d in fig.data]
    assert "feedback" in names and "purchase" in names
    symbols = [s for d in fig.data if d.name != "feedback" for s in d.marker.symbol]
    assert "diamond" in symbols and "x" in symbols and "diamond-open" in symbols
    assert sum(len(d.x) for d in fig.data if d.name != "feedback") == 5
    assert pl.Series(fig.data[-1].x).len() == 3
