"""CLV: exact summaries on a hand-built file, closed forms on tiny cases, parameter recovery on
simulated data, clear messages on degenerate data, and the planted BG/NBD of the demo data."""
import math
from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy import optimize, special

import cx
from cx import Filters, clv
from cx.export import to_csv_bytes
from tests.conftest import copy_demo

EVENTS = """customer_id,timestamp,touchpoint,channel,amount
a,2025-01-06T09:00:00Z,order_placed,web,100
a,2025-01-06T15:00:00Z,order_placed,web,50
a,2025-01-10T10:00:00Z,homepage,web,
a,2025-01-20T10:00:00Z,order_placed,store,30
a,2025-02-03T10:00:00Z,order_placed,web,60
a,2025-02-04T10:00:00Z,refund_issued,web,-20
b,2025-02-10T08:00:00Z,order_placed,store,80
c,2025-01-15T12:00:00Z,homepage,web,
c,2025-03-03T12:00:00Z,newsletter,email,
"""
CUSTOMERS = "customer_id,persona\na,Researcher\nb,Bargain hunter\nc,Researcher\n"


@pytest.fixture
def tiny(store, write):
    store.import_file(write("e.csv", EVENTS), dataset="t")
    store.import_file(write("c.csv", CUSTOMERS), dataset="t")
    return store


def rows(df):
    return {r["customer_id"]: (r["frequency"], r["recency"], r["T"], r["monetary_value"]) for r in df.iter_rows(named=True)}


def test_summary_exact(tiny):
    # a: days 6 Jan (100+50 merge), 20 Jan (30), 3 Feb (60); the data ends 3 Mar; c never bought
    d = rows(clv.summary(tiny, time_unit="D", dataset="t"))
    assert d == {"a": (2, 28.0, 56.0, 45.0), "b": (0, 0.0, 21.0, 0.0)}
    w = rows(clv.summary(tiny, time_unit="W", dataset="t"))
    assert w["a"] == (2, 4.0, 8.0, 45.0) and w["b"] == (0, 0.0, 3.0, 0.0)
    m = clv.summary(tiny, time_unit="M", dataset="t").filter(pl.col("customer_id") == "a")
    assert m["T"][0] == pytest.approx(56 / 30.4375)


def test_summary_calibration_and_observation_end(tiny):
    d = rows(clv.summary(tiny, calibration_end=date(2025, 1, 31), time_unit="D", dataset="t"))
    assert d == {"a": (1, 14.0, 25.0, 30.0)}  # b first bought after the calibration end
    d = rows(clv.summary(tiny, observation_end="2025-02-28", time_unit="D", dataset="t"))
    assert d["a"] == (2, 28.0, 53.0, 45.0) and d["b"] == (0, 0.0, 18.0, 0.0)


def test_summary_with_filters(tiny):
    d = rows(clv.summary(tiny, time_unit="D", filters=Filters(channels=("web",)), dataset="t"))
    # web only: a's 20 Jan store purchase and b's store purchase disappear; the data still ends 3 Feb+
    assert d["a"][0] == 1 and d["a"][3] == 60.0 and "b" not in d


def test_summary_grouped_weights(tiny, write):
    g = clv.summary_grouped(tiny, time_unit="D", dataset="t")
    assert g["weight"].sum() == 2 and g.height == 2


def test_historical_value_is_net_revenue(tiny):
    # the models need a repeat buyer to fit: checked separately; here the attributes only
    attrs = clv.value._attributes(tiny, None, "t")
    a = attrs.filter(pl.col("customer_id") == "a").row(0, named=True)
    assert (a["historical_value"], a["revenue"], a["refunds"]) == (220.0, 240.0, 20.0)
    assert a["persona"] == "Researcher" and a["purchase_channel"] == "web"


# -- closed forms on tiny cases ---------------------------------------------------------------------

P = {"r": 0.5, "alpha": 2.0, "a": 1.5, "b": 3.0}


def bgnbd_lik_by_hand(x, tx, T, r, alpha, a, b):
    B = lambda u, v: math.gamma(u) * math.gamma(v) / math.gamma(u + v)  # noqa: E731
    common = math.gamma(r + x) * alpha ** r / math.gamma(r)
    lik = B(a, b + x) / B(a, b) * common / (alpha + T) ** (r + x)
    if x > 0:
        lik += B(a + 1, b + x - 1) / B(a, b) * common / (alpha + tx) ** (r + x)
    return lik


def test_bgnbd_loglik_matches_hand_computation():
    cases = [(0, 0.0, 10.0), (2, 5.0, 10.0), (5, 9.5, 12.0)]
    for x, tx, T in cases:
        got = clv.bgnbd_loglik(P, [x], [tx], [T])
        assert got == pytest.approx(math.log(bgnbd_lik_by_hand(x, tx, T, **P)), rel=1e-12)
    # weights count rows
    x, tx, T = zip(*cases)
    assert clv.bgnbd_loglik(P, x, tx, T, weights=[2, 1, 3]) == pytest.approx(
        sum(w * math.log(bgnbd_lik_by_hand(*c, **P)) for w, c in zip([2, 1, 3], cases)))


def test_bgnbd_gradient_is_exact():
    s = clv.simulate_bgnbd(2000, 0.8, 5.0, 1.2, 4.0, T=30, seed=3)
    x, tx, T = (s[c].to_numpy().astype(float) for c in ("frequency", "recency", "T"))
    d = clv.bgnbd._BGData(x, tx, T, np.ones_like(x))
    p0 = np.log([0.6, 4.0, 1.1, 3.5])
    f, g = clv.bgnbd._bgnbd_negll_grad(p0, d)
    assert f == pytest.approx(-clv.bgnbd_loglik(np.exp(p0), x, tx, T) / len(x))
    num = optimize.approx_fprime(p0, lambda p: clv.bgnbd._bgnbd_negll_grad(p, d)[0], 1e-7)
    assert np.allclose(g, num, rtol=1e-4, atol=1e-6)


def test_p_alive_and_expected_purchases_closed_forms():
    r, alpha, a, b = P.values()
    x, tx, T, t = 2, 5.0, 10.0, 4.0
    pa = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))
    assert clv.p_alive(P, [x], [tx], [T])[0] == pytest.approx(pa, rel=1e-12)
    assert clv.p_alive(P, [0], [0], [T])[0] == 1.0
    z = t / (alpha + T + t)
    direct = ((a + b + x - 1) / (a - 1)
              * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * special.hyp2f1(r + x, b + x, a + b + x - 1, z))
              * pa)
    assert clv.expected_purchases(P, t, [x], [tx], [T])[0] == pytest.approx(direct, rel=1e-9)
    # a < 1 is valid too (the mixture fit of the demo has a ≈ 0.8)
    q = {**P, "a": 0.8}
    pa = 1 / (1 + q["a"] / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))
    direct = ((q["a"] + b + x - 1) / (q["a"] - 1)
              * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * special.hyp2f1(r + x, b + x, q["a"] + b + x - 1, z))
              * pa)
    assert clv.expected_purchases(q, t, [x], [tx], [T])[0] == pytest.approx(direct, rel=1e-9)
    # unconditional E[X(t)]
    u = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    assert clv.expected_purchases_new(P, t) == pytest.approx(u, rel=1e-9)


def test_expected_purchases_against_simulation():
    """The mean repeat purchases of simulated new customers over t matches E[X(t)]."""
    p = {"r": 2.0, "alpha": 20.0, "a": 1.5, "b": 7.5}
    s = clv.simulate_bgnbd(100_000, **p, T=52, seed=5)
    assert s["frequency"].mean() == pytest.approx(float(clv.expected_purchases_new(p, 52)), rel=0.02)


def test_gamma_gamma_closed_forms():
    g = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    x, m = 3, 20.0
    by_hand = (math.lgamma(6 * 3 + 4) - math.lgamma(18) - math.lgamma(4) + 4 * math.log(15)
               + 17 * math.log(20) + 18 * math.log(3) - 22 * math.log(15 + 60))
    assert clv.gamma_gamma_loglik(g, [x], [m]) == pytest.approx(by_hand, rel=1e-12)
    assert clv.expected_spend(g, [x, 0], [m, 0])[0] == pytest.approx((15 + 60) * 6 / (18 + 4 - 1))
    assert clv.expected_spend(g, [0], [0])[0] == pytest.approx(6 * 15 / 3)  # population mean p·γ/(q−1)


def test_clv_is_discounted_monthly_expected_purchases_times_spend():
    g = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    x, tx, T, m = [2], [5.0], [10.0], [20.0]
    spend = clv.expected_spend(g, x, m)[0]
    one = clv.expected_purchases(P, 30.4375 / 7, x, tx, T)[0]
    assert clv.clv(P, g, x, tx, T, m, horizon_months=1, discount_rate=0.0)[0] == pytest.approx(one * spend)
    two = clv.expected_purchases(P, 2 * 30.4375 / 7, x, tx, T)[0]
    want = spend * (one / 1.1 ** (1 / 12) + (two - one) / 1.1 ** (2 / 12))
    assert clv.clv(P, g, x, tx, T, m, horizon_months=2, discount_rate=0.1)[0] == pytest.approx(want)


def test_clv_over_distinct_frequency_and_age_pairs_equals_the_per_customer_sum():
    """clv() evaluates the 2F1 terms once per distinct (x, T) pair and multiplies by each customer's
    own P(alive): customers sharing (x, T) but not the recency get their own values, equal to
    the per-customer sum of discounted monthly increments of E[Y(t)] (1-D and 2-D inputs alike)."""
    import numpy as np

    g = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    x = np.array([2.0, 2.0, 2.0, 0.0, 0.0, 5.0, 2.0])
    tx = np.array([5.0, 1.0, 8.0, 0.0, 0.0, 9.5, 5.0])
    T = np.array([10.0, 10.0, 10.0, 3.0, 10.0, 10.0, 12.0])
    m = np.array([20.0, 40.0, 20.0, 0.0, 0.0, 33.0, 20.0])
    want = np.zeros(len(x))
    prev = np.zeros(len(x))
    for k in range(1, 7):
        cur = clv.expected_purchases(P, k * 30.4375 / 7, x, tx, T)
        want += (cur - prev) / 1.1 ** (k / 12)
        prev = cur
    want *= clv.expected_spend(g, x, m)
    got = clv.clv(P, g, x, tx, T, m, horizon_months=6, discount_rate=0.1)
    assert got == pytest.approx(want, rel=1e-12)
    assert len(set(got.round(9))) == len(x)  # same (x, T), other recency or spend: other values
    grid = clv.clv(P, g, *(v.reshape(7, 1) for v in (x, tx, T, m)), horizon_months=6, discount_rate=0.1)
    assert grid.shape == (7, 1) and grid.ravel() == pytest.approx(want, rel=1e-12)


# -- recovery on simulated data ---------------------------------------------------------------------

def test_bgnbd_and_gamma_gamma_recover_known_parameters():
    truth = {"r": 2.0, "alpha": 20.0, "a": 1.5, "b": 7.5}
    rng = np.random.default_rng(1)
    T = np.floor(rng.uniform(52, 208, 50_000) * 7) / 7
    s = clv.simulate_bgnbd(50_000, **truth, T=T, seed=1)
    fit = clv.fit_bgnbd(s["frequency"], s["recency"], s["T"])
    assert fit["converged"] and fit["n"] == 50_000
    for k, v in truth.items():
        assert fit[k] == pytest.approx(v, rel=0.10), (k, fit)
    gg_truth = {"p": 4.0, "q": 8.0, "gamma": 70.0}
    m = clv.simulate_gamma_gamma(s["frequency"], **gg_truth, seed=2)
    gg = clv.fit_gamma_gamma(s["frequency"], m)
    for k, v in gg_truth.items():
        assert gg[k] == pytest.approx(v, rel=0.10), (k, gg)
    # weighted rows give the same fit as the raw rows
    df = s.group_by(["frequency", "recency", "T"]).len()
    w = clv.fit_bgnbd(df["frequency"], df["recency"], df["T"], weights=df["len"])
    assert w["r"] == pytest.approx(fit["r"], rel=1e-4) and w["loglik"] == pytest.approx(fit["loglik"], rel=1e-6)



def test_large_data_path_subset_search_then_newton_polish_matches_the_full_search(monkeypatch):
    """Above 4 × WARM_START_ROWS distinct rows, both fits search on a subset and polish on all rows
    by Newton steps with the subset's Hessian. Shrinking the threshold sends 20k customers through
    that path: it must land on the full search's optimum (same parameters, loglik at least as good)."""
    truth = {"r": 0.8, "alpha": 12.0, "a": 0.9, "b": 4.0}
    rng = np.random.default_rng(5)
    T = rng.uniform(20, 150, 20_000)  # continuous T: every row distinct
    s = clv.simulate_bgnbd(20_000, **truth, T=T, seed=5)
    m = clv.simulate_gamma_gamma(s["frequency"], p=3.0, q=6.0, gamma=40.0, seed=6)
    full_bg = clv.fit_bgnbd(s["frequency"], s["recency"], s["T"])
    full_gg = clv.fit_gamma_gamma(s["frequency"], m)
    calls = []
    polish = clv.fitting.newton_polish
    monkeypatch.setattr(clv.fitting, "newton_polish", lambda *a, **k: calls.append(1) or polish(*a, **k))
    monkeypatch.setattr(clv.fitting, "WARM_START_ROWS", 1_000)
    bg = clv.fit_bgnbd(s["frequency"], s["recency"], s["T"])
    gg = clv.fit_gamma_gamma(s["frequency"], m)
    assert len(calls) == 2 and bg["converged"] and gg["converged"]
    for k in ("r", "alpha", "a", "b"):
        assert bg[k] == pytest.approx(full_bg[k], rel=1e-3), (k, bg, full_bg)
    for k in ("p", "q", "gamma"):
        assert gg[k] == pytest.approx(full_gg[k], rel=1e-3), (k, gg, full_gg)
    assert bg["loglik"] >= full_bg["loglik"] - 1e-6 * abs(full_bg["loglik"])
    assert gg["loglik"] >= full_gg["loglik"] - 1e-6 * abs(full_gg["loglik"])

# -- degenerate data --------------------------------------------------------------------------------

def test_degenerate_data_gives_clear_messages(store, write):
    with pytest.raises(cx.CXError, match="repeat"):
        clv.fit_bgnbd([0, 0, 0], [0, 0, 0], [5, 6, 7])
    with pytest.raises(cx.CXError, match="at least 2 customers"):
        clv.fit_bgnbd([3], [4.0], [6.0])
    with pytest.raises(cx.CXError, match="spend model"):
        clv.fit_gamma_gamma([2, 0], [10.0, 0.0])
    with pytest.raises(cx.CXError, match="same mean amount"):
        clv.fit_gamma_gamma([2, 3, 1], [10.0, 10.0, 10.0])
    # zero amounts on touchpoints that are not purchase touchpoints are not purchases ($0 *orders* are:
    # issue 21, tests/test_purchases.py)
    store.import_file(write("z.csv", "customer_id,timestamp,touchpoint,amount\na,2025-01-01,visit,0\n"
                                     "b,2025-01-02,visit,0\n"), dataset="z")
    with pytest.raises(cx.CXError, match="No purchases"):
        clv.summary(store, dataset="z")
    # one customer with repeat purchases: summary works, the model says what it needs
    store.import_file(write("o.csv", "customer_id,timestamp,touchpoint,amount\na,2025-01-01,order,10\n"
                                     "a,2025-01-09,order,12\n"), dataset="o")
    assert clv.summary(store, dataset="o").height == 1
    with pytest.raises(cx.CXError, match="at least 2 customers"):
        clv.customer_value(store, dataset="o")
    # no amount column at all
    store.import_file(write("n.csv", "customer_id,timestamp,touchpoint\na,2025-01-01,visit\n"), dataset="n")
    with pytest.raises(cx.CXError, match="amount"):
        clv.summary(store, dataset="n")


# -- the demo data: planted BG/NBD in weeks ---------------------------------------------------------

@pytest.fixture(scope="module")
def demo_value(demo):
    return clv.customer_value(demo, dataset="demo")


@pytest.fixture(scope="module")
def truth_customers():
    from tests.conftest import ROOT

    return pl.read_csv(ROOT / "sample_data" / "truth_customers.csv")


def test_demo_fit_matches_planted_population(demo_value, truth_customers):
    bg = demo_value.bgnbd
    buyers = truth_customers.filter(pl.col("n_purchases") > 0)
    assert demo_value.customers.height == buyers.height  # every customer who bought is found
    # population mean purchase rate E[λ] = r/α and mean dropout E[p] = a/(a+b) vs the planted latents
    assert bg["r"] / bg["alpha"] == pytest.approx(buyers["lam"].mean(), rel=0.10)
    assert bg["a"] / (bg["a"] + bg["b"]) == pytest.approx(buyers["p_drop"].mean(), rel=0.10)
    # mean spend per transaction: E[M] = p·γ/(q−1) vs the planted mean of p_group/ν over repeat buyers
    gg = demo_value.gamma_gamma
    import json

    from tests.conftest import ROOT

    groups = json.loads((ROOT / "sample_data" / "truth.json").read_text())["groups"]
    p_of = {g: v["gamma_gamma"]["p"] for g, v in groups.items()}
    rep = truth_customers.filter(pl.col("n_repeat") > 0)
    planted = (rep["behaviour"].replace_strict(p_of) / rep["nu"]).mean()
    assert gg["p"] * gg["gamma"] / (gg["q"] - 1) == pytest.approx(planted, rel=0.10)


def test_demo_p_alive_ranks_the_truly_alive(demo_value, truth_customers):
    df = demo_value.customers.join(truth_customers.select("customer_id", "alive"), on="customer_id")
    a, p = df["alive"].to_numpy(), df["p_alive"].to_numpy()
    from scipy.stats import mannwhitneyu

    auc = mannwhitneyu(p[a], p[~a]).statistic / (a.sum() * (~a).sum())
    assert auc > 0.85
    # calibrated on average: mean P(alive) ≈ share truly alive
    assert p.mean() == pytest.approx(a.mean(), abs=0.05)


def test_demo_holdout_check(demo):
    h = clv.holdout(demo, holdout_weeks=26, dataset="demo")
    tot = h["total"].row(0, named=True)
    assert abs(tot["error"]) < 0.10
    bf = h["by_frequency"]
    assert bf["frequency"].to_list() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert bf["customers"].sum() == tot["customers"]
    # more past repeat purchases, more holdout purchases (actual and predicted): the model sees it
    assert bf["predicted_mean"][-1] > bf["predicted_mean"][1] and bf["actual_mean"][-1] > bf["actual_mean"][1]
    tr = h["tracking"]
    assert tr["actual"][-1] == tot["actual"] and tr["predicted"][-1] == pytest.approx(tot["predicted"])
    assert tr["predicted"].is_sorted() and tr["actual"].is_sorted()


def test_demo_value_breakdowns_and_concentration(demo):
    by = clv.value_by(demo, "persona", dataset="demo")
    assert by["customers"].sum() > 3000 and by["share_of_clv"].sum() == pytest.approx(1.0)
    co = clv.value_by(demo, "cohort", dataset="demo")
    assert co["group"].is_sorted()
    c = clv.concentration(demo, dataset="demo")
    assert c.height == 100 and c["value_share"][-1] == pytest.approx(1.0)
    assert 0.1 < c["value_share"][9] < 0.6  # the top decile holds more than its share
    with pytest.raises(cx.CXError):
        clv.value_by(demo, "no_such_column", dataset="demo")


def test_demo_outreach(demo, demo_value):
    o = clv.outreach(demo, dataset="demo")
    assert o.height > 10
    assert o["value_at_risk"].is_sorted(descending=True)
    assert o["reasons"].str.len_chars().min() > 0
    top_quarter = demo_value.customers["predicted_clv"].quantile(0.75)
    assert o["predicted_clv"].min() >= top_quarter - 1e-9
    v = o.row(0, named=True)
    assert v["value_at_risk"] == pytest.approx(v["predicted_clv"] * (1 - v["p_alive"]))
    assert any("incident" in r or "detractor" in r for r in o["reasons"])
    assert to_csv_bytes(o).startswith(b"customer_id,")


def test_value_by_saved_segment(demo_db, tmp_path):
    db = copy_demo(demo_db, tmp_path / "seg.duckdb")
    s = cx.open(db)
    try:
        with pytest.raises(cx.CXError, match="Segments page"):
            clv.value_by(s, "segment", dataset="demo")
        s.save_segment("VIP", ["C000002", "C000004", "C000007"], dataset="demo")
        by = clv.value_by(s, "segment", dataset="demo")
        assert dict(zip(by["group"], by["customers"]))["VIP"] == 3
        assert by["customers"].sum() == clv.summary(s, dataset="demo").height  # the rest are "(unknown)"
    finally:
        s.close()


def test_expected_purchases_stays_finite_with_almost_no_dropout():
    """Small groups can fit huge a and b (almost nobody drops out): the Euler form's (1 − z)^(a−1)
    underflows while its 2F1 overflows. The untransformed form then gives finite values, under
    the no-drop-out bound (r + x) / (α + T) · t · P(alive), and close to it since a/(a+b) is small."""
    import warnings

    import numpy as np

    p = {"r": 1.659373342296535, "alpha": 31.543566510272203, "a": 997.1644080934632, "b": 7440.895481165333}
    x, tx, T = np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 0.0, 0.4285, 2.571]), np.array([0.2857, 2.714, 1.1428, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = clv.expected_purchases(p, 39.134, x, tx, T)
    bound = (p["r"] + x) / (p["alpha"] + T) * 39.134 * clv.p_alive(p, x, tx, T)
    assert np.all(np.isfinite(e)) and np.all(e > 0.7 * bound) and np.all(e < bound)
    # where both forms are finite they agree (the transform is an identity)
    q = {"r": 0.8, "alpha": 5.0, "a": 3.0, "b": 6.0}
    from scipy import special

    z = 10.0 / (q["alpha"] + T + 10.0)
    c = q["a"] + q["b"] + x - 1
    euler = (1 - z) ** (q["a"] - 1) * special.hyp2f1(q["a"] + q["b"] - 1 - q["r"], q["a"] - 1, c, z)
    plain = (1 - z) ** (q["r"] + x) * special.hyp2f1(q["r"] + x, q["b"] + x, c, z)
    np.testing.assert_allclose(euler, plain, rtol=1e-10)
