"""Uncertainty, defined once: intervals for every figure shown as a level, tests for every change
between two periods or groups, false-discovery control for scans over many groups, and control
charts for KPI series. Every page, the overview, the digest and the tests use these functions.

Inputs are aggregates (counts, sums, sums of squares) that the metric queries compute in the same
pass as the figures, so nothing here loops over rows; bootstraps run on per-customer values.
Where scipy or statsmodels already does it (Wilson intervals, Newcombe's difference of
proportions, Welch's t, exact Poisson and binomial tests, Benjamini–Hochberg, the bootstrap), it
is called, not re-written.

How to read the results (also in the Glossary):
- an interval is where the true value lies with the stated confidence (95% by default) given the
  sample: "45 ± 6" means 39 to 51;
- a change is *significant* when a test at that level says the two periods differ; otherwise it
  "could be chance": the difference is within what sampling alone produces;
- fewer than MIN_N answers (30) is "too few to compare": shown, never coloured or ranked.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_N = 30  # answers (or units) below which a figure is shown but never compared or ranked
LEVEL = 0.95


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def _ok(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


@dataclass(frozen=True)
class Estimate:
    """A figure with its interval: value, low, high (None when it cannot be computed), n (the
    answers, units or customers behind it)."""
    value: float | None
    low: float | None
    high: float | None
    n: int

    @property
    def margin(self) -> float | None:
        """Half the interval's width (the "± x" of the figure)."""
        if not (_ok(self.low) and _ok(self.high)):
            return None
        return (self.high - self.low) / 2

    @property
    def small(self) -> bool:
        return self.n < MIN_N


@dataclass(frozen=True)
class Change:
    """A difference b − a between two periods or groups, with its interval and test."""
    a: float | None
    b: float | None
    diff: float | None
    low: float | None
    high: float | None
    p_value: float | None
    n_a: int
    n_b: int
    level: float = LEVEL
    min_n: int = MIN_N

    @property
    def enough(self) -> bool:
        """Both sides have at least min_n answers (units): the comparison may be made."""
        return self.n_a >= self.min_n and self.n_b >= self.min_n

    @property
    def significant(self) -> bool:
        return (self.enough and self.p_value is not None and not math.isnan(self.p_value)
                and self.p_value < 1 - self.level)

    @property
    def margin(self) -> float | None:
        if not (_ok(self.low) and _ok(self.high)):
            return None
        return (self.high - self.low) / 2

    def direction(self) -> str:
        """"up" or "down" when significant, "steady" when it could be chance, "few" when either
        side has too few answers, "unknown" without both values."""
        if self.a is None or self.b is None or self.diff is None:
            return "unknown"
        if not self.enough:
            return "few"
        if not self.significant:
            return "steady"
        return "up" if self.diff > 0 else "down"


# -- intervals ----------------------------------------------------------------------------------

def nps(promoters: int, detractors: int, n: int, level: float = LEVEL) -> Estimate:
    """NPS = 100 × (promoters − detractors) ÷ n with a normal interval from the multinomial
    variance of (promoter = +1, passive = 0, detractor = −1): Var = (p + d − (p − d)²) ÷ n. One
    pseudo-answer per category is added to the variance only (an adjusted Wald interval), so 10
    promoters out of 10 still carry uncertainty. Clipped to −100..100."""
    if n <= 0:
        return Estimate(None, None, None, 0)
    value = 100.0 * (promoters - detractors) / n
    pa, da, na = (promoters + 1) / (n + 3), (detractors + 1) / (n + 3), n + 3
    se = 100.0 * math.sqrt(max(pa + da - (pa - da) ** 2, 0.0) / na)
    z = _z(level)
    return Estimate(value, max(-100.0, value - z * se), min(100.0, value + z * se), int(n))


def nps_se(promoters: int, detractors: int, n: int) -> float | None:
    """The standard error (points) of an NPS, as in :func:`nps` (adjusted multinomial variance)."""
    if n <= 0:
        return None
    pa, da = (promoters + 1) / (n + 3), (detractors + 1) / (n + 3)
    return 100.0 * math.sqrt(max(pa + da - (pa - da) ** 2, 0.0) / (n + 3))


def rate(k: int, n: int, level: float = LEVEL) -> Estimate:
    """A share k ÷ n (CSAT top-2-box, retention, conversion, repeat rate) with Wilson's interval
    (statsmodels.stats.proportion.proportion_confint, method="wilson"). Fractions, 0..1."""
    if n <= 0:
        return Estimate(None, None, None, 0)
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(int(k), int(n), alpha=1 - level, method="wilson")
    return Estimate(k / n, float(lo), float(hi), int(n))


def wilson(k, n, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Wilson intervals of many shares at once (arrays of successes and trials): (low, high), NaN
    where n is 0 (statsmodels proportion_confint, vectorised)."""
    from statsmodels.stats.proportion import proportion_confint

    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    safe = np.where(n > 0, n, 1.0)
    lo, hi = proportion_confint(np.minimum(k, safe), safe, alpha=1 - level, method="wilson")
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    return np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def with_rate_interval(df, k: str, n: str, level: float = LEVEL, names=("low", "high")):
    """A polars frame plus the Wilson interval of k ÷ n on every row (null where n is 0)."""
    import polars as pl

    lo, hi = wilson(df[k].to_numpy(), df[n].to_numpy(), level)
    return df.with_columns(pl.Series(names[0], lo).fill_nan(None), pl.Series(names[1], hi).fill_nan(None))


def mean(n: int, total: float, total_sq: float, level: float = LEVEL) -> Estimate:
    """A mean (CES, a score) with Student's t interval, from the aggregates n, Σx and Σx²."""
    if n <= 0:
        return Estimate(None, None, None, 0)
    m = total / n
    if n == 1:
        return Estimate(m, None, None, 1)
    from scipy.stats import t

    var = max((total_sq - total * total / n) / (n - 1), 0.0)
    half = float(t.ppf(0.5 + level / 2, n - 1)) * math.sqrt(var / n)
    return Estimate(m, m - half, m + half, int(n))


def count(k: int, level: float = LEVEL) -> Estimate:
    """A count (active customers, purchases) as a Poisson variable: the exact (Garwood) interval."""
    from scipy.stats import chi2

    k = int(k)
    a = 1 - level
    lo = 0.0 if k == 0 else float(chi2.ppf(a / 2, 2 * k) / 2)
    hi = float(chi2.ppf(1 - a / 2, 2 * k + 2) / 2)
    return Estimate(float(k), lo, hi, k)


def total(sum_x: float, sum_x2: float, n: int, level: float = LEVEL) -> Estimate:
    """A total of amounts (revenue) made of many units' totals x_i: a compound-Poisson normal
    interval, Var(Σx) ≈ Σx² (the units that bought are themselves a random number)."""
    if n <= 0:
        return Estimate(0.0 if n == 0 else None, None, None, max(int(n), 0))
    half = _z(level) * math.sqrt(max(sum_x2, 0.0))
    return Estimate(float(sum_x), float(sum_x) - half, float(sum_x) + half, int(n))


BOOTSTRAP_MAX_N = 20_000


def bootstrap_mean(values, level: float = LEVEL, resamples: int = 2000, seed: int = 0) -> Estimate:
    """The mean of per-unit values (average CLV over customers, a health score) with a bootstrap
    percentile interval over the units (scipy.stats.bootstrap). Above BOOTSTRAP_MAX_N units the
    bootstrap distribution of a mean is normal to within its own resampling noise (central limit
    theorem: its skew shrinks as 1/√n), so the interval is the normal one, mean ± z·s/√n: the
    same figure without resampling hundreds of thousands of customers 2,000 times (4 GB, a minute
    at 263k buyers)."""
    x = np.asarray([v for v in values if v is not None], dtype=float)
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return Estimate(None, None, None, 0)
    m = float(x.mean())
    if n == 1 or float(x.std()) == 0.0:
        return Estimate(m, m if n > 1 else None, m if n > 1 else None, n)
    if n > BOOTSTRAP_MAX_N:
        half = _z(level) * float(x.std(ddof=1)) / math.sqrt(n)
        return Estimate(m, m - half, m + half, n)
    from scipy.stats import bootstrap

    res = bootstrap((x,), np.mean, confidence_level=level, n_resamples=resamples, method="percentile",
                    random_state=np.random.default_rng(seed), vectorized=True)
    return Estimate(m, float(res.confidence_interval.low), float(res.confidence_interval.high), n)


# -- changes between two periods (or a group and the rest) ----------------------------------------

def _normal_change(a, b, se, n_a, n_b, level, min_n=MIN_N) -> Change:
    from scipy.stats import norm

    diff = b - a
    if se is None or se <= 0:
        p = 0.0 if diff != 0 else 1.0  # no variation at all: the difference is exact
        return Change(a, b, diff, diff, diff, p, n_a, n_b, level, min_n)
    z = _z(level)
    p = float(2 * norm.sf(abs(diff) / se))
    return Change(a, b, diff, diff - z * se, diff + z * se, p, n_a, n_b, level, min_n)


def nps_change(prom_a: int, det_a: int, n_a: int, prom_b: int, det_b: int, n_b: int,
               level: float = LEVEL) -> Change:
    """NPS b − NPS a (points): a two-sample z-test with the multinomial variances of :func:`nps`."""
    if n_a <= 0 or n_b <= 0:
        return Change(nps(prom_a, det_a, n_a).value, nps(prom_b, det_b, n_b).value, None, None, None, None,
                      max(n_a, 0), max(n_b, 0), level)
    a, b = nps(prom_a, det_a, n_a).value, nps(prom_b, det_b, n_b).value
    se = math.hypot(nps_se(prom_a, det_a, n_a), nps_se(prom_b, det_b, n_b))
    return _normal_change(a, b, se, n_a, n_b, level)


def rate_change(k_a: int, n_a: int, k_b: int, n_b: int, level: float = LEVEL, min_n: int = MIN_N) -> Change:
    """Share b − share a (fractions): Newcombe's hybrid-score interval for the difference
    (statsmodels confint_proportions_2indep, method="newcomb") and the two-proportion z-test
    (statsmodels proportions_ztest, pooled)."""
    if n_a <= 0 or n_b <= 0:
        return Change(k_a / n_a if n_a > 0 else None, k_b / n_b if n_b > 0 else None, None, None, None, None,
                      max(n_a, 0), max(n_b, 0), level, min_n)
    a, b = k_a / n_a, k_b / n_b
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    lo, hi = confint_proportions_2indep(k_b, n_b, k_a, n_a, method="newcomb", compare="diff", alpha=1 - level)
    if (k_a + k_b) in (0, n_a + n_b):  # all or nothing on both sides: no variation to test
        p = 1.0 if a == b else 0.0
    else:
        p = float(proportions_ztest([k_b, k_a], [n_b, n_a])[1])
    return Change(a, b, b - a, float(lo), float(hi), p, int(n_a), int(n_b), level, min_n)


def mean_change(n_a: int, sum_a: float, sumsq_a: float, n_b: int, sum_b: float, sumsq_b: float,
                level: float = LEVEL) -> Change:
    """Mean b − mean a: Welch's t-test from the aggregates (scipy.stats.ttest_ind_from_stats)."""
    if n_a <= 0 or n_b <= 0:
        return Change(sum_a / n_a if n_a > 0 else None, sum_b / n_b if n_b > 0 else None, None, None, None,
                      None, max(n_a, 0), max(n_b, 0), level)
    ma, mb = sum_a / n_a, sum_b / n_b
    if n_a < 2 or n_b < 2:
        return Change(ma, mb, mb - ma, None, None, None, n_a, n_b, level)
    va = max((sumsq_a - sum_a * sum_a / n_a) / (n_a - 1), 0.0)
    vb = max((sumsq_b - sum_b * sum_b / n_b) / (n_b - 1), 0.0)
    se2 = va / n_a + vb / n_b
    if se2 <= 0:
        return _normal_change(ma, mb, 0.0, n_a, n_b, level)
    from scipy.stats import t, ttest_ind_from_stats

    res = ttest_ind_from_stats(mb, math.sqrt(vb), n_b, ma, math.sqrt(va), n_a, equal_var=False)
    df = se2 ** 2 / ((va / n_a) ** 2 / (n_a - 1) + (vb / n_b) ** 2 / (n_b - 1))
    half = float(t.ppf(0.5 + level / 2, df)) * math.sqrt(se2)
    return Change(ma, mb, mb - ma, mb - ma - half, mb - ma + half, float(res.pvalue), n_a, n_b, level)


def count_change(k_a: int, k_b: int, level: float = LEVEL, min_n: int = 0) -> Change:
    """Count b − count a of two Poisson counts over equal periods: the exact conditional test
    (given k_a + k_b, k_b is binomial with p = ½: scipy.stats.binomtest) and a normal interval
    (Var = k_a + k_b). Counts are never "too few" unless min_n says so."""
    from scipy.stats import binomtest

    k_a, k_b = int(k_a), int(k_b)
    diff = k_b - k_a
    if k_a + k_b == 0:
        return Change(0.0, 0.0, 0.0, 0.0, 0.0, 1.0, k_a, k_b, level, min_n)
    p = float(binomtest(k_b, k_a + k_b, 0.5).pvalue)
    half = _z(level) * math.sqrt(k_a + k_b)
    return Change(float(k_a), float(k_b), float(diff), diff - half, diff + half, p, k_a, k_b, level, min_n)


def total_change(sum_a: float, sumsq_a: float, n_a: int, sum_b: float, sumsq_b: float, n_b: int,
                 level: float = LEVEL, min_n: int = 0) -> Change:
    """Total b − total a of amounts (revenue): a z-test with the compound-Poisson variances of
    :func:`total` (Var = Σx² on each side)."""
    if n_a <= 0 and n_b <= 0:
        return Change(None, None, None, None, None, None, 0, 0, level, min_n)
    se = math.sqrt(max(sumsq_a, 0.0) + max(sumsq_b, 0.0))
    ch = _normal_change(float(sum_a), float(sum_b), se, int(n_a), int(n_b), level, min_n)
    return ch


# -- many groups at once -------------------------------------------------------------------------------

def fdr(p_values, alpha: float = 1 - LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini–Hochberg over a scan of many groups (statsmodels multipletests, "fdr_bh"): which
    to report (reject) and the adjusted p-values. Missing p-values are never reported."""
    p = np.asarray([1.0 if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in p_values],
                   dtype=float)
    if p.size == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    from statsmodels.stats.multitest import multipletests

    reject, adjusted, _, _ = multipletests(p, alpha=alpha, method="fdr_bh")
    return reject, adjusted


# -- control charts ------------------------------------------------------------------------------------

RUN_LENGTH = 8  # points in a row on one side of the centre line: a shift (Western Electric rule 2)
TREND_LENGTH = 6  # points in a row going up (or down): a trend


@dataclass(frozen=True)
class ControlChart:
    """Centre line and control limits of a KPI series, and why each point is unusual (or "")."""
    kind: str  # "XmR" (individuals and moving range) or "p" (a p-chart for rates)
    center: float | None
    upper: list  # per point (an XmR chart's limits are the same for every point)
    lower: list
    signals: list  # per point: "" or a sentence


def xmr(values) -> ControlChart:
    """An individuals (XmR) chart: centre = mean, limits = mean ± 2.66 × the mean moving range.
    Points beyond a limit, runs of RUN_LENGTH on one side and trends of TREND_LENGTH are marked."""
    x = [None if v is None else float(v) for v in values]
    known = [v for v in x if v is not None]
    if len(known) < 3:
        return ControlChart("XmR", None, [None] * len(x), [None] * len(x), [""] * len(x))
    center = sum(known) / len(known)
    mrs = [abs(b - a) for a, b in zip(known, known[1:])]
    mr = sum(mrs) / len(mrs)
    up, lo = center + 2.66 * mr, center - 2.66 * mr
    return ControlChart("XmR", center, [up] * len(x), [lo] * len(x), _signals(x, center, [up] * len(x),
                                                                              [lo] * len(x)))


def p_chart(k, n) -> ControlChart:
    """A p-chart for a rate per period (k of n): centre p̄ = Σk ÷ Σn, limits p̄ ± 3 √(p̄(1−p̄)/nᵢ)
    for each period's own n. Rates are fractions 0..1."""
    k = [None if v is None else float(v) for v in k]
    n = [None if v is None else float(v) for v in n]
    pairs = [(a, b) for a, b in zip(k, n) if a is not None and b]
    if len(pairs) < 3:
        return ControlChart("p", None, [None] * len(k), [None] * len(k), [""] * len(k))
    pbar = sum(a for a, _ in pairs) / sum(b for _, b in pairs)
    up, lo, x = [], [], []
    for a, b in zip(k, n):
        if a is None or not b:
            up.append(None), lo.append(None), x.append(None)
            continue
        s = 3 * math.sqrt(pbar * (1 - pbar) / b)
        up.append(min(1.0, pbar + s)), lo.append(max(0.0, pbar - s)), x.append(a / b)
    return ControlChart("p", pbar, up, lo, _signals(x, pbar, up, lo))


def nps_chart(promoters, detractors, n) -> ControlChart:
    """An NPS chart: centre = the pooled NPS of all periods, limits = centre ± 3 standard errors of
    each period's own n (the multinomial variance at the pooled shares), like a p-chart."""
    rows = [(p, q, m) for p, q, m in zip(promoters, detractors, n)]
    known = [(p, q, m) for p, q, m in rows if p is not None and q is not None and m]
    if len(known) < 3:
        return ControlChart("NPS", None, [None] * len(rows), [None] * len(rows), [""] * len(rows))
    N = sum(m for _, _, m in known)
    pb, db = sum(p for p, _, _ in known) / N, sum(q for _, q, _ in known) / N
    center, var = 100.0 * (pb - db), max(pb + db - (pb - db) ** 2, 0.0)
    x, up, lo = [], [], []
    for p, q, m in rows:
        if p is None or q is None or not m:
            x.append(None), up.append(None), lo.append(None)
            continue
        s = 300.0 * math.sqrt(var / m)
        x.append(100.0 * (p - q) / m), up.append(min(100.0, center + s)), lo.append(max(-100.0, center - s))
    return ControlChart("NPS", center, up, lo, _signals(x, center, up, lo))


def mean_chart(n, total, total_sq) -> ControlChart:
    """An x̄ chart for a mean score per period (CES): centre = the pooled mean, limits = centre ± 3
    pooled standard deviations ÷ √(each period's n)."""
    rows = list(zip(n, total, total_sq))
    known = [(m, s, q) for m, s, q in rows if m and s is not None and q is not None]
    if len(known) < 3:
        return ControlChart("mean", None, [None] * len(rows), [None] * len(rows), [""] * len(rows))
    N, S, Q = sum(m for m, _, _ in known), sum(s for _, s, _ in known), sum(q for _, _, q in known)
    center = S / N
    sd = math.sqrt(max((Q - S * S / N) / max(N - 1, 1), 0.0))
    x, up, lo = [], [], []
    for m, s, q in rows:
        if not m or s is None:
            x.append(None), up.append(None), lo.append(None)
            continue
        h = 3 * sd / math.sqrt(m)
        x.append(s / m), up.append(center + h), lo.append(center - h)
    return ControlChart("mean", center, up, lo, _signals(x, center, up, lo))


def _signals(x, center, up, lo) -> list[str]:
    """Per point: beyond a limit, the end of a run of RUN_LENGTH on one side of the centre, or the
    end of TREND_LENGTH points each higher (lower) than the one before; "" otherwise."""
    out = [""] * len(x)
    run = side = ups = downs = 0
    last = None
    for i, v in enumerate(x):
        if v is None:
            continue
        s = (v > center) - (v < center)
        run = run + 1 if s != 0 and s == side else (1 if s != 0 else 0)
        side = s
        if last is not None:
            ups = ups + 1 if v > last else 0
            downs = downs + 1 if v < last else 0
        last = v
        if up[i] is not None and v > up[i]:
            out[i] = "above the upper control limit: unusual for this process"
        elif lo[i] is not None and v < lo[i]:
            out[i] = "below the lower control limit: unusual for this process"
        elif run >= RUN_LENGTH:
            out[i] = f"{run} periods in a row {'above' if side > 0 else 'below'} the centre line: a shift"
        elif max(ups, downs) + 1 >= TREND_LENGTH:
            out[i] = (f"{max(ups, downs) + 1} periods in a row going {'up' if ups else 'down'}: a trend")
    return out


# -- words ---------------------------------------------------------------------------------------------

def plus_minus(value: float | None, margin: float | None, fmt=lambda v: f"{v:.0f}", unit: str = "") -> str:
    """"−5 ± 19 pts", or the value alone when no margin is known."""
    if value is None:
        return "–"
    sign = "+" if value > 0 else "−" if value < 0 else ""
    body = f"{sign}{fmt(abs(value))}"
    if margin is None:
        return body + unit
    return f"{body} ± {fmt(margin)}{unit}"


def few(n: int, what: str = "answers") -> str:
    """"10 answers: too few to compare"."""
    return f"{n:,} {what}: too few to compare"
