"""Segments: exact features on a hand-built file, clustering recovers the planted behaviour groups,
deterministic names, saved segments as a global filter and a breakdown."""
import json

import numpy as np
import polars as pl
import pytest

import cx
from cx import Filters, profile, segments
from tests.conftest import ROOT

EVENTS = """customer_id,timestamp,touchpoint,stage,channel,direction,department,amount,value_given,sentiment,incident
a,2025-01-01T09:00:00Z,social_ad,discover,social,inbound,,,,0.5,
a,2025-01-02T09:00:00Z,pricing_page,evaluate,web,inbound,,,,,
a,2025-01-03T09:00:00Z,homepage,consider,web,inbound,,,,-0.5,
a,2025-01-04T09:00:00Z,order_placed,purchase,web,inbound,,100,,,
a,2025-01-05T09:00:00Z,promo_email,consider,email,outbound,marketing,,discount,,
a,2025-01-06T09:00:00Z,support_call,use,phone,inbound,support,,,,true
a,2025-01-07T09:00:00Z,order_placed,purchase,web,inbound,,50,,,
b,2025-01-03T12:00:00Z,homepage,consider,web,,,,,,
b,2025-01-11T09:00:00Z,refund_issued,use,web,outbound,billing,-20,,,false
"""
FEEDBACK = """customer_id,timestamp,metric,score
a,2025-01-02T10:00:00Z,nps,3
a,2025-01-06T10:00:00Z,nps,9
a,2025-01-06T11:00:00Z,ces,6
b,2025-01-05T10:00:00Z,csat,4
"""
CUSTOMERS = "customer_id,persona\na,Researcher\nb,Bargain Hunter\n"


@pytest.fixture
def tiny(store, write):
    store.import_file(write("e.csv", EVENTS), dataset="t")
    store.import_file(write("f.csv", FEEDBACK), kind="feedback", dataset="t")
    store.import_file(write("c.csv", CUSTOMERS), dataset="t")
    return store


def test_features_exact(tiny):
    f = segments.features(tiny, dataset="t")
    assert f["customer_id"].to_list() == ["a", "b"]
    a, b = f.row(0, named=True), f.row(1, named=True)
    # data ends 2025-01-11 09:00 (b's refund)
    assert a["recency_days"] == pytest.approx(4.0) and a["tenure_days"] == pytest.approx(10.0)
    assert b["recency_days"] == 0 and b["tenure_days"] == pytest.approx(7 + 21 / 24)
    assert (a["touchpoints"], a["purchases"], a["spend"]) == (7, 2, 150.0)
    assert (b["touchpoints"], b["purchases"], b["spend"]) == (2, 0, 0.0)  # a refund is not spend
    # stages a: discover, evaluate, consider (back), purchase, consider (back), use, purchase (back)
    assert (a["furthest_stage"], a["loops"]) == (4, 3)
    assert (b["furthest_stage"], b["loops"]) == (4, 0)
    assert a["inbound_share"] == pytest.approx(6 / 7) and b["inbound_share"] == 0.0  # b: 1 with a direction
    assert (a["gives_received"], a["incidents"], a["service_contacts"]) == (1, 1, 1)
    assert (b["gives_received"], b["incidents"], b["service_contacts"]) == (0, 0, 0)
    assert a["mean_sentiment"] == pytest.approx(0.0) and b["mean_sentiment"] is None
    assert (a["last_nps"], a["last_ces"]) == (9.0, 6.0)  # the latest answer
    assert b["last_nps"] is None and b["last_ces"] is None
    assert a["ch_web"] == pytest.approx(4 / 7) and a["ch_phone"] == pytest.approx(1 / 7)
    assert a["in_web"] == pytest.approx(4 / 6) and a["in_email"] == 0.0
    assert b["ch_web"] == 1.0 and b["in_web"] is None  # no inbound touchpoint: unknown, not 0


def test_packed_channel_counts_equal_plain_counts(tiny, demo):
    """The channel-mix counts are summed three to an integer and unpacked: the same frame as one
    sum per count, on the tiny file (4 channels: two packed groups) and on the demo (8 channels)."""
    from polars.testing import assert_frame_equal

    for store, ds in ((tiny, "t"), (demo, None)):
        chans = segments.channels(store, dataset=ds)
        packed = segments.features_expr(store, dataset=ds, chans=chans).to_polars()
        plain = segments.features_expr(store, dataset=ds, chans=chans, packed=False).to_polars()
        assert_frame_equal(packed, plain)
    assert len(chans) == 8 and packed.height == 5000


def test_packed_counts_fall_back_before_a_field_overflows(tiny, monkeypatch):
    """A packed field holds up to 2**PACK_BITS - 1. With 2-bit fields, customer a's 4 web
    touchpoints overflow into the next field: features() sees a customer with 4+ touchpoints and
    recomputes without packing, so its shares stay exact."""
    from cx.segments import behaviour  # where the constant lives (the package re-exports it)

    monkeypatch.setattr(behaviour, "PACK_BITS", 2)
    chans = segments.channels(tiny, dataset="t")
    wrong = segments.features_expr(tiny, dataset="t", chans=chans).to_polars().row(0, named=True)
    assert wrong["ch_web"] != pytest.approx(4 / 7)  # the overflow the guard exists for
    a = segments.features(tiny, dataset="t").row(0, named=True)
    assert a["ch_web"] == pytest.approx(4 / 7) and a["ch_phone"] == pytest.approx(1 / 7)
    assert a["in_web"] == pytest.approx(4 / 6) and a["ch_social"] == pytest.approx(1 / 7)


def test_features_honour_filters_and_without_feedback(store, write):
    store.import_file(write("e.csv", EVENTS), dataset="t")
    f = segments.features(store, dataset="t")
    assert f["last_nps"].null_count() == 2  # no feedback table: null, said in the docstring
    f = segments.features(store, Filters(channels=("web",)), dataset="t")
    assert f.filter(pl.col("customer_id") == "a")["touchpoints"][0] == 4


def test_transform_imputes_logs_and_standardises():
    df = pl.DataFrame({"customer_id": ["a", "b", "c"], "spend": [0.0, np.e - 1, None], "inbound_share": [0.0, 1.0, 1.0]})
    X, imputed = segments.transform(df, ["spend", "inbound_share"])
    assert imputed == {"spend": 1}
    assert X.mean(axis=0) == pytest.approx([0, 0]) and X.std(axis=0) == pytest.approx([1, 1])
    # log1p(e - 1) = 1, the null gets the median 0.5 of the logged column
    assert X[:, 0] == pytest.approx((np.array([0, 1, 0.5]) - 0.5) / np.std([0, 1, 0.5]))


def test_scaling_in_one_pass_equals_filling_then_measuring():
    """scaling() derives the filled column's mean and sd from the non-null values' moments: the
    same numbers as filling the nulls with the median and measuring again."""
    rng = np.random.default_rng(3)
    vals = rng.gamma(2.0, 50.0, 1_000)
    vals[rng.choice(1_000, 170, replace=False)] = np.nan
    df = pl.DataFrame({"customer_id": [str(i) for i in range(1_000)], "spend": vals,
                       "inbound_share": [None if np.isnan(v) else 0.25 for v in vals], "loops": [None] * 1_000},
                      schema_overrides={"loops": pl.Float64, "inbound_share": pl.Float64}).with_columns(pl.col("spend").fill_nan(None))
    sc = segments.scaling(df, ["spend", "inbound_share", "loops"])
    logged = np.log1p(vals)  # spend is skewed: log1p first
    med = np.nanmedian(logged)
    filled = np.where(np.isnan(logged), med, logged)
    assert sc["spend"] == pytest.approx((med, filled.mean(), filled.std()), rel=1e-12)
    assert sc["inbound_share"] == (0.25, 0.25, 0.0)  # constant with nulls: stays constant
    assert sc["loops"] == (0.0, 0.0, 0.0)  # all null: filled with 0


def test_naming_is_deterministic_and_reads_well():
    prof = pl.DataFrame({"cluster": [1, 1, 1, 1, 2, 2, 2, 2],
                         "feature": ["spend", "loops", "last_nps", "ch_web", "spend", "loops", "last_nps", "ch_web"],
                         "z": [1.2, 0.8, -0.9, 0.1, -1.0, 0.05, 0.1, 0.2]})
    names = segments.name_clusters(prof)
    assert names == {1: "High spend · many loops · low NPS", 2: "Low spend"}
    assert segments.name_clusters(prof.reverse()) == names
    # a channel counts once even when its overall and inbound shares both stand out
    prof2 = pl.DataFrame({"cluster": [1, 1, 1], "feature": ["ch_store", "in_store", "spend"], "z": [2.0, 1.9, 0.5]})
    assert segments.name_clusters(prof2) == {1: "Store heavy · high spend"}


@pytest.fixture(scope="module")
def demo(demo_db):
    s = cx.open(demo_db)
    yield s
    s.close()


@pytest.fixture(scope="module")
def demo_features(demo):
    f = segments.features(demo)
    truth = pl.read_csv(ROOT / "sample_data" / "truth_customers.csv").select("customer_id", "behaviour")
    return f, truth


def _ari(res, truth):
    from sklearn.metrics import adjusted_rand_score

    j = res.labels.join(truth, on="customer_id")
    assert j.height == res.labels.height
    return adjusted_rand_score(j["behaviour"], j["cluster"])


def test_clusters_recover_the_planted_behaviour_groups(demo_features):
    f, truth = demo_features
    n_groups = len(json.loads((ROOT / "sample_data" / "truth.json").read_text())["groups"])
    auto = segments.cluster(f)  # automatic k
    assert auto.k == n_groups
    assert _ari(auto, truth) >= 0.7
    fixed = segments.cluster(f, k=n_groups)
    assert _ari(fixed, truth) >= 0.7
    assert fixed.stability >= 0.9
    assert fixed.sizes["customers"].sum() == f.height
    assert fixed.sizes["customers"].to_list() == sorted(fixed.sizes["customers"].to_list(), reverse=True)
    assert set(auto.scores["k"].to_list()) == set(range(2, 11)) and auto.scores["chosen"].sum() == 1
    assert fixed.projection.height == f.height  # <= 20k customers: all of them
    again = segments.cluster(f, k=n_groups)
    assert again.names == fixed.names and again.labels.equals(fixed.labels)
    assert len(set(fixed.names.values())) == n_groups
    # the support-heavy group is the cluster with the most service contacts, named so
    support = _top_cluster(fixed, truth, "support_heavy")
    assert "service contacts" in fixed.names[support].lower()


def _top_cluster(res, truth, group):
    j = res.labels.join(truth, on="customer_id").filter(pl.col("behaviour") == group)
    return j.group_by("cluster").len().sort("len", descending=True)["cluster"][0]


def test_persona_crosstab_and_members(demo):
    res = segments.run(demo, k=6)
    ct = segments.crosstab(res)
    assert ct["customers"].sum() == res.labels.height
    sums = ct.group_by("persona").agg(pl.col("share_of_persona").sum())
    assert sums["share_of_persona"].to_list() == pytest.approx([1.0] * sums.height)
    # declared persona = behaviour for ~80% (truth.json): each persona's largest cluster holds most of it
    top = ct.group_by("persona").agg(pl.col("share_of_persona").max())
    assert top["share_of_persona"].min() > 0.5
    m = segments.group_members(res, "Researcher", int(ct.filter(pl.col("persona") == "Researcher")
                                                       .sort("customers", descending=True)["cluster"][0]))
    assert m.height == ct.filter(pl.col("persona") == "Researcher")["customers"].max()
    assert set(m["persona"].to_list()) == {"Researcher"}


def test_saved_segment_is_a_global_filter_and_a_breakdown(tiny):
    assert segments.saved(tiny, dataset="t").height == 0
    v0 = tiny.version("t")
    assert segments.save(tiny, "Just a", ["a"], "t") == 1
    assert tiny.version("t") == v0 + 1  # cached pages recompute
    f = Filters(segment="Just a")
    k = profile.kpis(tiny, f, "t").row(0, named=True)
    assert (k["customers"], k["touchpoints"], k["revenue"]) == (1, 7, 150.0)
    assert segments.features(tiny, f, "t")["customer_id"].to_list() == ["a"]
    assert tiny.data("t", f).customers.to_polars()["customer_id"].to_list() == ["a"]
    assert tiny.data("t", f).feedback.count().to_pyarrow().as_py() == 3
    # combined with a persona filter (intersection), and a segment that does not exist shows no one
    assert profile.kpis(tiny, Filters(segment="Just a", persona=("Bargain Hunter",)), "t")["customers"][0] == 0
    assert profile.kpis(tiny, Filters(segment="nope"), "t")["customers"][0] == 0
    # URL round trip and description
    assert Filters.from_params(f.to_params()) == f and "segment: Just a" in f.describe()
    # breakdown for other modules
    segments.save(tiny, "Both", ["a", "b"], "t")
    mem = segments.membership(tiny, "t").order_by(["segment", "customer_id"]).to_polars()
    assert mem.rows() == [("a", "Both"), ("b", "Both"), ("a", "Just a")]
    assert segments.assignments(tiny, dataset="t").rows() == [("a", "Both & Just a"), ("b", "Both")]
    assert segments.saved(tiny, dataset="t").rows() == [("Both", 2), ("Just a", 1)]
    # saved per dataset; deleting works
    tiny.delete_segment("Both", "t")
    assert segments.saved(tiny, dataset="t")["segment"].to_list() == ["Just a"]
    with pytest.raises(cx.CXError):
        segments.save(tiny, " ", ["a"], "t")


def test_drill_down_customers_filter_and_outcomes(tiny):
    f = Filters(customers=("b",))
    assert profile.kpis(tiny, f, "t")["customers"][0] == 1
    out = segments.outcomes(tiny, ("a",), dataset="t")
    fn = out["funnel"]
    assert fn["name"].to_list() == ["discover", "consider", "evaluate", "purchase", "use"]
    assert fn["count"].to_list() == [1, 1, 0, 0, 0]  # its only evaluate came before consider
    assert all("would supply" not in n or "cx." in n for n in out["notes"])


def test_cluster_names_saved_per_run(tiny):
    tiny.set_cluster_name("k2-abc", 1, "Our best", "t")
    assert tiny.cluster_names("k2-abc", "t") == {1: "Our best"}
    tiny.set_cluster_name("k2-abc", 1, "", "t")
    assert tiny.cluster_names("k2-abc", "t") == {}
    key = segments.run_key(6, ("a", "b"), 0, Filters())
    assert key == segments.run_key(6, ("a", "b"), 0, Filters()) and key != segments.run_key(5, ("a", "b"), 0, None)


def test_clear_messages(store, write):
    store.import_file(write("e.csv", "customer_id,timestamp,touchpoint\na,2025-01-01,x\n"), dataset="t")
    f = segments.features(store, dataset="t")
    with pytest.raises(cx.CXError, match="at least 4 customers"):
        segments.cluster(f, k=2)


# -- touchpoint-mix personas (NMF) -------------------------------------------------------------------

def test_touchpoint_mix_exact(tiny):
    m = segments.touchpoint_mix(tiny, dataset="t")
    assert m["customer_id"].to_list() == ["a", "b"] and m["persona"].to_list() == ["Researcher", "Bargain Hunter"]
    a, b = m.row(0, named=True), m.row(1, named=True)
    assert a["web:order_placed"] == 2 and a["social:social_ad"] == 1 and a["phone:support_call"] == 1
    assert a["web:homepage"] == 1 and b["web:homepage"] == 1 and b["web:refund_issued"] == 1
    assert sum(a[c] for c in m.columns[2:]) == 7 and sum(b[c] for c in m.columns[2:]) == 2
    top = segments.touchpoint_mix(tiny, dataset="t", top=1)  # the most frequent pair only
    assert top.columns == ["customer_id", "persona", "web:homepage"] and top["web:homepage"].to_list() == [1, 1]
    only_b = segments.touchpoint_mix(tiny, Filters(customers=("b",)), dataset="t")
    assert only_b["customer_id"].to_list() == ["b"]


def test_mix_personas_on_a_hand_built_mix():
    # three clean recipes (store, web, phone), 4 customers each, personas declared; one web
    # customer declares the store persona: the one customer who does not behave as declared
    rows = []
    for i in range(4):
        rows.append((f"s{i}", "Store", 5 + i, 1, 0, 0, 0, 0))
        rows.append((f"w{i}", "Store" if i == 0 else "Web", 0, 0, 6 + i, 2, 0, 0))
        rows.append((f"p{i}", "Phone", 0, 0, 0, 0, 3 + i, 1))
    mix = pl.DataFrame(rows, orient="row", schema=["customer_id", "persona", "store:visit", "store:buy", "web:page",
                                                    "web:cart", "phone:call", "phone:reply"])
    r = segments.mix_personas(mix)
    assert r.k == 3  # the number of declared personas
    by = {row["customer_id"]: row for row in r.members.iter_rows(named=True)}
    assert len({by[f"s{i}"]["component"] for i in range(4)}) == 1
    assert len({by[c]["component"] for c in ("s0", "w0", "p0")}) == 3
    assert {by["w1"]["behaves_like"], by["s1"]["behaves_like"], by["p1"]["behaves_like"]} == {"Web", "Store", "Phone"}
    assert by["w0"]["behaves_like"] == "Web" and by["w0"]["as_declared"] is False
    assert r.mismatched == 1 and r.agreement == pytest.approx(11 / 12)
    assert min(r.members["strength"]) > 0.95  # pure recipes
    web = r.components.filter(pl.col("persona") == "Web").row(0, named=True)
    assert web["name"].startswith("page (web)") and web["customers"] == 4
    assert web["agreement"] == pytest.approx(3 / 4)
    assert r.crosstab.filter(pl.col("persona") == "Store")["customers"].sum() == 5
    with pytest.raises(cx.CXError, match="between 2 and"):
        segments.mix_personas(mix, k=12)


def test_mix_personas_recover_the_planted_groups_and_find_the_misdeclared(demo):
    """On the demo data each recipe is one planted behaviour group, matched to that group's
    persona; the customers flagged as not behaving as declared contain nearly all of the ~19%
    whose declared persona was planted as a random other one."""
    from sklearn.metrics import adjusted_rand_score

    from cx.sample import GROUPS

    r = segments.mix_run(demo)
    truth = pl.read_csv(ROOT / "sample_data" / "truth_customers.csv").select(
        "customer_id", "behaviour", "persona_matches")
    j = r.members.join(truth, on="customer_id")
    assert j.height == r.members.height == truth.height
    assert r.k == len(GROUPS)
    assert adjusted_rand_score(j["behaviour"], j["component"]) >= 0.7
    display = {g: v["display"] for g, v in GROUPS.items()}
    for comp in r.components.iter_rows(named=True):  # each recipe's persona is its majority group's
        majority = j.filter(pl.col("component") == comp["component"])["behaviour"].mode()[0]
        assert comp["persona"] == display[majority]
    flagged = j.filter(pl.col("as_declared") == False)  # noqa: E712
    misdeclared = j.filter(~pl.col("persona_matches"))
    caught = flagged.join(misdeclared, on="customer_id").height
    assert caught / misdeclared.height >= 0.9
    assert caught / flagged.height >= 0.55
    assert 0.65 <= r.agreement <= 0.85
