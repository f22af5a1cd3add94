"""Life cycle: exact numbers on a hand-built dataset, and the demo data's structure and effects."""
from datetime import date

import polars as pl
import pytest

import cx
from cx import Filters, lifecycle

# a: active Jan, Feb, Apr (purchase in Apr); b: active Jan (purchase), only a newsletter in Mar
# (outbound: not activity), active Apr; c: active Feb and Mar; d: only outbound (never active).
# The data runs from Fri 10 Jan to Sun 20 Apr 2025: January and April are partial months.
EVENTS = """customer_id,timestamp,touchpoint,channel,direction,amount
a,2025-01-10T09:00:00Z,homepage,web,inbound,
a,2025-02-05T09:00:00Z,pricing_page,web,,
a,2025-04-02T09:00:00Z,order_placed,web,inbound,50
b,2025-01-20T09:00:00Z,store_purchase,store,inbound,30
b,2025-03-15T09:00:00Z,newsletter,email,outbound,
b,2025-04-20T09:00:00Z,store_visit,store,inbound,
c,2025-02-10T09:00:00Z,homepage,mobile_app,inbound,
c,2025-03-03T09:00:00Z,homepage,mobile_app,inbound,
d,2025-03-01T09:00:00Z,newsletter,email,outbound,
"""
CUSTOMERS = "customer_id,persona\na,X\nb,Y\nc,X\nd,Y\n"
JAN, FEB, MAR, APR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)


@pytest.fixture
def tiny(store, write):
    store.import_file(write("e.csv", EVENTS), dataset="t")
    store.import_file(write("c.csv", CUSTOMERS), dataset="t")
    return store


def test_retention_matrix_by_month_of_first_activity(tiny):
    m = lifecycle.retention(tiny, dataset="t")
    assert m.columns == ["cohort", "period_index", "period", "cohort_size", "active", "share", "complete"]
    assert m.rows() == [
        (JAN, 0, JAN, 2, 2, 1.0, True), (JAN, 1, FEB, 2, 1, 0.5, True), (JAN, 2, MAR, 2, 0, 0.0, True),
        (JAN, 3, APR, 2, 2, 1.0, False),  # April is partial: the data stops on the 20th
        (FEB, 0, FEB, 1, 1, 1.0, True), (FEB, 1, MAR, 1, 1, 1.0, True), (FEB, 2, APR, 1, 0, 0.0, False)]


def test_retention_curve_pools_complete_cells_only(tiny):
    c = lifecycle.retention_curve(tiny, dataset="t")
    assert c.rows() == [(0, 2, 3, 3, 1.0), (1, 2, 3, 2, pytest.approx(2 / 3)), (2, 1, 2, 0, 0.0)]


def test_purchase_cohorts(tiny):
    m = lifecycle.retention(tiny, cohort_by="purchase", dataset="t")
    assert m.select("cohort", "period_index", "cohort_size", "active").rows() == [
        (JAN, 0, 1, 1), (JAN, 1, 1, 0), (JAN, 2, 1, 0), (JAN, 3, 1, 1), (APR, 0, 1, 1)]
    m = lifecycle.retention(tiny, cohort_by="purchase", active_by="purchase", dataset="t")
    assert m.filter(pl.col("cohort") == JAN)["active"].to_list() == [1, 0, 0, 0]


def test_weekly_cohorts(tiny):
    m = lifecycle.retention(tiny, period="week", dataset="t")
    cohorts = m.filter(pl.col("period_index") == 0).select("cohort", "cohort_size").rows()
    # weeks start on Monday: Fri 10 Jan -> 6 Jan; Mon 20 Jan -> 20 Jan; Mon 10 Feb -> 10 Feb
    assert cohorts == [(date(2025, 1, 6), 1), (date(2025, 1, 20), 1), (date(2025, 2, 10), 1)]
    a = m.filter(pl.col("cohort") == date(2025, 1, 6))
    assert a.filter(pl.col("active") == 1)["period_index"].to_list() == [0, 4, 12]  # 10 Jan, 5 Feb, 2 Apr
    last = m.filter(pl.col("period") == date(2025, 4, 14))
    assert last["complete"].to_list() == [True] * last.height  # the week ending Sun 20 Apr is whole


def test_breakdowns(tiny):
    m = lifecycle.retention(tiny, breakdown="persona", dataset="t")
    assert m.filter(pl.col("period_index") == 1).select("group", "cohort", "cohort_size", "active").rows() == [
        ("X", JAN, 1, 1), ("X", FEB, 1, 1), ("Y", JAN, 1, 0)]
    m = lifecycle.retention(tiny, breakdown="first_channel", dataset="t")
    sizes = m.filter(pl.col("period_index") == 0).select("group", "cohort", "cohort_size").rows()
    assert sizes == [("mobile_app", FEB, 1), ("store", JAN, 1), ("web", JAN, 1)]
    c = lifecycle.retention_curve(tiny, breakdown="persona", dataset="t")
    assert c.filter(pl.col("period_index") == 1).select("group", "customers", "active").rows() == [
        ("X", 2, 2), ("Y", 1, 0)]
    with pytest.raises(cx.CXError, match="Cannot break"):
        lifecycle.retention(tiny, breakdown="nope", dataset="t")
    assert lifecycle.breakdown_options(tiny, "t")[:2] == ("first_channel", "persona")


def test_segment_breakdown(tiny):
    assert "segment" not in lifecycle.breakdown_options(tiny, "t")
    with pytest.raises(cx.CXError, match="saved segment"):
        lifecycle.retention(tiny, breakdown="segment", dataset="t")
    tiny.save_segment("S1", ["a", "c"], dataset="t")
    tiny.save_segment("S2", ["a", "d"], dataset="t")  # a is in both: counted in each; d is never active
    assert lifecycle.breakdown_options(tiny, "t")[-1] == "segment"
    m = lifecycle.retention(tiny, breakdown="segment", dataset="t")
    assert m.filter(pl.col("period_index") == 1).select("group", "cohort", "cohort_size", "active").rows() == [
        ("(no segment)", JAN, 1, 0), ("S1", JAN, 1, 1), ("S1", FEB, 1, 1), ("S2", JAN, 1, 1)]
    c = lifecycle.retention_curve(tiny, breakdown="segment", dataset="t")
    assert c.filter(pl.col("period_index") == 1).select("group", "customers", "active").rows() == [
        ("(no segment)", 1, 0), ("S1", 2, 2), ("S2", 1, 1)]
    got = lifecycle.cohort_members(tiny, FEB, 0, breakdown="segment", group="S1", dataset="t")
    assert got["customer_id"].to_list() == ["c"]
    # the global filter "in segment S1" and the breakdown together: only S1's members remain
    got = lifecycle.retention(tiny, breakdown="segment", filters=Filters(segment="S1"), dataset="t")
    assert got.filter(pl.col("period_index") == 0).select("group", "cohort", "cohort_size").rows() == [
        ("S1", JAN, 1), ("S1", FEB, 1), ("S2", JAN, 1)]


def test_cohort_members(tiny):
    got = lifecycle.cohort_members(tiny, JAN, 1, dataset="t")
    assert got["customer_id"].to_list() == ["a"] and got["active_periods"].to_list() == [3]
    assert lifecycle.cohort_members(tiny, JAN, 1, active=False, dataset="t")["customer_id"].to_list() == ["b"]
    assert lifecycle.cohort_members(tiny, JAN, 3, dataset="t")["customer_id"].to_list() == ["a", "b"]
    got = lifecycle.cohort_members(tiny, JAN, 0, breakdown="persona", group="Y", dataset="t")
    assert got["customer_id"].to_list() == ["b"]


def test_lifecycle_states_per_month(tiny):
    lc = lifecycle.lifecycle(tiny, dataset="t")
    assert lc.columns == ["period", "new", "returning", "resurrecting", "dormant", "active", "net", "partial"]
    assert lc.rows() == [(JAN, 2, 0, 0, 0, 2, 2, True), (FEB, 1, 1, 0, 1, 2, 0, False),
                         (MAR, 0, 1, 0, 1, 1, -1, False), (APR, 0, 0, 2, 1, 2, 1, True)]
    assert lifecycle.lifecycle_members(tiny, APR, "resurrecting", dataset="t")["customer_id"].to_list() == ["a", "b"]
    assert lifecycle.lifecycle_members(tiny, MAR, "dormant", dataset="t")["customer_id"].to_list() == ["a"]
    assert lifecycle.lifecycle_members(tiny, APR, "dormant", dataset="t")["customer_id"].to_list() == ["c"]
    with pytest.raises(cx.CXError):
        lifecycle.lifecycle_members(tiny, APR, "asleep", dataset="t")


def test_lifecycle_with_filters(tiny):
    lc = lifecycle.lifecycle(tiny, filters=Filters(persona=("X",)), dataset="t")
    assert lc.select("period", "new", "returning", "resurrecting", "dormant").rows() == [
        (JAN, 1, 0, 0, 0), (FEB, 1, 1, 0, 0), (MAR, 0, 1, 0, 1), (APR, 0, 0, 1, 1)]
    # from 1 Feb on, a and c are new in February; b's first activity in range is April
    lc = lifecycle.lifecycle(tiny, filters=Filters(start=date(2025, 2, 1)), dataset="t")
    assert lc.select("period", "new", "returning", "resurrecting", "dormant").rows() == [
        (FEB, 2, 0, 0, 0), (MAR, 0, 1, 0, 1), (APR, 1, 0, 1, 1)]


def test_bad_arguments_and_missing_purchases(store, write):
    store.import_file(write("e.csv", "customer_id,timestamp,touchpoint\na,2025-01-01,x\n"), dataset="t")
    with pytest.raises(cx.CXError, match="period"):
        lifecycle.retention(store, period="year", dataset="t")
    with pytest.raises(cx.CXError, match="purchases"):
        lifecycle.retention(store, cohort_by="purchase", dataset="t")
    assert lifecycle.retention(store, dataset="t").rows() == [(JAN, 0, JAN, 1, 1, 1.0, False)]


# ----------------------------------------------------------------------------- the demo data
def test_demo_retention_is_consistent_and_personas_differ(demo):
    m = lifecycle.retention(demo, dataset="demo")
    k0 = m.filter(pl.col("period_index") == 0)
    assert (k0["share"] == 1.0).all()
    assert k0["cohort_size"].sum() == 5000  # every demo customer is active at least once
    c = lifecycle.retention_curve(demo, dataset="demo")
    assert c["share"][1] < 0.8 and c["share"].head(12).is_sorted(descending=True)
    # planted: loyal regulars keep coming back, window shoppers drift away
    by = lifecycle.retention_curve(demo, breakdown="persona", dataset="demo").filter(pl.col("period_index") == 6)
    share = dict(zip(by["group"], by["share"]))
    assert share["Loyal Regular"] == max(share.values()) and share["Window Shopper"] == min(share.values())
    assert share["Loyal Regular"] > 1.8 * share["Window Shopper"]


def test_demo_lifecycle_accounting(demo):
    lc = lifecycle.lifecycle(demo, dataset="demo")
    assert lc["new"].sum() == 5000
    # the growth accounting identity: active(p) - active(p-1) = new + resurrecting - dormant
    assert (lc["active"].diff().drop_nulls() == lc["net"].tail(lc.height - 1)).all()
    m = lifecycle.retention(demo, dataset="demo")
    per = m.group_by("period").agg(pl.col("active").sum()).sort("period")
    assert per["active"].to_list() == lc["active"].to_list()
