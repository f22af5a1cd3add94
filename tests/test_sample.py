"""cx.sample: determinism, the data contract, and every planted effect checked on the data itself
(plain polars/numpy here, never the generator's own helpers)."""
from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cx.sample import generate, write
from cx.schema import STAGES, derive_stage

pytestmark = pytest.mark.filterwarnings("ignore:Sortedness of columns cannot be checked")

N, SEED = 4000, 7
START, END = datetime(2022, 11, 1), datetime(2026, 10, 31, 23, 59, 59)
PURCHASE_TPS = ["order_placed", "store_purchase", "partner_order", "phone_order"]
RANK = {s: i for i, s in enumerate(STAGES)}

INTERACTION_TYPES = {
    "customer_id": pl.Utf8, "timestamp": pl.Datetime("us"), "touchpoint": pl.Utf8, "stage": pl.Utf8,
    "channel": pl.Utf8, "direction": pl.Utf8, "department": pl.Utf8, "employee_id": pl.Utf8,
    "amount": pl.Float64, "value_given": pl.Utf8, "sentiment": pl.Float64, "session_id": pl.Utf8,
    "incident": pl.Boolean,
}
CUSTOMER_TYPES = {
    "customer_id": pl.Utf8, "persona": pl.Utf8, "first_seen": pl.Datetime("us"), "region": pl.Utf8,
    "tier": pl.Utf8, "stakeholder": pl.Utf8, "acquisition_channel": pl.Utf8, "age_band": pl.Utf8,
}
FEEDBACK_TYPES = {
    "customer_id": pl.Utf8, "timestamp": pl.Datetime("us"), "metric": pl.Utf8, "score": pl.Float64,
    "comment": pl.Utf8, "touchpoint": pl.Utf8, "channel": pl.Utf8, "solicited": pl.Boolean,
}


@pytest.fixture(scope="module")
def data():
    return generate(n_customers=N, seed=SEED)


@pytest.fixture(scope="module")
def persona_of(data):
    return data.customers.select("customer_id", "persona")


def _band(days):
    return (pl.when(days < 182.625).then(pl.lit("<6m")).when(days < 730.5).then(pl.lit("6-24m"))
            .otherwise(pl.lit(">24m")))


# --- determinism and contract --------------------------------------------------------------------


def test_deterministic_for_seed():
    a, b, c = generate(1500, 3), generate(1500, 3), generate(1500, 4)
    for name in ("interactions", "customers", "feedback", "customer_truth"):
        assert getattr(a, name).equals(getattr(b, name)), name
    assert json.dumps(a.truth, sort_keys=True) == json.dumps(b.truth, sort_keys=True)
    assert not a.interactions.equals(c.interactions)
    assert not a.feedback.equals(c.feedback)


def test_columns_and_types(data):
    assert data.interactions.schema == pl.Schema(INTERACTION_TYPES)
    assert data.customers.schema == pl.Schema(CUSTOMER_TYPES)
    assert data.feedback.schema == pl.Schema(FEEDBACK_TYPES)
    i = data.interactions
    assert i["incident"].null_count() == 0 and data.feedback["solicited"].null_count() == 0
    assert set(i["direction"].unique()) == {"inbound", "outbound"}
    assert set(i["channel"].unique()) <= {"web", "mobile_app", "store", "email", "phone", "chat", "social", "partner"}
    assert set(i["value_given"].drop_nulls().unique()) == {"discount", "content", "thank_you", "gift"}
    s = i["sentiment"].drop_nulls()
    assert s.min() >= -1 and s.max() <= 1 and (s.round(3) == s).all()
    a = i["amount"].drop_nulls()
    assert (a.round(2) == a).all() and (a < 0).sum() > 0 and (a > 0).sum() > 0
    for col, pat in (("customer_id", r"^C\d{6}$"), ("employee_id", r"^E\d{4}$"), ("session_id", r"^S\d{8}$")):
        assert i[col].drop_nulls().str.contains(pat).all(), col
    ct = data.customer_truth
    assert ct.height == N and ct["customer_id"].is_unique().all()
    assert {"customer_id", "behaviour", "lam", "p_drop", "bond", "nu", "buyer", "died_at"} <= set(ct.columns)
    json.dumps(data.truth)  # serialisable


def test_stage_follows_touchpoint_rules(data):
    pairs = data.interactions.select("touchpoint", "stage").unique()
    for tp, stage in pairs.iter_rows():
        assert stage == derive_stage(tp), tp
        assert stage in STAGES


def test_volume_window_order_and_customers(data):
    i, c = data.interactions, data.customers
    assert 20 <= i.height / N <= 40  # about 30 per customer
    assert c.height == N and c["customer_id"].is_unique().all()
    assert set(i["customer_id"].unique()) <= set(c["customer_id"])
    assert i["timestamp"].min() >= START and i["timestamp"].max() <= END
    assert data.feedback["timestamp"].min() >= START and data.feedback["timestamp"].max() <= END
    assert i.equals(i.sort("customer_id", "timestamp", maintain_order=True))
    first = i.group_by("customer_id").agg(pl.col("timestamp").min().alias("t"))
    chk = c.join(first, on="customer_id", how="left")
    assert chk["first_seen"].null_count() == 0 and (chk["first_seen"] == chk["t"]).all()
    # acquisitions spread over the window, more recent than old (a growing business)
    y = c["first_seen"].dt.year()
    assert (y == 2022).sum() > 0 and (y == 2026).sum() > (y == 2023).sum()
    # visits: touchpoints of a session are minutes apart
    span = (i.filter(pl.col("session_id").is_not_null()).group_by("session_id")
            .agg((pl.col("timestamp").max() - pl.col("timestamp").min()).dt.total_minutes().alias("m")))
    assert span["m"].median() < 15
    # phone contacts in office hours (weekdays 8-18)
    ph = i.filter(pl.col("touchpoint") == "support_call")
    assert ((ph["timestamp"].dt.hour() >= 8) & (ph["timestamp"].dt.hour() < 18)).mean() > 0.97
    assert (ph["timestamp"].dt.weekday() <= 5).mean() > 0.97
    # persona equals the behaviour group's name for ~80%
    ct = data.customer_truth
    names = {"bargain_hunter": "Bargain Hunter", "loyal_regular": "Loyal Regular", "researcher": "Researcher",
             "convenience_seeker": "Convenience Seeker", "support_heavy": "Support Seeker",
             "window_shopper": "Window Shopper"}
    match = (ct["behaviour"].replace_strict(names) == c["persona"]).mean()
    assert 0.75 <= match <= 0.85
    assert set(c["stakeholder"].unique()) == {"customer", "partner", "employee", "investor"}
    assert c["region"].n_unique() == 5 and set(c["tier"].unique()) == {"bronze", "silver", "gold"}


def test_write_csv(tmp_path):
    d = generate(300, 1)
    paths = write(d, tmp_path / "out")
    assert set(paths) == {"interactions", "customers", "feedback", "truth", "truth_customers"}
    lines = Path(paths["interactions"]).read_text().splitlines()
    assert lines[0] == ",".join(INTERACTION_TYPES)
    row = lines[1].split(",")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row[1])
    assert row[-1] in ("true", "false")
    back = pl.read_csv(paths["interactions"], schema_overrides={"session_id": pl.Utf8, "amount": pl.Float64,
                                                                 "sentiment": pl.Float64})
    assert back.height == d.interactions.height
    ts = back["timestamp"].str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%SZ")
    assert (ts == d.interactions["timestamp"]).all()
    assert back["employee_id"].null_count() == d.interactions["employee_id"].null_count()
    assert json.loads(Path(paths["truth"]).read_text())["n_customers"] == 300
    assert pl.read_csv(paths["customers"]).height == 300


# --- purchases: BG/NBD + Gamma-Gamma --------------------------------------------------------------


def test_bgnbd_purchases_in_line_with_parameters(data):
    from scipy.special import hyp2f1

    i, ct, truth = data.interactions, data.customer_truth, data.truth
    p = i.filter(pl.col("touchpoint").is_in(PURCHASE_TPS) & (pl.col("amount") > 0))
    assert p.height == i.filter(pl.col("amount") > 0).height  # every positive amount is a purchase
    per = p.group_by("customer_id").agg(pl.len().alias("n"), pl.col("timestamp").min().alias("t1"),
                                        pl.col("amount").mean().alias("aov"))
    per = per.join(ct.select("customer_id", "behaviour", "n_purchases"), on="customer_id")
    assert (per["n"] == per["n_purchases"]).all()
    per = per.with_columns(((pl.lit(END) - pl.col("t1")).dt.total_seconds() / (7 * 86400)).alias("T"))
    for g, prm in truth["groups"].items():
        sub = per.filter(pl.col("behaviour") == g)
        if sub.height < 200:  # too few buyers (window shoppers) for a stable mean
            continue
        r, alpha, a, b = (prm["bgnbd"][k] for k in ("r", "alpha", "a", "b"))
        T = sub["T"].to_numpy()
        x = alpha / (alpha + T)
        expected = (a + b - 1) / (a - 1) * (1 - x ** r * hyp2f1(r, b, a + b - 1, T / (alpha + T)))
        realised = (sub["n"] - 1).mean()
        assert abs(realised - expected.mean()) / expected.mean() < 0.2, (g, realised, expected.mean())
        # Gamma-Gamma: mean spend per purchase = p * gamma / (q - 1)
        gg = prm["gamma_gamma"]
        assert abs(sub["aov"].mean() / (gg["p"] * gg["gamma"] / (gg["q"] - 1)) - 1) < 0.25, g
    lam = ct.group_by("behaviour").agg(pl.col("lam").mean(), pl.col("p_drop").mean())
    for g, l_, p_ in lam.iter_rows():
        bg = truth["groups"][g]["bgnbd"]
        assert abs(l_ / (bg["r"] / bg["alpha"]) - 1) < 0.12
        assert abs(p_ / (bg["a"] / (bg["a"] + bg["b"])) - 1) < 0.15
    assert truth["time_unit"] == "week"
    # window shoppers mostly never buy
    nb = ct.group_by("behaviour").agg((pl.col("n_purchases") == 0).mean().alias("nb"))
    assert nb.filter(pl.col("behaviour") == "window_shopper")["nb"][0] > 0.7
    assert nb.filter(pl.col("behaviour") != "window_shopper")["nb"].max() < 0.2


def test_dead_customers_go_quiet(data):
    i, ct = data.interactions, data.customer_truth
    last = i.group_by("customer_id").agg(pl.col("timestamp").max().alias("last"))
    dead = ct.filter(pl.col("died_at").is_not_null()).join(last, on="customer_id")
    gap = (dead["last"] - dead["died_at"]).dt.total_days()
    assert gap.max() <= 45 and gap.min() >= 0
    # and the death purchase is the last purchase
    lp = (i.filter(pl.col("amount") > 0).group_by("customer_id").agg(pl.col("timestamp").max().alias("lp")))
    chk = dead.join(lp, on="customer_id")
    assert (chk["lp"] == chk["died_at"]).all()


# --- journeys and loops ------------------------------------------------------------------------------


def test_loop_rates_by_persona(data, persona_of):
    i = data.interactions.with_columns(pl.col("stage").replace_strict(RANK).alias("r"))
    i = i.with_columns(((pl.col("r") < pl.col("r").shift(1)) &
                        (pl.col("customer_id") == pl.col("customer_id").shift(1))).fill_null(False).alias("back"))
    per = i.group_by("customer_id").agg(pl.col("back").any().alias("looped"))
    per = persona_of.join(per, on="customer_id", how="left").with_columns(pl.col("looped").fill_null(False))
    rates = dict(per.group_by("persona").agg(pl.col("looped").mean()).iter_rows())
    truth = data.truth["loops"]
    assert sorted(rates, key=lambda k: -rates[k]) == truth["realised_order_by_persona"]
    for k, v in rates.items():
        assert abs(v - truth["rate_by_persona"][k]) < 1e-3
    # the realised order follows the planted one (planted: loop propensity by behaviour group)
    beh = data.customer_truth.select("customer_id", "behaviour").join(per, on="customer_id")
    brates = dict(beh.group_by("behaviour").agg(pl.col("looped").mean()).iter_rows())
    planted = truth["planted_order"]
    realised = sorted(brates, key=lambda k: -brates[k])
    assert realised[0] == planted[0] and realised[-1] == planted[-1] == "window_shopper"
    pos = [realised.index(g) for g in planted]
    concordant = sum(1 for a in range(6) for b in range(a + 1, 6) if pos[a] < pos[b])
    assert concordant >= 13  # of 15 pairs
    assert brates["researcher"] - brates["window_shopper"] > 0.3


def test_channel_mix_differs_by_behaviour(data):
    i = data.interactions.join(data.customer_truth.select("customer_id", "behaviour"), on="customer_id")
    mix = i.group_by("behaviour").agg([(pl.col("channel") == c).mean().alias(c) for c in
                                       ("web", "mobile_app", "store", "phone", "partner", "social")])
    top = {r["behaviour"]: max(("web", "mobile_app", "store", "phone", "partner", "social"), key=lambda c: r[c])
           for r in mix.iter_rows(named=True)}
    assert top["loyal_regular"] == "mobile_app" and top["bargain_hunter"] == "web"
    assert top["convenience_seeker"] == "store"
    m = {r["behaviour"]: r for r in mix.iter_rows(named=True)}
    assert m["researcher"]["partner"] > 0.2 and m["support_heavy"]["phone"] > 0.15
    assert m["window_shopper"]["social"] == max(r["social"] for r in m.values())


# --- incidents and forgiveness --------------------------------------------------------------------------


def test_forgiveness_rises_with_tenure(data):
    i, c = data.interactions, data.customers
    last = i.group_by("customer_id").agg(pl.col("timestamp").max().alias("last"))
    inc = (i.filter("incident").group_by("customer_id").agg(pl.col("timestamp").min().alias("ti"))
           .join(c.select("customer_id", "first_seen"), on="customer_id").join(last, on="customer_id")
           .filter(pl.col("ti") <= pl.lit(END) - pl.duration(days=90))
           .with_columns(_band((pl.col("ti") - pl.col("first_seen")).dt.total_seconds() / 86400).alias("band"),
                         (pl.col("last") >= pl.col("ti") + pl.duration(days=90)).alias("active")))
    share = dict(inc.group_by("band").agg(pl.col("active").mean()).iter_rows())
    assert share["<6m"] < share["6-24m"] < share[">24m"], share
    assert set(i.filter("incident")["touchpoint"].unique()) == {"delivery", "billing_question", "app_login"}
    for b, v in data.truth["forgiveness"]["share_active_90d_by_tenure"].items():
        assert abs(v - share[b]) < 1e-3
    # customers without incidents stay more (90 days after their first purchase)
    fp = i.filter(pl.col("amount") > 0).group_by("customer_id").agg(pl.col("timestamp").min().alias("t1"))
    no = (fp.join(i.filter("incident").select("customer_id").unique(), on="customer_id", how="anti")
          .join(last, on="customer_id").filter(pl.col("t1") <= pl.lit(END) - pl.duration(days=90)))
    base = no.select((pl.col("last") >= pl.col("t1") + pl.duration(days=90)).mean()).item()
    assert base > max(share.values())


# --- departments, employees, two-way dialogue --------------------------------------------------------


def test_departments_and_answers(data):
    i = data.interactions
    deps = set(i["department"].drop_nulls().unique())
    assert deps == {"sales", "support", "billing", "logistics", "marketing", "store"}
    per_dep = i.filter(pl.col("employee_id").is_not_null()).group_by("department").agg(
        pl.col("employee_id").n_unique().alias("n"))
    assert all(10 <= n <= 40 for n in per_dep["n"])
    mk = i.filter(pl.col("department") == "marketing")
    assert mk["employee_id"].null_count() == mk.height and (mk["direction"] == "outbound").all()
    promos = i.filter(pl.col("touchpoint") == "promo_email")
    assert (promos["value_given"] == "discount").all()
    # every inbound contact is answered later by an outbound support_reply of the same department
    contacts = ["support_call", "support_chat", "support_email", "complaint", "billing_question"]
    ci = i.filter(pl.col("touchpoint").is_in(contacts))
    rep = i.filter(pl.col("touchpoint") == "support_reply")
    assert (ci["direction"] == "inbound").all() and (rep["direction"] == "outbound").all()
    assert abs(rep.height - ci.height) <= 0.01 * ci.height
    j = ci.sort("timestamp").join_asof(
        rep.sort("timestamp").select("customer_id", "department", pl.col("timestamp").alias("ta")),
        left_on="timestamp", right_on="ta", by=["customer_id", "department"], strategy="forward")
    mins = (j["ta"] - j["timestamp"]).dt.total_minutes()
    assert mins.null_count() <= 0.01 * j.height
    med = dict(j.with_columns(mins.alias("m")).group_by("channel").agg(pl.col("m").median()).iter_rows())
    assert med["phone"] < 30 < med["chat"] < med["email"]


def test_billing_is_the_inconsistent_department(data):
    i, f = data.interactions, data.feedback
    staffed = i.filter(pl.col("employee_id").is_not_null()).select(
        "customer_id", "touchpoint", "department", "employee_id", pl.col("timestamp").alias("ti"))
    csat = f.filter(pl.col("metric") == "csat").sort("timestamp")
    j = csat.join_asof(staffed.sort("ti"), left_on="timestamp", right_on="ti", by=["customer_id", "touchpoint"],
                       strategy="backward").drop_nulls("employee_id")
    emp = j.group_by("department", "employee_id").agg(pl.col("score").mean(), pl.len()).filter(pl.col("len") >= 8)
    spread = dict(emp.group_by("department").agg(pl.col("score").std(), pl.len()).filter(pl.col("len") >= 3)
                  .select("department", "score").iter_rows())
    assert max(spread, key=spread.get) == "billing" == data.truth["departments"]["inconsistent_department"]
    assert spread["billing"] > 1.5 * max(v for k, v in spread.items() if k != "billing")


# --- sentiment, feedback, NPS drivers, trust ----------------------------------------------------------------


def test_sentiment_emotion_curve_and_worst_touchpoint(data):
    i = data.interactions
    share = i["sentiment"].is_not_null().mean()
    assert 0.3 <= share <= 0.5
    by_tp = (i.drop_nulls("sentiment").group_by("touchpoint").agg(pl.col("sentiment").mean(), pl.len())
             .filter(pl.col("len") >= 30).sort("sentiment"))
    assert by_tp["touchpoint"][0] == "delivery" == data.truth["sentiment"]["worst_touchpoint"]
    assert by_tp["sentiment"][1] - by_tp["sentiment"][0] > 0.05
    st = dict(i.drop_nulls("sentiment").group_by("stage").agg(pl.col("sentiment").mean()).iter_rows())
    assert st["evaluate"] < st["consider"] < st["purchase"] and st["use"] < st["purchase"]
    by_inc = dict(i.drop_nulls("sentiment").group_by("incident").agg(pl.col("sentiment").mean()).iter_rows())
    assert by_inc[True] < by_inc[False] - 0.4


def test_feedback_metrics_and_scales(data):
    f = data.feedback
    assert set(f["metric"].unique()) == {"nps", "csat", "ces", "trust", "rating"}
    scale = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "trust": (1, 5), "rating": (1, 5)}
    for m, (lo, hi) in scale.items():
        s = f.filter(pl.col("metric") == m)["score"]
        assert s.min() >= lo and s.max() <= hi and (s.round(0) == s).all(), m
    assert (f.filter(pl.col("metric") == "rating")["solicited"] == False).all()  # noqa: E712
    assert f.filter(pl.col("metric") != "rating")["solicited"].all()
    assert set(f.filter(pl.col("metric") == "rating")["channel"].unique()) == {"web", "social"}
    assert 0.4 <= f["comment"].is_not_null().mean() <= 0.6
    # NPS: about one relationship survey a year per active customer, ~30% answer
    inv = data.interactions.filter(pl.col("touchpoint") == "survey_invite").height
    assert 0.25 <= f.filter(pl.col("metric") == "nps").height / inv <= 0.35
    csat_tps = set(f.filter(pl.col("metric") == "csat")["touchpoint"].unique())
    assert {"delivery", "support_call", "order_placed", "store_purchase", "billing_question",
            "onboarding_call"} <= csat_tps
    nps = f.filter(pl.col("metric") == "nps")["score"]
    value = 100 * ((nps >= 9).mean() - (nps <= 6).mean())
    assert -20 < value < 50


def test_delivery_drives_nps(data):
    f, i = data.feedback, data.interactions
    nps = f.filter(pl.col("metric") == "nps").group_by("customer_id").agg(pl.col("score").mean().alias("nps"))
    # delivery incidents go with lower NPS
    late = i.filter(pl.col("incident") & (pl.col("touchpoint") == "delivery")).group_by("customer_id").agg(
        pl.len().alias("late"))
    x = nps.join(late, on="customer_id", how="left").with_columns(pl.col("late").fill_null(0))
    assert np.corrcoef(x["nps"], x["late"])[0, 1] < -0.05
    # key drivers: per-customer mean CSAT by touchpoint against NPS; delivery strongest and weakest
    cs = (f.filter(pl.col("metric") == "csat").group_by("customer_id", "touchpoint").agg(pl.col("score").mean())
          .join(nps, on="customer_id"))
    corr = {}
    for tp in ("delivery", "order_placed", "store_purchase", "support_call", "support_chat", "billing_question"):
        s = cs.filter(pl.col("touchpoint") == tp)
        if s.height >= 40:
            corr[tp] = np.corrcoef(s["score"], s["nps"])[0, 1]
    assert max(corr, key=corr.get) == "delivery", corr
    perf = f.filter(pl.col("metric") == "csat").group_by("touchpoint").agg(pl.col("score").mean(), pl.len())
    perf = perf.filter(pl.col("len") >= 50).sort("score")
    assert perf["touchpoint"][0] == "delivery"


def test_trust_goes_with_repurchase(data):
    f, i = data.feedback, data.interactions
    trust = f.filter(pl.col("metric") == "trust").group_by("customer_id").agg(pl.col("score").mean().alias("trust"))
    p = i.filter(pl.col("amount") > 0).group_by("customer_id").agg(
        pl.len().alias("n"), pl.col("timestamp").min().alias("t1"))
    x = trust.join(p, on="customer_id").with_columns(
        ((pl.lit(END) - pl.col("t1")).dt.total_days() / 365.25).clip(0.25).alias("yrs"))
    x = x.with_columns((pl.col("n") / pl.col("yrs")).alias("rate"), (pl.col("n") > 1).alias("repeat"))
    hi, lo = x.filter(pl.col("trust") >= 4), x.filter(pl.col("trust") <= 2)
    assert hi["rate"].mean() > 1.3 * lo["rate"].mean()
    assert hi["repeat"].mean() > lo["repeat"].mean()
    # trust and NPS go together
    nps = f.filter(pl.col("metric") == "nps").group_by("customer_id").agg(pl.col("score").mean().alias("nps"))
    y = trust.join(nps, on="customer_id")
    assert np.corrcoef(y["trust"], y["nps"])[0, 1] > 0.2
    # gives (value_given) are received more by the retained
    gifts = i.filter(pl.col("value_given").is_in(["thank_you", "gift"])).group_by("customer_id").agg(
        pl.len().alias("gives"))
    ct = data.customer_truth.filter(pl.col("n_purchases") > 0).join(gifts, on="customer_id", how="left")
    ct = ct.with_columns(pl.col("gives").fill_null(0) / pl.col("n_purchases"))
    assert ct.filter(pl.col("alive"))["gives"].mean() > ct.filter(~pl.col("alive"))["gives"].mean()


def test_comments_follow_scores(data):
    f = data.feedback.drop_nulls("comment")
    low = f["comment"].str.to_lowercase()
    f = f.with_columns(low.alias("c"))
    for metric in ("csat", "nps"):
        g = f.filter(pl.col("metric") == metric)
        late = g.filter(pl.col("c").str.contains(r"\blate\b"))["score"].mean()
        fast = g.filter(pl.col("c").str.contains(r"\bfast\b"))["score"].mean()
        assert late < fast - 1, (metric, late, fast)
    n = f.filter(pl.col("metric") == "nps")
    praise = n.filter(pl.col("score") >= 9)["c"]
    complain = n.filter(pl.col("score") <= 6)["c"]
    neg_words = (r"late|delayed|damaged|rude|unhelpful|unfriendly|dismissive|care|charged|billed|wrong|invoice|refund|"
                 r"crash|outage|log in|down|error|froze|hold|transferred|repeat|explain|confusing|forever")
    assert praise.str.contains(neg_words).mean() < 0.05
    assert complain.str.contains(neg_words).mean() > 0.8
    # effort language in low CES comments
    ces = f.filter((pl.col("metric") == "ces") & (pl.col("score") <= 3))
    effort = "|".join(re.escape(p) for p in data.truth["effort_phrases"])
    assert ces["c"].str.contains(effort).mean() > 0.7
    assert f["comment"].n_unique() > 300  # varied wording
    themes = data.truth["themes"]
    assert {k for k, v in themes.items() if v["complaint"]} >= {"late_delivery", "billing_error", "app_crash",
                                                                  "long_wait_effort", "rude_staff"}
    # unsolicited ratings are more likely and more negative after incidents
    r = data.feedback.filter(pl.col("metric") == "rating")
    on_inc = r.join(data.interactions.filter("incident").select("customer_id", "touchpoint").unique(),
                    on=["customer_id", "touchpoint"], how="semi")
    assert on_inc["score"].mean() < r["score"].mean() - 0.5


def test_kmeans_recovers_behaviour_groups(data):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    i = data.interactions.with_columns(pl.col("stage").replace_strict(RANK).alias("r"))
    i = i.with_columns(((pl.col("r") < pl.col("r").shift(1)) &
                        (pl.col("customer_id") == pl.col("customer_id").shift(1))).fill_null(False).alias("back"))
    chans = ["web", "mobile_app", "store", "email", "phone", "chat", "social", "partner"]
    f = i.group_by("customer_id").agg(
        (pl.lit(END) - pl.col("timestamp").max()).dt.total_days().alias("recency"),
        pl.len().alias("frequency"),
        pl.col("amount").filter(pl.col("amount") > 0).sum().alias("monetary"),
        (pl.col("timestamp").max() - pl.col("timestamp").min()).dt.total_days().alias("tenure"),
        pl.col("r").max().alias("reach"), pl.col("back").sum().alias("loops"),
        *[(pl.col("channel") == c).mean().alias(c) for c in chans],
        (pl.col("direction") == "inbound").mean().alias("inbound"),
        pl.col("incident").sum().alias("incidents"),
        pl.col("sentiment").mean().fill_null(0).alias("sentiment"),
    ).join(data.customer_truth.select("customer_id", "behaviour"), on="customer_id").sort("customer_id")
    cols = [c for c in f.columns if c not in ("customer_id", "behaviour")]
    X = f.select(cols).to_numpy().astype(float)
    for j, c in enumerate(cols):
        if c in ("recency", "frequency", "monetary", "tenure", "loops", "incidents"):
            X[:, j] = np.log1p(X[:, j])
    X = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1)
    labels = KMeans(6, n_init=5, random_state=0).fit_predict(X)
    assert adjusted_rand_score(f["behaviour"], labels) >= 0.7
