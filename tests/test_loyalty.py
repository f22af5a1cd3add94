"""Loyalty and trust: exact numbers on a hand-built dataset, Johnson's weights on a hand-computed
example, and the planted effects of the demo data."""
from datetime import datetime

import numpy as np
import polars as pl
import pytest

import cx
from cx import Filters, loyalty as L

EVENTS = """customer_id,timestamp,touchpoint,stage,channel,direction,department,employee_id,amount,value_given,incident
a,2025-01-01T09:00:00Z,homepage,discover,web,inbound,,,,,false
a,2025-01-02T10:00:00Z,order_placed,purchase,web,inbound,,,50,,false
a,2025-01-05T10:00:00Z,delivery,use,web,outbound,logistics,,,,true
a,2025-01-06T10:00:00Z,support_call,use,phone,inbound,support,,,,false
a,2025-01-06T10:30:00Z,support_reply,use,phone,outbound,support,,,,false
a,2025-05-01T10:00:00Z,newsletter,discover,email,outbound,marketing,,,content,false
a,2025-06-01T10:00:00Z,order_placed,purchase,mobile_app,inbound,,E9,30,,false
b,2025-01-20T10:00:00Z,social_ad,discover,social,inbound,,,,,false
b,2025-01-21T10:00:00Z,order_placed,purchase,web,inbound,,,20,,false
b,2025-01-25T10:00:00Z,delivery,use,web,outbound,logistics,,,,false
b,2025-02-01T09:00:00Z,billing_question,use,email,inbound,billing,,,,true
b,2025-03-01T10:00:00Z,homepage,discover,web,inbound,,,,,false
c,2025-02-26T10:00:00Z,order_placed,purchase,store,inbound,store,,80,,false
c,2025-03-01T10:00:00Z,delivery,use,store,outbound,logistics,,,,true
c,2025-12-31T10:00:00Z,feature_usage,use,web,inbound,,,,,false
d,2025-01-01T08:00:00Z,homepage,discover,web,inbound,,,,,false
d,2025-01-10T10:00:00Z,order_placed,purchase,web,inbound,,,40,,false
d,2025-01-12T10:00:00Z,delivery,use,web,outbound,logistics,,,,false
d,2025-04-15T10:00:00Z,support_chat,use,chat,inbound,support,,,,false
d,2025-04-15T12:00:00Z,support_reply,use,chat,outbound,support,,,,false
"""
CUSTOMERS = """customer_id,persona,first_seen
a,P1,2024-01-01T00:00:00Z
b,P2,2024-12-01T00:00:00Z
c,P1,2022-01-01T00:00:00Z
d,P2,2025-01-01T00:00:00Z
"""
FEEDBACK = """customer_id,timestamp,metric,score,touchpoint,channel,solicited
a,2025-01-10T10:00:00Z,nps,10,,email,true
d,2025-01-20T10:00:00Z,nps,8,,email,true
b,2025-02-15T10:00:00Z,nps,9,,email,true
c,2025-02-20T10:00:00Z,nps,3,,email,true
d,2025-04-20T10:00:00Z,nps,10,,email,true
a,2025-06-10T10:00:00Z,nps,6,,email,true
a,2025-01-05T12:00:00Z,csat,2,delivery,web,true
a,2025-01-03T10:00:00Z,csat,5,order_placed,web,true
a,2025-01-06T11:00:00Z,csat,4,support_call,phone,true
a,2025-06-02T10:00:00Z,csat,2,order_placed,mobile_app,true
b,2025-01-26T10:00:00Z,csat,1,delivery,web,true
c,2025-03-02T10:00:00Z,csat,4,delivery,store,true
c,2025-02-25T10:00:00Z,csat,5,support_call,phone,true
d,2025-01-13T10:00:00Z,csat,3,delivery,web,true
d,2025-01-11T10:00:00Z,csat,4,order_placed,web,true
a,2025-01-06T11:00:00Z,ces,6,support_call,phone,true
b,2025-01-21T11:00:00Z,ces,2,checkout,web,true
c,2025-02-26T11:00:00Z,ces,5,checkout,web,true
a,2025-01-01T10:00:00Z,trust,3,,email,true
a,2025-02-01T10:00:00Z,trust,5,,email,true
b,2025-02-01T10:00:00Z,trust,2,,email,true
c,2025-03-01T10:00:00Z,trust,4.6,,email,true
b,2025-02-02T10:00:00Z,rating,1,billing_question,social,false
d,2025-04-16T10:00:00Z,rating,5,support_chat,web,false
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The hand-built dataset, imported once for the module (the tests only read it)."""
    d = tmp_path_factory.mktemp("loyalty")
    s = cx.open(d / "cx.duckdb")
    for name, kind, text in (("e.csv", "interactions", EVENTS), ("c.csv", "customers", CUSTOMERS),
                             ("f.csv", "feedback", FEEDBACK)):
        (d / name).write_text(text)
        s.import_file(d / name, kind=kind, dataset="t")
    yield s
    s.close()


def rows(df, *cols):
    return [tuple(round(v, 4) if isinstance(v, float) else v for v in r) for r in df.select(cols).rows()]


# -- scores ---------------------------------------------------------------------------------------

def test_nps_csat_ces_values(tiny):
    o = {r["metric"]: r for r in L.score_overview(tiny, None, "t").iter_rows(named=True)}
    # NPS answers 10, 8, 9, 3, 10, 6: promoters 3, detractors 2 of 6 -> (3 - 2) / 6
    assert o["nps"]["n"] == 6 and o["nps"]["value"] == pytest.approx(100 / 6)
    assert (o["nps"]["share_good"], o["nps"]["share_bad"]) == pytest.approx((0.5, 1 / 3))
    assert o["nps"]["mean_score"] == pytest.approx(46 / 6) and o["nps"]["low_n"]
    # CSAT 2,5,4,2,1,4,5,3,4: top-2-box 5 of 9
    assert o["csat"]["n"] == 9 and o["csat"]["value"] == pytest.approx(500 / 9)
    assert o["csat"]["share_bad"] == pytest.approx(3 / 9) and o["csat"]["mean_score"] == pytest.approx(30 / 9)
    # CES 6, 2, 5: mean 13/3, easy (5-7) 2 of 3, hard (1-3) 1 of 3
    assert (o["ces"]["n"], o["ces"]["value"], o["ces"]["share_good"], o["ces"]["share_bad"]) == \
        pytest.approx((3, 13 / 3, 2 / 3, 1 / 3))


def test_breakdowns_by_touchpoint_persona_and_linked_stage(tiny):
    df = L.score_summary(tiny, "csat", by="touchpoint", dataset="t")
    assert rows(df, "group", "n", "value", "mean_score") == [
        ("delivery", 4, 25.0, 2.5), ("order_placed", 3, 66.6667, 3.6667), ("support_call", 2, 100.0, 4.5)]
    assert df["low_n"].all()
    df = L.score_summary(tiny, "nps", by="persona", dataset="t")
    # P1 = a, c: 10, 6, 3 -> (1 - 2) / 3; P2 = b, d: 9, 8, 10 -> (2 - 0) / 3
    assert rows(df.sort("group"), "group", "n", "value") == [("P1", 3, -33.3333), ("P2", 3, 66.6667)]
    # stage of the interaction each answer rates (same customer + touchpoint, latest at or before it);
    # c rated a support call it never had: not linked
    df = L.score_summary(tiny, "csat", by="stage", dataset="t")
    assert rows(df, "group", "n", "value") == [("use", 5, 40.0), ("purchase", 3, 66.6667), ("(not linked)", 1, 100.0)]
    # a's second order (employee E9, 1 June) is the one rated 2 on 2 June; the first rating links to 2 Jan
    df = L.score_summary(tiny, "csat", by="employee_id", dataset="t")
    assert rows(df, "group", "n", "value") == [("(unknown)", 7, 57.1429), ("(not linked)", 1, 100.0), ("E9", 1, 0.0)]
    df = L.score_summary(tiny, "csat", by="department", dataset="t")
    assert dict(rows(df, "group", "n")) == {"logistics": 4, "(unknown)": 3, "support": 1, "(not linked)": 1}
    assert rows(df.filter(pl.col("group") == "logistics"), "n", "value") == [(4, 25.0)]
    with pytest.raises(cx.CXError):
        L.score_summary(tiny, "csat", by="nonexistent", dataset="t")


def test_breakdown_by_saved_segment(tmp_path):
    """'segment' is a breakdown once the dataset has saved segments: a customer in two segments counts in
    both, one in none in "(no segment)"."""
    s = cx.open(tmp_path / "cx.duckdb")
    for name, kind, text in (("e.csv", "interactions", EVENTS), ("f.csv", "feedback", FEEDBACK)):
        (tmp_path / name).write_text(text)
        s.import_file(tmp_path / name, kind=kind, dataset="t")
    assert "segment" not in L.breakdown_options(s, "t")
    s.save_segment("S1", ["a", "b"], "t")
    s.save_segment("S2", ["b", "c"], "t")
    assert L.breakdown_options(s, "t")[-1] == "segment"
    df = L.score_summary(s, "nps", by="segment", dataset="t")
    # S1 = a, b: 10, 6, 9 -> (2 - 1) / 3; S2 = b, c: 9, 3 -> 0; d (8, 10) in none -> 1 / 2
    assert rows(df, "group", "n", "value") == [("S1", 3, 33.3333), ("(no segment)", 2, 50.0), ("S2", 2, 0.0)]
    m = L.score_members(s, "nps", "segment", "S2", dataset="t")
    assert m["customer_id"].to_list() == ["c", "b"]
    s.close()


def test_trend_distribution_solicited_and_members(tiny):
    df = L.score_trend(tiny, "nps", period="month", dataset="t")
    assert rows(df, "n", "value") == [(2, 50.0), (2, 0.0), (1, 100.0), (1, -100.0)]
    assert [d.month for d in df["period"]] == [1, 2, 4, 6]
    d = L.score_distribution(tiny, "nps", dataset="t")
    assert rows(d, "score", "n", "category") == [(3.0, 1, "detractor"), (6.0, 1, "detractor"), (8.0, 1, "passive"),
                                                 (9.0, 1, "promoter"), (10.0, 2, "promoter")]
    assert d["share"].sum() == pytest.approx(1.0)
    s = L.solicited_split(tiny, dataset="t")
    assert rows(s, "metric", "kind", "n", "value") == [("ces", "solicited", 3, 4.3333), ("csat", "solicited", 9, 55.5556),
                                                       ("nps", "solicited", 6, 16.6667), ("rating", "unsolicited", 2, 50.0)]
    m = L.score_members(tiny, "csat", "touchpoint", "delivery", dataset="t")
    assert rows(m, "customer_id", "answers", "mean_score") == [("b", 1, 1.0), ("a", 1, 2.0), ("d", 1, 3.0), ("c", 1, 4.0)]
    # filters apply to the answers: only January
    o = L.score_overview(tiny, Filters(start=datetime(2025, 1, 1).date(), end=datetime(2025, 1, 31).date()), "t")
    assert o.filter(pl.col("metric") == "nps")["value"][0] == pytest.approx(50.0)


def test_missing_feedback_table_is_a_clear_message(store, write):
    store.import_file(write("e.csv", EVENTS), kind="interactions", dataset="t")
    with pytest.raises(cx.CXError, match="feedback"):
        L.score_summary(store, "nps", dataset="t")
    with pytest.raises(cx.CXError, match="trust"):
        L.trust_levels(store, dataset="t")


# -- key drivers ------------------------------------------------------------------------------------

def test_relative_weights_hand_computed():
    # r12 = 0.8, r1y = 0.8, r2y = 0.3 (deviations -2..2, sums of squares 10). Λ = R^½ = [[2,1],[1,2]]/√5,
    # β = Λ⁻¹ r = √5/3·(1.3, -0.2); ε1 = .8·β1² + .2·β2² = 6.8/9, ε2 = .2·β1² + .8·β2² = 1.85/9;
    # R² = r'R⁻¹r = 0.346/0.36
    X = np.array([[1, 2], [2, 1], [3, 4], [4, 3], [5, 5]], float)
    y = np.array([1, 3, 2, 5, 4], float)
    w, r2 = L.relative_weights(X, y)
    assert w == pytest.approx([6.8 / 9, 1.85 / 9])
    assert r2 == pytest.approx(0.346 / 0.36) and w.sum() == pytest.approx(r2)
    # uncorrelated predictors: the weights are the squared correlations
    X = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], float)
    y = np.array([3, 1, 0, -2], float)
    w, r2 = L.relative_weights(X, y)
    r = [np.corrcoef(X[:, j], y)[0, 1] for j in range(2)]
    assert w == pytest.approx(np.square(r)) and r2 == pytest.approx(1.0)


def test_key_drivers_end_to_end(store, write):
    # 40 customers repeating the hand-computed pattern: delivery = (X1 + 1) / 2 as the mean of two
    # answers, support_call = X2, NPS = 2y; 3 customers also rate phone_order (too few: left out)
    X1_pairs = [(1, 1), (1, 2), (2, 2), (2, 3), (3, 3)]
    X2, Y = [2, 1, 4, 3, 5], [1, 3, 2, 5, 4]
    ev, fb = ["customer_id,timestamp,touchpoint"], ["customer_id,timestamp,metric,score,touchpoint"]
    for k in range(40):
        i, c = k % 5, f"k{k:02d}"
        ev.append(f"{c},2025-01-01T00:00:00Z,homepage")
        fb += [f"{c},2025-01-02T00:00:00Z,csat,{X1_pairs[i][0]},delivery",
               f"{c},2025-01-03T00:00:00Z,csat,{X1_pairs[i][1]},delivery",
               f"{c},2025-01-04T00:00:00Z,csat,{X2[i]},support_call",
               f"{c},2025-01-05T00:00:00Z,nps,0,", f"{c},2025-01-06T00:00:00Z,nps,{2 * Y[i]},"]
        if k < 3:
            fb.append(f"{c},2025-01-04T00:00:00Z,csat,5,phone_order")
    store.import_file(write("e.csv", "\n".join(ev) + "\n"), kind="interactions", dataset="t")
    store.import_file(write("f.csv", "\n".join(fb) + "\n"), kind="feedback", dataset="t")
    r = L.key_drivers(store, outcome="nps", dataset="t")
    d, s = r["drivers"], r["summary"].row(0, named=True)
    assert rows(d, "touchpoint", "importance", "performance", "customers", "quadrant", "negative_rank") == [
        ("delivery", round(6.8 / 9, 4), 2.0, 40, "Fix first", 1), ("support_call", round(1.85 / 9, 4), 3.0, 40, "Maintain", None)]
    assert d["importance_share"].sum() == pytest.approx(1.0)
    assert (s["customers"], s["predictors"], s["imputed_share"], s["dropped"]) == (40, 2, 0.0, "phone_order")
    assert s["r2"] == pytest.approx(0.346 / 0.36)
    assert L.driver_members(store, "delivery", dataset="t").height == 40


def test_key_drivers_needs_enough_data(tiny):
    with pytest.raises(cx.CXError, match="Key drivers need"):
        L.key_drivers(tiny, outcome="nps", dataset="t")


# -- trust, forgiveness, relationship -------------------------------------------------------------

def test_trust_levels(tiny):
    df = L.trust_levels(tiny, dataset="t")
    # latest trust: a 5, b 2, c 4.6 -> 5. Level 5 = a (NPS 6, 2 purchases), c (NPS 3, 1 purchase)
    assert rows(df, "trust", "customers", "n_nps", "nps", "buyers", "repurchase_rate", "purchases_per_customer") == [
        (2, 1, 1, 100.0, 1, 0.0, 1.0), (5, 2, 2, -100.0, 2, 0.5, 1.5)]
    assert L.trust_members(tiny, 5, dataset="t")["customer_id"].to_list() == ["a", "c"]


def test_forgiveness_exact(tiny):
    df = L.forgiveness(tiny, dataset="t")
    # end = 31 Dec 2025 10:00. a: incident 5 Jan 2025 at 370 days of tenure, seen again 1 Jun: stays.
    # b: incident 1 Feb at 62 days, last seen 1 Mar: gone. c: incident 1 Mar after 3 years, back 31 Dec.
    # d (no incident): first purchase 10 Jan, seen 15 Apr (>= +90 days): active; at tenure 90 days
    # (1 Apr) d was active and not seen 90 days later: baseline 0 of 1.
    assert rows(df, "group", "customers", "still_active", "share", "baseline", "baseline_customers") == [
        ("< 6 months", 1, 0, 0.0, 0.0, 1), ("6–24 months", 1, 1, 1.0, None, 0), ("> 24 months", 1, 1, 1.0, None, 0),
        ("no incident", 1, 1, 1.0, None, None)]
    c = L.forgiveness_table(tiny, dataset="t")
    assert rows(c.sort("customer_id"), "customer_id", "band", "still_active") == [
        ("a", "6–24 months", True), ("b", "< 6 months", False), ("c", "> 24 months", True)]
    assert c.filter(pl.col("customer_id") == "b")["tenure_days"][0] == pytest.approx(62 + 9 / 24)
    assert L.forgiveness_members(tiny, "no incident", dataset="t")["customer_id"].to_list() == ["d"]


def test_relationship_components_exact(tiny):
    df = {r["customer_id"]: r for r in L.relationship(tiny, dataset="t").iter_rows(named=True)}
    a, b = df["a"], df["b"]
    # a: 7 contacts, 4 inbound; the support call answered after 30 min; 1 give (newsletter) vs 2
    # purchases; identified on all 4 of its channels
    assert (a["contacts"], a["inbound"], a["inbound_contacts"], a["answered"], a["gives"], a["purchases"],
            a["channels"]) == (7, 4, 1, 1, 1, 2, 4)
    assert a["median_answer_minutes"] == pytest.approx(30.0) and a["identified_share"] == pytest.approx(1.0)
    assert a["dialogue"] == pytest.approx(100 * 6 / 7)
    assert a["responsiveness"] == pytest.approx(100 * 2 ** (-1 / 48))
    assert (a["exchange"], a["recognition"]) == pytest.approx((50.0, 100.0))
    assert a["health"] == pytest.approx((100 * 6 / 7 + 100 * 2 ** (-1 / 48) + 50 + 100) / 4)
    # b: the billing email is on a channel where billing never answers: no inbound contact to time,
    # responsiveness left out of health; not identified on social (1 of 5 touchpoints)
    assert (b["inbound_contacts"], b["responsiveness"], b["exchange"]) == (0, None, 0.0)
    assert (b["identified_share"], b["dialogue"], b["recognition"]) == pytest.approx((0.8, 40.0, 90.0))
    assert b["health"] == pytest.approx((40 + 0 + 90) / 3)
    # c: 2 of 3 touchpoints inbound; identified in store (2 of 3 touchpoints), not on the web
    assert df["c"]["health"] == pytest.approx((100 * (1 - 2 * (2 / 3 - 0.5)) + 0 + 100 * (2 / 6 + 0.5)) / 3)
    assert L.relationship(tiny, dataset="t", weakest=2)["customer_id"].to_list() == ["b", "c"]
    at = L.answer_times(tiny, by="channel", dataset="t")
    assert rows(at, "group", "contacts", "answered", "median_minutes") == [("chat", 1, 1, 120.0), ("phone", 1, 1, 30.0)]
    s = L.relationship_summary(tiny, dataset="t").row(0, named=True)
    assert (s["customers"], s["gives"], s["purchases"], s["multichannel_share"]) == (4, 1, 5, 1.0)


def test_health_retention_without_look_ahead(tiny):
    df = L.health_retention(tiny, dataset="t")
    # reference = 31 Dec 10:00 - 90 days; health from the data before it; only c comes back after it.
    # c before the reference: order + delivery in store: dialogue 100, exchange 0, recognition 50
    assert rows(df, "decile", "customers", "health", "retention") == [
        (1, 1, round(130 / 3, 4), 0.0), (2, 1, 50.0, 1.0),
        (3, 1, round((80 + 100 * 2 ** (-1 / 12) + 0 + 100) / 4, 4), 0.0),
        (4, 1, round((100 * 6 / 7 + 100 * 2 ** (-1 / 48) + 50 + 100) / 4, 4), 0.0)]
    assert L.health_members(tiny, 2, dataset="t")["customer_id"].to_list() == ["c"]


# -- the planted effects of the demo data --------------------------------------------------------------

def test_demo_scores_match_truth(demo, truth):
    o = {r["metric"]: r for r in L.score_overview(demo, dataset="demo").iter_rows(named=True)}
    assert o["nps"]["value"] == pytest.approx(truth["nps"]["overall"], abs=0.01)
    assert o["nps"]["n"] == truth["nps"]["responses"]
    tp = L.score_summary(demo, "csat", by="touchpoint", dataset="demo")
    means = dict(zip(tp["group"], tp["mean_score"]))
    for k, v in truth["feedback"]["csat_mean_by_touchpoint"].items():
        assert means[k] == pytest.approx(v, abs=0.001)
    assert min(means, key=means.get) == truth["worst_touchpoint"] == "delivery"


def test_demo_delivery_is_the_first_negative_driver(demo, truth):
    d = L.key_drivers(demo, outcome="nps", dataset="demo")["drivers"]
    first = d.filter(pl.col("negative_rank") == 1).row(0, named=True)
    assert first["touchpoint"] == truth["worst_touchpoint"] == "delivery"
    assert first["importance"] == d["importance"].max()


def test_demo_long_tenure_customers_forgive_more(demo, truth):
    df = L.forgiveness(demo, dataset="demo")
    share = dict(zip(df["group"], df["share"]))
    n = dict(zip(df["group"], df["customers"]))
    assert share["< 6 months"] < share["6–24 months"] < share["> 24 months"] < share["no incident"]
    exp = truth["forgiveness"]
    for ours, theirs in zip(L.TENURE_BANDS, ("<6m", "6-24m", ">24m")):
        assert share[ours] == pytest.approx(exp["share_active_90d_by_tenure"][theirs], abs=0.005)
        assert n[ours] == exp["n_by_tenure"][theirs]
    assert share["no incident"] == pytest.approx(exp["no_incident_share_active_90d_after_first_purchase"], abs=0.005)


def test_demo_higher_trust_goes_with_repurchase_and_nps(demo):
    df = L.trust_levels(demo, dataset="demo")
    assert df["trust"].to_list() == [1, 2, 3, 4, 5]
    assert df["repurchase_rate"].is_sorted() and df["nps"].is_sorted()
    assert df["repurchase_rate"][-1] - df["repurchase_rate"][0] > 0.15


def test_demo_answer_times_match_truth(demo, truth):
    at = L.answer_times(demo, by="channel", answer_touchpoints=("support_reply",), dataset="demo")
    med = dict(zip(at["group"], at["median_minutes"]))
    # phone and chat answers are not moved to office hours: the generator's medians hold exactly
    for ch in ("phone", "chat"):
        assert med[ch] == pytest.approx(truth["answers"]["median_minutes_by_channel"][ch], rel=0.02)
    assert at["answered_share"].min() > 0.99


def test_demo_relationship_health_rises_with_retention(demo):
    df = L.health_retention(demo, dataset="demo")
    assert df.height == 10 and df["health"].is_sorted()
    ret = df["retention"].to_list()
    rho = np.corrcoef(np.arange(10), np.argsort(np.argsort(ret)))[0, 1]  # Spearman
    assert rho > 0.5
    assert np.mean(ret[5:]) > np.mean(ret[:5]) + 0.1
    assert ret[0] == min(ret)
