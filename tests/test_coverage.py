"""Data health (cx.coverage): column coverage and what each dataset supports, on files shaped
like real exports."""
import polars as pl

from cx import coverage

EVENT_LOG = """user_id,event_time,event,platform,acquisition_channel
u1,2025-01-06T09:00:00Z,page_view,desktop,ads
u1,2025-01-06T09:05:00Z,cart,desktop,ads
u1,2025-01-06T09:06:00Z,purchase,desktop,ads
u2,2025-01-07T10:00:00Z,page_view,mobile,organic
u2,2025-02-07T10:00:00Z,page_view,mobile,organic
"""


def test_an_event_log_without_revenue(store, write):
    store.import_file(write("events.csv", EVENT_LOG), dataset="log")
    cov = coverage.columns(store, dataset="log")
    by = {(r["table"], r["column"]): r for r in cov.iter_rows(named=True)}
    assert by[("interactions", "customer_id")]["role"] == "required" and by[("interactions", "customer_id")]["share"] == 1
    assert by[("interactions", "amount")]["filled"] == 0 and by[("interactions", "amount")]["role"] == "optional"
    assert by[("interactions", "channel")]["share"] == 1.0  # platform was mapped to channel
    cap = coverage.capabilities(store, dataset="log")
    ok = dict(zip(cap["figure"], cap["available"]))
    assert ok["Purchases, buyers, repeat-purchase rate"]  # the purchase event is a transaction
    assert not ok["Revenue and money value"] and not ok["NPS"] and not ok["Funnels per session"]
    needs = dict(zip(cap["figure"], cap["needs"]))
    assert needs["Revenue and money value"] == "an amount column (revenue on purchases)"
    assert needs["Funnels by touchpoint"] is None
    f = coverage.facts(store, dataset="log")
    assert (f.interactions, f.purchases, f.amounts, f.months, f.feedback) == (5, 1, 0, 2, 0)


def test_a_survey_export_without_customer_ids(store, write):
    store.import_file(write("e.csv", "customer_id,timestamp,touchpoint\na,2025-01-01,homepage\n"), dataset="s")
    store.import_file(write("survey.csv", "submitted_at,metric,score,comment\n2025-01-02,nps,9,great\n"
                            "2025-01-03,nps,3,slow\n2025-01-03,csat,4,\n"), kind="feedback", dataset="s")
    f = coverage.facts(store, dataset="s")
    assert f.metrics == (("csat", 1), ("nps", 2)) and f.comments == 2 and f.feedback_customers == 0
    cap = coverage.capabilities(store, dataset="s")
    ok = dict(zip(cap["figure"], cap["available"]))
    assert ok["NPS"] and ok["CSAT"] and not ok["CES"] and not ok["Key drivers"]
    cov = coverage.columns(store, dataset="s")
    fb = cov.filter(pl.col("table") == "feedback")
    assert dict(zip(fb["column"], fb["share"]))["comment"] == 2 / 3


def test_the_purchase_map_shows_which_touchpoints_are_purchases(store, write):
    store.import_file(write("events.csv", EVENT_LOG), dataset="log")
    m = coverage.purchase_map(store, dataset="log")
    rows = {r["touchpoint"]: r for r in m.iter_rows(named=True)}
    assert m["touchpoint"][0] == "page_view" and rows["page_view"]["rows"] == 3
    assert rows["purchase"]["purchase_touchpoint"] and rows["purchase"]["purchases"] == 1
    assert not rows["cart"]["purchase_touchpoint"] and rows["cart"]["purchases"] == 0  # a cart is not buying
    assert m["with_amount"].sum() == 0
    store.set_purchase_rules([("cart", True)], "log")  # the analyst says carts are orders, and purchase is not
    rows = {r["touchpoint"]: r for r in coverage.purchase_map(store, dataset="log").iter_rows(named=True)}
    assert rows["cart"]["purchases"] == 1 and rows["purchase"]["purchases"] == 0
