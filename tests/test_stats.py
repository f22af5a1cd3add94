"""cx.stats: intervals and tests against textbook values and scipy/statsmodels, degenerate inputs,
and the error rates they promise (false alarms near 5% under no change, a planted shift found)."""
import math

import numpy as np
import pytest

from cx import stats


def approx(a, b, tol=1e-6):
    return a == pytest.approx(b, abs=tol)


# -- intervals --------------------------------------------------------------------------------------
def test_nps_interval_is_the_adjusted_multinomial_one():
    e = stats.nps(50, 20, 100)
    assert e.value == 30.0 and e.n == 100
    pa, da = 51 / 103, 21 / 103
    se = 100 * math.sqrt((pa + da - (pa - da) ** 2) / 103)
    assert approx(e.low, 30 - 1.959963985 * se) and approx(e.high, 30 + 1.959963985 * se)
    assert approx(e.margin, 1.959963985 * se) and 15.0 < e.margin < 15.3
    # all promoters out of 10: still uncertain, clipped at +100
    ten = stats.nps(10, 0, 10)
    assert ten.value == 100.0 and ten.high == 100.0 and ten.low < 80
    assert stats.nps(0, 0, 0) == stats.Estimate(None, None, None, 0)


def test_rate_is_wilson():
    e = stats.rate(8, 10)
    z = 1.959963985
    centre = (8 + z * z / 2) / (10 + z * z)
    half = z / (10 + z * z) * math.sqrt(8 * 2 / 10 + z * z / 4)
    assert approx(e.value, 0.8) and approx(e.low, centre - half) and approx(e.high, centre + half)
    assert approx(e.low, 0.4901624, 1e-6) and approx(e.high, 0.9433178, 1e-6)
    assert stats.rate(0, 0).value is None
    zero = stats.rate(0, 25)
    assert zero.value == 0.0 and zero.low == pytest.approx(0.0, abs=1e-12) and zero.high > 0.1


def test_mean_is_student_t_from_aggregates():
    x = np.array([1.0, 2, 3, 4, 5])
    e = stats.mean(5, x.sum(), (x * x).sum())
    assert e.value == 3.0
    assert approx(e.low, 3 - 2.7764451 * 1.5811388 / math.sqrt(5)) and approx(e.high, 4.963243, 1e-5)
    one = stats.mean(1, 4.0, 16.0)
    assert one.value == 4.0 and one.low is None and one.margin is None
    same = stats.mean(40, 40 * 5.0, 40 * 25.0)  # every answer a 5: no spread
    assert same.value == 5.0 and same.low == 5.0 and same.high == 5.0


def test_count_is_the_exact_poisson_interval():
    e = stats.count(10)
    assert approx(e.low, 4.795389, 1e-5) and approx(e.high, 18.390356, 1e-5)  # Garwood's table
    z = stats.count(0)
    assert z.low == 0.0 and approx(z.high, 3.688879, 1e-5)


def test_total_is_compound_poisson():
    amounts = np.array([100.0, 50, 250, 80])
    e = stats.total(amounts.sum(), (amounts ** 2).sum(), 4)
    assert e.value == 480.0 and approx(e.margin, 1.959963985 * math.sqrt((amounts ** 2).sum()))


def test_bootstrap_mean_brackets_the_mean_and_is_reproducible():
    rng = np.random.default_rng(1)
    x = rng.gamma(2.0, 50.0, size=400)
    a = stats.bootstrap_mean(x, seed=3)
    b = stats.bootstrap_mean(x, seed=3)
    assert a == b and a.low < x.mean() < a.high
    se = x.std(ddof=1) / math.sqrt(400)  # percentile bootstrap ~ normal theory here
    assert a.margin == pytest.approx(1.96 * se, rel=0.15)
    assert stats.bootstrap_mean([]).value is None and stats.bootstrap_mean([None, 3.0]).n == 1


# -- changes ----------------------------------------------------------------------------------------
def test_rate_change_matches_statsmodels():
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    c = stats.rate_change(30, 100, 45, 100)
    lo, hi = confint_proportions_2indep(45, 100, 30, 100, method="newcomb")
    assert approx(c.diff, 0.15) and approx(c.low, lo) and approx(c.high, hi)
    assert approx(c.p_value, proportions_ztest([45, 30], [100, 100])[1])
    assert c.significant and c.direction() == "up"
    small = stats.rate_change(3, 10, 8, 12)
    assert not small.enough and small.direction() == "few" and not small.significant


def test_mean_change_is_welch():
    from scipy.stats import ttest_ind

    rng = np.random.default_rng(0)
    a, b = rng.normal(4.8, 1.2, 71), rng.normal(4.4, 1.5, 48)
    c = stats.mean_change(71, a.sum(), (a * a).sum(), 48, b.sum(), (b * b).sum())
    assert approx(c.p_value, ttest_ind(b, a, equal_var=False).pvalue, 1e-9)
    assert approx(c.diff, b.mean() - a.mean(), 1e-9) and c.low < c.diff < c.high


def test_nps_change_is_a_z_test_on_the_multinomial_variances():
    c = stats.nps_change(40, 20, 100, 50, 15, 100)  # +20 -> +35
    se = math.hypot(stats.nps_se(40, 20, 100), stats.nps_se(50, 15, 100))
    from scipy.stats import norm

    assert c.diff == 15.0 and approx(c.p_value, 2 * norm.sf(15 / se)) and approx(c.margin, 1.959963985 * se)
    # the week: NPS -40 pts from 10 answers against 15: too few to compare
    wk = stats.nps_change(6, 2, 15, 2, 4, 10)
    assert wk.diff < -30 and wk.direction() == "few"


def test_count_and_total_changes():
    from scipy.stats import binomtest

    c = stats.count_change(20, 40)
    assert c.diff == 20 and approx(c.p_value, binomtest(40, 60, 0.5).pvalue) and c.direction() == "up"
    assert stats.count_change(100, 104).direction() == "steady"
    assert stats.count_change(0, 0).direction() == "steady"
    t = stats.total_change(1000.0, 1000.0 * 100, 10, 1000.0, 1000.0 * 100, 10)
    assert t.diff == 0.0 and t.direction() == "steady"


def test_degenerate_inputs_never_give_nan():
    for ch in (stats.rate_change(0, 0, 5, 40), stats.mean_change(0, 0, 0, 40, 200, 1000),
               stats.nps_change(0, 0, 0, 10, 5, 40), stats.rate_change(40, 40, 40, 40),
               stats.mean_change(40, 200, 1000, 40, 200, 1000), stats.rate_change(0, 50, 0, 50)):
        for v in (ch.diff, ch.low, ch.high, ch.p_value):
            assert v is None or not math.isnan(v), ch
        assert ch.direction() in ("unknown", "steady", "few")
    same = stats.mean_change(40, 200.0, 1000.0, 40, 240.0, 1440.0)  # every answer 5, then every answer 6
    assert same.significant and same.direction() == "up"


def test_fdr_is_benjamini_hochberg():
    reject, adj = stats.fdr([0.01, 0.04, 0.03, 0.005, 0.5])
    # sorted .005 .01 .03 .04 .5 against .01 .02 .03 .04 .05: the first four pass
    assert reject.tolist() == [True, True, True, True, False]
    assert approx(adj[3], 0.025) and approx(adj[4], 0.5)
    assert stats.fdr([None, float("nan")])[0].tolist() == [False, False]
    assert stats.fdr([])[0].size == 0


# -- control charts ---------------------------------------------------------------------------------
def test_xmr_limits_and_signals():
    x = [10, 12, 11, 13, 12, 11, 12, 30]
    cc = stats.xmr(x)
    center = sum(x) / len(x)
    mr = sum(abs(b - a) for a, b in zip(x, x[1:])) / 7
    assert approx(cc.center, center) and approx(cc.upper[0], center + 2.66 * mr)
    assert cc.signals[-1].startswith("above the upper control limit")
    assert all(s == "" for s in cc.signals[:-1])
    run = stats.xmr([12, 14, 11, 13, 12, 14, 11, 13, 8, 6, 9, 7, 8, 6, 9, 7])
    assert run.center == 10 and "8 periods in a row above" in run.signals[7] and run.signals[6] == ""
    assert "8 periods in a row below" in run.signals[15]
    trend = stats.xmr([5, 9, 1, 8, 2, 3, 4, 5, 6, 7, 2, 9, 1])
    assert "6 periods in a row going up" in trend.signals[9] and sum(map(bool, trend.signals)) == 1
    assert stats.xmr([1, None]).center is None


def test_p_chart_uses_each_periods_n():
    k, n = [20, 22, 18, 21, 60], [100, 110, 90, 100, 100]
    cc = stats.p_chart(k, n)
    pbar = sum(k) / sum(n)
    assert approx(cc.center, pbar) and approx(cc.upper[1], pbar + 3 * math.sqrt(pbar * (1 - pbar) / 110))
    assert cc.signals[-1].startswith("above") and cc.signals[0] == ""


# -- what the tests promise -------------------------------------------------------------------------
def _answers(rng, n, p_prom, p_det):
    u = rng.random(n)
    return int((u < p_prom).sum()), int(((u >= p_prom) & (u < p_prom + p_det)).sum())


def test_no_change_flags_about_five_percent_and_a_real_shift_is_found():
    """A small programme: 60 NPS answers a month from the same population every month. Fixed
    thresholds called ~90% of such months a change; the test calls about 5%."""
    rng = np.random.default_rng(42)
    flagged = 0
    sims = 2000
    for _ in range(sims):
        pa, da = _answers(rng, 60, 0.45, 0.25)
        pb, db = _answers(rng, 60, 0.45, 0.25)
        flagged += stats.nps_change(pa, da, 60, pb, db, 60).significant
    assert 0.02 < flagged / sims < 0.075
    # a planted 25-point rise with 400 answers a month is found nearly always
    found = 0
    for _ in range(200):
        pa, da = _answers(rng, 400, 0.40, 0.25)
        pb, db = _answers(rng, 400, 0.55, 0.15)
        found += stats.nps_change(pa, da, 400, pb, db, 400).direction() == "up"
    assert found / 200 > 0.95


def test_words():
    assert stats.plus_minus(-5.2, 19.4, unit=" pts") == "−5 ± 19 pts"
    assert stats.plus_minus(3.0, None) == "+3"
    assert stats.plus_minus(None, 2) == "–"
    assert stats.few(10) == "10 answers: too few to compare"


def test_nps_and_mean_charts_use_each_periods_n():
    cc = stats.nps_chart([30, 30, 28, 340], [15, 15, 16, 20], [60, 60, 60, 400])
    pb, db = 428 / 580, 66 / 580
    assert approx(cc.center, 100 * (pb - db))
    assert approx(cc.upper[3], 100 * (pb - db) + 300 * math.sqrt((pb + db - (pb - db) ** 2) / 400))
    assert cc.signals[3].startswith("above")
    m = stats.mean_chart([40, 40, 40, 40], [200.0, 196.0, 204.0, 160.0], [1010.0, 990.0, 1050.0, 660.0])
    assert approx(m.center, 760 / 160) and m.signals[3].startswith("below")


def test_wilson_vectorised_matches_the_scalar_one():
    import polars as pl

    df = pl.DataFrame({"k": [8, 0, 3], "n": [10, 0, 3]})
    out = stats.with_rate_interval(df, "k", "n")
    e = stats.rate(8, 10)
    assert out["low"][0] == pytest.approx(e.low) and out["high"][0] == pytest.approx(e.high)
    assert out["low"][1] is None and out["high"][2] == pytest.approx(1.0)


def test_the_mean_of_many_units_takes_the_normal_interval_the_bootstrap_would_give():
    import numpy as np
    from scipy.stats import bootstrap

    from cx import stats as st

    x = np.random.default_rng(3).lognormal(3.0, 1.0, 30_000)  # skewed, like CLV
    e = st.bootstrap_mean(x.tolist())
    half = 1.959963984540054 * x.std(ddof=1) / np.sqrt(x.size)
    assert e.n == 30_000 and abs(e.low - (x.mean() - half)) < 1e-9 and abs(e.high - (x.mean() + half)) < 1e-9
    ref = bootstrap((x,), np.mean, n_resamples=400, method="percentile", random_state=np.random.default_rng(0),
                    vectorized=True, batch=50).confidence_interval
    assert abs(e.low - ref.low) < 0.1 * half and abs(e.high - ref.high) < 0.1 * half  # the same interval
