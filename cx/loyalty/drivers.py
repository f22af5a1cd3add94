"""Key drivers: which touchpoint experiences move the outcome (latest NPS or repurchase), by
Johnson's relative weights, and the customers who rated one touchpoint.

The per-customer frame is one Ibis expression; the modelling (relative weights, quadrants) runs in
numpy/polars on it (`fit_drivers`, usable on any such frame).
"""
from __future__ import annotations

import ibis
import numpy as np
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..expr import is_purchase
from ..filters import Filters
from ..store import CXError
from .base import METRIC_LABELS, MIN_N, answers, latest


def relative_weights(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Johnson's (2000) relative weights of the columns of X on y, from the correlation matrix:
    R_xx = V diag(e) V' ; Λ = V diag(√e) V' (the symmetric square root, the correlations between
    the predictors and their orthogonal counterparts); β = Λ⁻¹ r_xy; weight_j = Σ_k Λ_jk² β_k².
    The weights sum to R² of the OLS regression of y on X. Returns (weights, R²)."""
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    c = np.corrcoef(np.column_stack([X, y]), rowvar=False)
    rxx, rxy = c[:-1, :-1], c[:-1, -1]
    e, v = np.linalg.eigh(rxx)
    lam = v @ np.diag(np.sqrt(np.clip(e, 0, None))) @ v.T
    beta = np.linalg.pinv(lam) @ rxy
    w = (lam ** 2) @ (beta ** 2)
    return w, float(w.sum())


BOOTSTRAP = 400  # resamples of customers for the weights' intervals


def bootstrap_weights(X: np.ndarray, y: np.ndarray, resamples: int = BOOTSTRAP, seed: int = 0, level: float = 0.95):
    """Bootstrap over customers (rows) of Johnson's relative weights, with a random-noise predictor
    added to every resample (Tonidandel & LeBreton, 2009): returns (low, high) of each weight, the
    (low, high) of each weight minus the noise predictor's (a driver is distinguishable from zero
    when that interval is above 0), the (low, high) of R², and the resampled weights (resamples ×
    predictors), for comparing two drivers."""
    rng = np.random.default_rng(seed)
    n, p = X.shape
    ws, diffs, r2s = np.empty((resamples, p)), np.empty((resamples, p)), np.empty(resamples)
    for b in range(resamples):  # resamples, not rows: each a small matrix computation
        idx = rng.integers(0, n, n)
        Xb, yb = X[idx], y[idx]
        noise = rng.standard_normal(n)
        ok = (Xb.std(axis=0) > 0)
        w = np.zeros(p + 1)
        cols = np.flatnonzero(np.append(ok, True))
        if yb.std() > 0:
            w[cols], r2 = relative_weights(np.column_stack([Xb, noise])[:, cols], yb)
        else:
            r2 = 0.0
        ws[b], diffs[b], r2s[b] = w[:p], w[:p] - w[p], r2
    a = (1 - level) / 2 * 100
    q = lambda m: (np.percentile(m, a, axis=0), np.percentile(m, 100 - a, axis=0))  # noqa: E731
    return q(ws), q(diffs), q(r2s), ws



@uses_data
def key_drivers(d: Data, outcome: str = "nps", metric: str = "csat", min_coverage: float = 0.05,
                horizon_days: int = 90, filters: Filters | None = None, dataset: str | None = None) -> dict:
    """Which touchpoint experiences move the outcome (Johnson's relative weights).

    Predictors: per customer, the mean `metric` score (CSAT by default) of each touchpoint.
    Outcome "nps": the customer's latest NPS answer (0–10). Outcome "repurchase": reference date =
    last interaction − `horizon_days`; predictors use answers before it; customers = those with a
    purchase before it; outcome = 1 when they purchase in the `horizon_days` after it, else 0.
    Customers need the outcome and at least one predictor. Touchpoints rated by fewer than
    `min_coverage` of them (or fewer than 30 customers) are left out; a customer who did not rate an
    included touchpoint gets that touchpoint's mean (mean imputation: it shrinks the weight of sparsely
    rated touchpoints; `imputed_share` says how much was filled).
    Returns {"drivers": touchpoint, importance (raw weight; they sum to R²), importance_share
    (weight / R²), performance (mean score of the touchpoint's answers), correlation (with the
    outcome), customers (who rated it), coverage, quadrant (Fix first = importance ≥ mean and
    performance < mean; Strength = ≥/≥; Maintain = </≥; Low priority = </<), negative_rank (1 = the
    most important "Fix first" touchpoint), importance_low / importance_high (a bootstrap interval
    over customers), distinguishable (its weight is above that of a random-noise predictor in 95% of
    the resamples: otherwise it cannot be told from zero), fix_first (the most important "Fix first"
    touchpoint, and only when its weight is above the next touchpoint's in 95% of the resamples),
    ordered by importance; "summary": one row: outcome, metric, customers, predictors, r2, r2_low,
    r2_high, imputed_share, dropped (touchpoints left out), fix_first (that touchpoint or null),
    verdict (the recommendation in words, honest about ties and noise)}."""
    if outcome not in ("nps", "repurchase"):
        raise ValueError("outcome is 'nps' or 'repurchase'")
    a = answers(d, metric)
    a = a.filter(a.customer_id.notnull() & a.touchpoint.notnull())
    if outcome == "nps":
        y = latest(answers(d, "nps").filter(_.customer_id.notnull()))
        y = y.select(_cid="customer_id", y=y.score.cast("float64"))
    else:
        t = d.interactions
        ref = t.aggregate(_ref=t.timestamp.max() - ibis.interval(days=horizon_days))
        tp = t.filter(is_purchase(d, t)).cross_join(ref)
        y = tp.group_by("customer_id").aggregate(
            _before=(_.timestamp < _._ref).sum(),
            _after=((_.timestamp >= _._ref) & (_.timestamp < _._ref + ibis.interval(days=horizon_days))).sum())
        y = y.filter(y._before > 0).select(_cid="customer_id", y=ibis.ifelse(y._after > 0, 1.0, 0.0))
        a = a.cross_join(ref)
        a = a.filter(a.timestamp < a._ref)
    per = (a.group_by(["customer_id", "touchpoint"]).aggregate(m=_.score.cast("float64").mean(), k=_.count()))
    per = per.inner_join(y, per.customer_id == y._cid).drop("_cid")
    return fit_drivers(per.to_polars(), outcome, metric, min_coverage, horizon_days)


def fit_drivers(long: pl.DataFrame, outcome: str = "nps", metric: str = "csat", min_coverage: float = 0.05,
                horizon_days: int = 90) -> dict:
    """The modelling half of `key_drivers`, on its per-customer frame: customer_id, touchpoint, m (the
    customer's mean score of the touchpoint), k (answers), y (the outcome)."""
    if long.height == 0:
        raise CXError(f"Key drivers need customers with both {METRIC_LABELS[metric]} answers on touchpoints and "
                      f"{'an NPS answer' if outcome == 'nps' else 'a purchase before the last ' + str(horizon_days) + ' days'}.")
    n_cust = long["customer_id"].n_unique()
    tps = (long.group_by("touchpoint")
           .agg(customers=pl.len(), performance=(pl.col("m") * pl.col("k")).sum() / pl.col("k").sum())
           .with_columns(coverage=pl.col("customers") / n_cust))
    keep = tps.filter((pl.col("coverage") >= min_coverage) & (pl.col("customers") >= MIN_N)).sort("touchpoint")
    dropped = tps.filter(~pl.col("touchpoint").is_in(keep["touchpoint"].implode()))["touchpoint"].sort().to_list()
    names = keep["touchpoint"].to_list()
    wide = (long.filter(pl.col("touchpoint").is_in(names))
            .pivot(on="touchpoint", index=["customer_id", "y"], values="m")
            .sort("customer_id"))  # a fixed row order: the bootstrap resamples the same rows on every engine
    if len(names) < 2 or wide.height < MIN_N or wide["y"].n_unique() < 2:
        raise CXError("Key drivers need at least two touchpoints rated by 30+ customers who also have the outcome "
                      f"(found {len(names)} touchpoint(s), {wide.height} customers).")
    X = wide.select(names)
    imputed = float(X.null_count().sum_horizontal()[0]) / (X.height * X.width)
    X = X.with_columns([pl.col(c).fill_null(pl.col(c).mean()) for c in names]).to_numpy()
    yv = wide["y"].to_numpy().astype(float)
    sd = X.std(axis=0)
    ok = sd > 0
    w = np.zeros(len(names))
    w[ok], r2 = relative_weights(X[:, ok], yv)
    corr = np.array([np.corrcoef(X[:, j], yv)[0, 1] if ok[j] else 0.0 for j in range(len(names))])
    drv = keep.with_columns(importance=pl.Series(w), correlation=pl.Series(corr))
    drv = drv.with_columns(importance_share=pl.col("importance") / r2 if r2 > 0 else pl.lit(0.0))
    hi_imp = pl.col("importance") >= pl.col("importance").mean()
    hi_perf = pl.col("performance") >= pl.col("performance").mean()
    drv = drv.with_columns(quadrant=pl.when(hi_imp & ~hi_perf).then(pl.lit("Fix first"))
                       .when(hi_imp & hi_perf).then(pl.lit("Strength"))
                       .when(~hi_imp & hi_perf).then(pl.lit("Maintain")).otherwise(pl.lit("Low priority")))
    drv = drv.sort(["importance", "touchpoint"], descending=[True, False])
    fix = (pl.col("quadrant") == "Fix first")
    drv = drv.with_columns(negative_rank=pl.when(fix).then(fix.cast(pl.Int64).cum_sum()).otherwise(None))
    (lo, hi), (dlo, _dhi), (r2lo, r2hi), ws = bootstrap_weights(X, yv)
    order = {n: j for j, n in enumerate(names)}
    j_of = [order[t] for t in drv["touchpoint"].to_list()]
    drv = drv.with_columns(importance_low=pl.Series([float(lo[j]) for j in j_of]),
                           importance_high=pl.Series([float(hi[j]) for j in j_of]),
                           distinguishable=pl.Series([bool(dlo[j] > 0) for j in j_of]))
    first, verdict = _fix_first(drv, ws, order)
    drv = drv.with_columns(fix_first=pl.col("touchpoint") == first if first else pl.lit(False))
    drv = drv.select("touchpoint", "importance", "importance_share", "performance", "correlation", "customers",
                     "coverage", "quadrant", "negative_rank", "importance_low", "importance_high", "distinguishable",
                     "fix_first")
    summary = pl.DataFrame({"outcome": [outcome], "metric": [metric], "customers": [wide.height],
                            "predictors": [len(names)], "r2": [r2], "r2_low": [float(r2lo)], "r2_high": [float(r2hi)],
                            "imputed_share": [imputed], "dropped": [", ".join(dropped)], "fix_first": [first],
                            "verdict": [verdict]}, schema_overrides={"fix_first": pl.Utf8})
    return {"drivers": drv, "summary": summary}


def _fix_first(drv: pl.DataFrame, ws: np.ndarray, order: dict) -> tuple[str | None, str]:
    """The touchpoint to fix first, only when the data says so clearly: the most important "Fix
    first" touchpoint that can be told from noise and whose weight is above the next most important
    touchpoint's in 95% of the resamples. The verdict says what the data supports."""
    cand = drv.filter((pl.col("quadrant") == "Fix first") & pl.col("distinguishable"))
    if not cand.height:
        return None, ("No touchpoint that scores below average matters more than noise: nothing to fix first "
                      "from these answers.")
    top = cand["touchpoint"][0]
    others = [t for t in drv["touchpoint"].to_list() if t != top]
    nxt = max(others, key=lambda t: float(drv.filter(pl.col("touchpoint") == t)["importance"][0]), default=None)
    share = float(cand["importance_share"][0])
    if nxt is None:
        return top, f"Fix {top} first: it carries {share:.0%} of the explained outcome."
    ahead = float(np.mean(ws[:, order[top]] > ws[:, order[nxt]]))
    if ahead >= 0.95:
        return top, (f"Fix {top} first: it carries {share:.0%} of the explained outcome, clearly more than {nxt} "
                     f"(ahead in {ahead:.0%} of the resamples).")
    return None, (f"{top} scores below average and matters ({share:.0%} of the explained outcome), but it is not "
                  f"clearly ahead of {nxt} (ahead in only {ahead:.0%} of the resamples): treat them as tied.")


@uses_data
def driver_members(d: Data, touchpoint: str, metric: str = "csat", filters: Filters | None = None,
                   dataset: str | None = None) -> pl.DataFrame:
    """The customers who rated one touchpoint (a point of the quadrant): customer_id, answers,
    mean_score (lowest first), last_answer."""
    a = answers(d, metric)
    a = a.filter((a.touchpoint == touchpoint) & a.customer_id.notnull())
    g = a.group_by("customer_id").aggregate(answers=_.count(), mean_score=_.score.cast("float64").mean(),
                                            last_answer=_.timestamp.max())
    return g.order_by(["mean_score", "customer_id"]).to_polars()
