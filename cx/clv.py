"""Customer lifetime value: historical (net revenue to date) and predicted (BG/NBD × Gamma-Gamma).

Definitions (one each):
- A *purchase* is an interaction with amount > 0. Purchases on the same calendar day (UTC) merge into
  one *purchase day* whose amount is their sum. Refunds (amount < 0) are not purchases: they do not
  reduce the monetary value the spend model sees (the model needs positive spend per transaction),
  but they do reduce the *historical value* (net revenue to date = sum of every amount, refunds
  included).
- Summary per customer who bought at least once (the RFM input of the models), in a time unit of
  a day (1 day), a week (7 days) or a month (30.4375 days):
  frequency = number of purchase days after the first purchase day (repeat purchase days);
  recency = time from the first to the last purchase day; T = time from the first purchase day to
  the end of the observation (the calibration end when one is given); monetary_value = mean amount
  of the repeat purchase days (0 for customers without a repeat purchase).
- BG/NBD (Fader, Hardie & Lee 2005): while alive a customer buys at rate λ ~ Gamma(r, α); after each
  repeat purchase they drop out with probability p ~ Beta(a, b). Gamma-Gamma: the amounts of a
  customer are Gamma(p, ν) with ν ~ Gamma(q, γ), independent of the purchase process. Both are
  fitted by maximum likelihood (scipy L-BFGS-B on log-parameters, analytic gradients) on the unique
  (frequency, recency, T) rows with weights, so that millions of customers fit in seconds.
- Predicted CLV over a horizon of H months = Σ_k E[repeat purchases in month k | history] ×
  E[spend per purchase | history] / (1 + d)^(k/12), with d the annual discount rate.
- P(alive) = the probability that the customer has not dropped out, given their history.

We ship our own maths because the usual library (`lifetimes`) is unmaintained and breaks on
pandas 3, and PyMC-Marketing takes about a minute to its first fit. Everything here is headless:
Ibis expressions for the data, numpy/scipy for the models.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import ibis
import numpy as np
import polars as pl
from ibis import _
from scipy import optimize, special

from . import filters as flt
from .store import CXError

UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 30.4375}
UNIT_NAMES = {"D": "day", "W": "week", "M": "month"}
MONTH_DAYS = 30.4375


def _unit(time_unit: str) -> float:
    u = {"day": "D", "week": "W", "month": "M"}.get(time_unit, time_unit)
    if u not in UNIT_DAYS:
        raise ValueError("time_unit is 'D', 'W' or 'M' (day, week, month)")
    return UNIT_DAYS[u]


def _as_date(v) -> date | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


# -- data (Ibis) ----------------------------------------------------------------------------------

def _purchase_days(store, filters, dataset):
    """Ibis: one row per customer and purchase day (amount > 0 rows summed), plus the data's end day."""
    t = flt.interactions(store, filters, dataset)
    end = t.aggregate(_end=t.timestamp.max().cast("date"))
    p = t.filter(t.amount > 0).mutate(day=_.timestamp.cast("date"))
    days = p.group_by(["customer_id", "day"]).aggregate(amount=_.amount.sum())
    return days, end


def _summary_expr(store, calibration_end=None, observation_end=None, time_unit="W", filters=None,
                  dataset=None):
    """The summary as an Ibis expression (columns customer_id, frequency, recency, T,
    monetary_value, first_purchase, last_purchase, end)."""
    u = _unit(time_unit)
    days, end = _purchase_days(store, filters, dataset)
    cut = _as_date(calibration_end) or _as_date(observation_end)
    if cut is not None:
        days = days.filter(days.day <= cut)
    g = days.group_by("customer_id").aggregate(
        first_purchase=_.day.min(), last_purchase=_.day.max(), n=_.count(), total=_.amount.sum(),
        first_amount=_.amount.argmin(_.day))
    # the end day joins the per-customer rows (one per buyer), not every purchase day
    g = g.mutate(end=ibis.literal(cut)) if cut is not None else g.cross_join(end).rename(end="_end")
    return g.mutate(
        frequency=(_.n - 1).cast("int64"),
        recency=_.last_purchase.delta(_.first_purchase, unit="day").cast("float64") / u,
        T=_.end.delta(_.first_purchase, unit="day").cast("float64") / u,
        monetary_value=ibis.ifelse(_.n > 1, (_.total - _.first_amount) / (_.n - 1), 0.0).cast("float64"),
    ).select("customer_id", "frequency", "recency", "T", "monetary_value", "first_purchase", "last_purchase",
             "end")


def _check_amounts(store, filters, dataset):
    t = flt.interactions(store, filters, dataset)
    if "amount" not in t.columns:
        raise CXError("Lifetime value needs an amount column in the interactions (revenue on purchases).")


def summary(store, calibration_end=None, observation_end=None, time_unit: str = "W",
            filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Per customer with at least one purchase (amount > 0) on or before the calibration end (or the
    observation end, by default the last day in the filtered data): customer_id, frequency (repeat
    purchase days), recency (first → last purchase day), T (first purchase day → calibration or
    observation end), in `time_unit` (D, W or M), and monetary_value (mean amount of the repeat
    purchase days, 0 without repeats). Also first_purchase, last_purchase, end (dates).
    One Ibis expression: group by customer and purchase day, then by customer."""
    _check_amounts(store, filters, dataset)
    df = _summary_expr(store, calibration_end, observation_end, time_unit, filters, dataset).to_polars()
    if df.height == 0:
        raise CXError("No purchases found: lifetime value needs interactions with an amount > 0 "
                      "(revenue on purchases).")
    return df.sort("customer_id")


def summary_grouped(store, calibration_end=None, observation_end=None, time_unit: str = "W",
                    filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """The unique (frequency, recency, T) rows of the summary with their weight (number of
    customers), grouped in the engine: the input of the weighted BG/NBD fit."""
    _check_amounts(store, filters, dataset)
    s = _summary_expr(store, calibration_end, observation_end, time_unit, filters, dataset)
    return s.group_by(["frequency", "recency", "T"]).aggregate(weight=_.count()).to_polars()


# -- BG/NBD ---------------------------------------------------------------------------------------

def _compress(cols: dict, weights):
    """Unique rows with weights (in polars) when no weights are given."""
    arrs = {k: np.asarray(v, dtype=float) for k, v in cols.items()}
    if weights is not None:
        return arrs, np.asarray(weights, dtype=float)
    df = pl.DataFrame(arrs).group_by(list(arrs), maintain_order=True).len()  # same order, same sums: same fit
    return {k: df[k].to_numpy().astype(float) for k in arrs}, df["len"].to_numpy().astype(float)


def _bgnbd_terms(r, alpha, a, b, x, tx, T):
    """log-likelihood pieces: A1 + logaddexp(A2, A3) (A3 only for x > 0)."""
    A1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    A2 = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
    rep = x > 0
    A3 = np.full_like(x, -np.inf)
    xr = x[rep]
    A3[rep] = (special.betaln(a + 1, b + xr - 1) - special.betaln(a, b)
               - (r + xr) * np.log(alpha + tx[rep]))
    return A1, A2, A3, rep


def bgnbd_loglik(params, frequency, recency, T, weights=None, per_customer=False):
    """BG/NBD log-likelihood (FHL 2005 eq. 6) at params (r, alpha, a, b): the weighted sum, or
    the per-row values with per_customer=True."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b")) if isinstance(params, dict) else params
    x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    A1, A2, A3, _rep = _bgnbd_terms(r, alpha, a, b, x, tx, T)
    ll = A1 + np.logaddexp(A2, A3)
    if per_customer:
        return ll
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    return float(np.sum(w * ll))


WARM_START_ROWS = 50_000


def _newton_polish(fun, x0, data, sub, bounds, gtol: float = 1e-6, max_iter: int = 25):
    """Polish an optimum found on a random subset of rows (`sub`) on all rows (`data`): Newton
    steps on the full gradient with the subset's Hessian (finite differences of its gradient at
    x0). The subset's curvature is the full data's up to sampling noise, so each step cuts the
    error by a large factor: 3-4 full evaluations instead of L-BFGS-B's 10-15. Steps are halved
    when the objective does not fall and kept inside the bounds. Returns an OptimizeResult, with
    success=False when the Hessian is not positive definite or the gradient does not fall below
    gtol (the caller then runs L-BFGS-B from there)."""
    n, h = x0.size, 1e-5
    H = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        H[:, i] = (fun(x0 + e, sub)[1] - fun(x0 - e, sub)[1]) / (2 * h)
    H = (H + H.T) / 2
    lo, hi = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    xk = np.asarray(x0, dtype=float)
    f, g = fun(xk, data)
    nfev, ok = 1, False
    try:
        np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        return optimize.OptimizeResult(x=xk, fun=f, success=False, nfev=nfev)
    for _ in range(max_iter):
        if np.max(np.abs(g)) < gtol:
            ok = True
            break
        step, t = np.linalg.solve(H, g), 1.0
        while t > 1e-3:
            xn = np.clip(xk - t * step, lo, hi)
            fn, gn = fun(xn, data)
            nfev += 1
            if fn <= f:
                break
            t /= 2
        else:
            break
        xk, f, g = xn, fn, gn
    return optimize.OptimizeResult(x=xk, fun=f, success=ok, nfev=nfev)


class _BGData:
    """The fit's data split once: customers without repeat purchases (their likelihood depends only
    on T) and repeat buyers, whose terms depending only on x are computed per distinct x."""

    def __init__(self, x, tx, T, w):
        rep = x > 0
        self.T0, self.w0 = T[~rep], w[~rep]
        self.x, self.tx, self.T, self.w = x[rep], tx[rep], T[rep], w[rep]
        self.ux, self.xi = np.unique(self.x, return_inverse=True)
        # T and t_x take few distinct values (whole days of a few years): logs and reciprocals are
        # computed per distinct value and gathered (a log costs ~25 ns a row, a gather ~3)
        self.uT, self.Ti = np.unique(self.T, return_inverse=True)
        self.utx, self.txi = np.unique(self.tx, return_inverse=True)
        self.wx = np.bincount(self.xi, weights=self.w, minlength=self.ux.size)  # weight per distinct x
        self.wxx = self.w * self.x
        # Σ w and Σ w·x per distinct T: the terms linear in ln(α+T) and 1/(α+T) are sums over them
        self.WT = np.bincount(self.Ti, weights=self.w, minlength=self.uT.size)
        self.WXT = np.bincount(self.Ti, weights=self.wxx, minlength=self.uT.size)
        self.sw = float(w.sum())
        # work buffers, reused by every evaluation (fresh multi-MB arrays cost page faults each time)
        self.buf = np.empty((5, self.x.size))


def _bgnbd_negll_grad(logp, d: _BGData):
    """Negative mean log-likelihood and its gradient in log-parameters. Per repeat buyer:
    ll = A1(x) + B2(x) − (r+x)·ln(α+T) + softplus(D), D = (B3 − B2)(x) − (r+x)·(ln(α+t_x) − ln(α+T)),
    where softplus(D) = ln(1 + e^D) folds the two terms of FHL eq. 6 stably."""
    r, alpha, a, b = np.exp(logp)
    dg, gl, bl = special.digamma, special.gammaln, special.betaln
    la = np.log(alpha)
    # customers with x = 0: ll = r ln α − r ln(α + T)
    LT0 = np.log(alpha + d.T0)
    ll0 = r * la * d.w0.sum() - r * np.dot(d.w0, LT0)
    g0 = np.array([la * d.w0.sum() - np.dot(d.w0, LT0), r / alpha * d.w0.sum() - r * np.dot(d.w0, 1 / (alpha + d.T0)),
                   0.0, 0.0])
    # repeat buyers (row-wise work in place, in d.buf)
    ux, xi, w = d.ux, d.xi, d.w
    A1u = gl(r + ux) - gl(r) + r * la
    B2u = bl(a, b + ux) - bl(a, b)
    B3u = bl(a + 1, b + ux - 1) - bl(a, b)
    LTu, iTu = np.log(alpha + d.uT), 1.0 / (alpha + d.uT)
    Ltxu, itxu = np.log(alpha + d.utx), 1.0 / (alpha + d.utx)
    E, D, e, sp, tmp = d.buf
    np.take(Ltxu, d.txi, out=E)
    E -= np.take(LTu, d.Ti, out=tmp)  # ln(α+t_x) − ln(α+T) ≤ 0
    np.take(B3u - B2u, xi, out=D)
    D -= np.multiply(d.x, E, out=tmp)
    D -= np.multiply(E, r, out=tmp)  # D = (B3 − B2)(x) − (r+x)·E
    np.abs(D, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)  # e^−|D|
    np.log1p(e, out=sp)
    sp += np.maximum(D, 0.0, out=tmp)  # softplus(D)
    w3 = np.add(e, 1.0, out=tmp)
    np.divide(np.where(D >= 0, 1.0, e), w3, out=w3)  # σ(D)
    ww3 = np.multiply(w3, w, out=w3)
    rT = d.WXT + r * d.WT  # Σ w·(r+x) per distinct T
    ll1 = np.dot(d.wx, A1u + B2u) - np.dot(LTu, rT) + np.dot(w, sp)
    sw3x = np.bincount(xi, weights=ww3, minlength=ux.size)  # Σ w·w3 per distinct x
    d_r = np.dot(d.wx, dg(r + ux) - dg(r) + la) - np.dot(LTu, d.WT) - np.dot(ww3, E)
    wrx = np.multiply(ww3, d.x, out=D)
    wrx += np.multiply(ww3, r, out=sp)  # w·w3·(r+x)
    itx_iT = np.take(itxu, d.txi, out=E)
    itx_iT -= np.take(iTu, d.Ti, out=e)
    d_al = d.wx.sum() * r / alpha - np.dot(iTu, rT) - np.dot(wrx, itx_iT)
    dab, dabx = dg(a + b), dg(a + b + ux)
    d_a = np.dot(d.wx, dab - dabx) + sw3x.sum() * (dg(a + 1) - dg(a))
    d_b = np.dot(d.wx, dab - dabx - dg(b) + dg(b + ux)) + np.dot(sw3x, dg(b + ux - 1) - dg(b + ux))
    f = -(ll0 + ll1) / d.sw
    if not np.isfinite(f):
        return 1e10, np.zeros(4)
    g = -(g0 + np.array([d_r, d_al, d_a, d_b])) * np.array([r, alpha, a, b]) / d.sw
    return f, g


def fit_bgnbd(frequency, recency, T, weights=None) -> dict:
    """Maximum-likelihood BG/NBD: dict r, alpha, a, b, loglik (weighted total), n (customers),
    converged. Rows with identical (frequency, recency, T) are merged with weights when no weights
    are given. Raises CXError when the data cannot identify the model (no customer with a repeat
    purchase, or fewer than 2 customers)."""
    cols, w = _compress({"x": frequency, "tx": recency, "T": T}, weights)
    x, tx, T = cols["x"], cols["tx"], cols["T"]
    keep = w > 0
    x, tx, T, w = x[keep], tx[keep], T[keep], w[keep]
    n = float(w.sum())
    if n < 2:
        raise CXError("The purchase model needs at least 2 customers who bought (found "
                      f"{int(n)}).")
    if not np.any(x > 0):
        raise CXError("No customer made a repeat purchase (a second purchase on another day): the "
                      "purchase model cannot be fitted. It needs repeat buyers.")
    if np.all(T <= 0):
        raise CXError("Every customer bought for the first time at the end of the data: there is no "
                      "time to observe repeat purchases.")
    if np.any(tx > T + 1e-9) or np.any(x < 0):
        raise CXError("Inconsistent summary: recency must lie between 0 and T, frequency ≥ 0.")
    mean_rate = np.sum(w * x) / max(np.sum(w * T), 1e-9)
    data = _BGData(x, tx, T, w)
    start_points = [np.log([r0, r0 / max(mean_rate, 1e-6), a0, b0])
                    for r0, a0, b0 in ((1.0, 1.0, 3.0), (0.5, 0.8, 2.5), (2.0, 1.5, 10.0))]
    if x.size > 4 * WARM_START_ROWS:
        # many distinct rows: find the optimum on a random subset of rows (weights kept), then
        # polish on all rows from there by Newton steps (a few evaluations instead of a full search)
        pick = np.random.default_rng(0).choice(x.size, WARM_START_ROWS, replace=False)
        sub = _BGData(x[pick], tx[pick], T[pick], w[pick])
        warm = min((optimize.minimize(_bgnbd_negll_grad, s0, args=(sub,), jac=True, method="L-BFGS-B",
                                      bounds=[(-9, 9)] * 4, options={"maxiter": 500}) for s0 in start_points[:1]),
                   key=lambda r: r.fun)
        polished = _newton_polish(_bgnbd_negll_grad, warm.x, data, sub, [(-9, 9)] * 4)
        start_points = [] if polished.success else [polished.x, *start_points]
    else:
        polished = None
    best = polished
    for start in start_points:
        res = optimize.minimize(_bgnbd_negll_grad, start, args=(data,), jac=True, method="L-BFGS-B",
                                bounds=[(-9, 9)] * 4, options={"maxiter": 500})
        if best is None or res.fun < best.fun:
            best = res
        if res.success:
            break
    r, alpha, a, b = np.exp(best.x)
    return {"r": float(r), "alpha": float(alpha), "a": float(a), "b": float(b),
            "loglik": float(-best.fun * n), "n": int(round(n)), "converged": bool(best.success)}


def p_alive(params: dict, frequency, recency, T) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + [x > 0] · a / (b + x − 1) · ((α + T) / (α + t_x))^(r + x))."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    out = np.ones_like(x)
    rep = x > 0
    xr = x[rep]
    log_odds = np.log(a) - np.log(b + xr - 1) + (r + xr) * (np.log(alpha + T[rep]) - np.log(alpha + tx[rep]))
    out[rep] = special.expit(-log_odds)
    return out


def _away_from_1(a: float) -> float:
    return a if abs(a - 1) >= 1e-4 else (1 + 1e-4 if a >= 1 else 1 - 1e-4)


def expected_purchases(params: dict, t, frequency, recency, T) -> np.ndarray:
    """Conditional expected number of repeat purchases in the next `t` time units given the history
    (FHL 2005 eq. 10):
    (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; t/(α+T+t))]
    / (1 + [x>0] · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)).
    Evaluated through Euler's transform, (1−z)^(r+x)·2F1(r+x, b+x; c; z) = (1−z)^(a−1)·2F1(a+b−1−r,
    a−1; c; z), which stays finite for large x; where it is not (large a and b), the untransformed
    form is used. Valid for any a > 0 (a = 1 is a removable
    singularity: a within 1e-4 of 1 is moved to 1 ± 1e-4)."""
    r, alpha, a, b = params["r"], params["alpha"], _away_from_1(params["a"]), params["b"]
    x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    t = np.asarray(t, dtype=float)
    z = t / (alpha + T + t)
    c = a + b + x - 1
    with np.errstate(all="ignore"):  # non-finite values are recomputed just below
        term = (1 - z) ** (a - 1) * special.hyp2f1(a + b - 1 - r, a - 1, c, z)
        bad = ~np.isfinite(term)
        if bad.any():
            # large a and b (almost no drop-out, as in small groups): (1 − z)^(a−1) underflows to 0
            # while the Euler-transformed 2F1 overflows; the untransformed form is finite there
            zb, xb, cb = (np.broadcast_to(v, term.shape)[bad] for v in (z, x, c))
            term = np.array(term, dtype=float)
            term[bad] = (1 - zb) ** (r + xb) * special.hyp2f1(r + xb, b + xb, cb, zb)
    num = c / (a - 1) * (1 - term)
    pa = p_alive({"r": r, "alpha": alpha, "a": a, "b": b}, x, tx, T)
    return np.maximum(num * pa, 0.0)


def expected_purchases_new(params: dict, t) -> np.ndarray:
    """Unconditional E[X(t)]: expected repeat purchases of a new customer in their first `t` time
    units after the first purchase, (a+b−1)/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b; a+b−1; t/(α+t))]."""
    r, alpha, a, b = params["r"], params["alpha"], _away_from_1(params["a"]), params["b"]
    t = np.asarray(t, dtype=float)
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (1 - z) ** (a - 1) * special.hyp2f1(a + b - 1 - r, a - 1, a + b - 1, z))


# -- Gamma-Gamma ----------------------------------------------------------------------------------

def gamma_gamma_loglik(params, frequency, monetary_value, weights=None, per_customer=False):
    """Gamma-Gamma log-likelihood of the mean spend m of x repeat purchases (Fader & Hardie 2013):
    ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(γ + x m)."""
    p, q, g = (params[k] for k in ("p", "q", "gamma")) if isinstance(params, dict) else params
    x, m = np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float)
    px = p * x
    ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(g)
          + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(g + x * m))
    if per_customer:
        return ll
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    return float(np.sum(w * ll))


def _gg_negll_grad(logp, d: dict):
    """Negative mean log-likelihood and gradient; terms depending only on x are computed per
    distinct x, the constant sums once (d from _gg_data)."""
    p, q, g = np.exp(logp)
    ux, wx = d["ux"], d["wx"]
    pu = p * ux
    gl, dg = special.gammaln, special.digamma
    xm, w = d["xm"], d["w"]
    gxm = g + xm
    L = np.log(gxm)
    swxL = np.sum(w * d["x"] * L)
    swL = np.sum(w * L)
    sw = d["sw"]
    ll = (np.sum(wx * (gl(pu + q) - gl(pu))) - sw * gl(q) + sw * q * np.log(g)
          + p * d["swx_lm"] - d["sw_lm"] + p * d["swx_lx"] - p * swxL - q * swL)
    dpq = dg(pu + q)
    d_p = np.sum(wx * ux * (dpq - dg(pu))) + d["swx_lm"] + d["swx_lx"] - swxL
    d_q = np.sum(wx * dpq) - sw * dg(q) + sw * np.log(g) - swL
    inv = w / gxm
    d_g = sw * q / g - p * np.sum(inv * d["x"]) - q * np.sum(inv)
    f = -ll / sw
    if not np.isfinite(f):
        return 1e10, np.zeros(3)
    return f, -np.array([d_p * p, d_q * q, d_g * g]) / sw


def _gg_data(x, m, w) -> dict:
    ux, xi = np.unique(x, return_inverse=True)
    lm, lx = np.log(m), np.log(x)
    return {"ux": ux, "xi": xi, "wx": np.bincount(xi, weights=w, minlength=ux.size), "x": x, "w": w,
            "xm": x * m, "sw": float(w.sum()), "swx_lm": float(np.sum(w * x * lm)), "sw_lm": float(np.sum(w * lm)),
            "swx_lx": float(np.sum(w * x * lx))}


def fit_gamma_gamma(frequency, monetary_value, weights=None) -> dict:
    """Maximum-likelihood Gamma-Gamma on the customers with a repeat purchase and a positive mean
    spend: dict p, q, gamma, loglik, n, converged. Raises CXError when there are fewer than 2 such
    customers or all their amounts are equal (nothing to fit)."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    keep = (x > 0) & (m > 0) & np.isfinite(m) & (w > 0)
    x, m, w = x[keep], m[keep], w[keep]
    if w.sum() < 2:
        raise CXError("The spend model needs at least 2 customers with a repeat purchase of a positive "
                      f"amount (found {int(w.sum())}): check the `amount` column.")
    if np.allclose(m, m[0]):
        raise CXError("Every repeat buyer spent exactly the same mean amount: the spend model has "
                      "nothing to fit.")
    data = _gg_data(x, m, w)
    # moment start: mean spend per transaction ~ Gamma(p, nu); between-customer spread sets q
    mean_m, var_m = np.average(m, weights=w), np.average((m - np.average(m, weights=w)) ** 2, weights=w)
    cv2 = max(var_m / mean_m ** 2, 0.05)
    q0 = 1 + max(2.0, 1 / cv2)
    starts = [np.log([p0, q0, mean_m * (q0 - 1) / p0]) for p0 in (2.0, 5.0, 1.0)]
    if x.size > 4 * WARM_START_ROWS:  # as in fit_bgnbd: search on a subset, polish on all rows
        pick = np.random.default_rng(0).choice(x.size, WARM_START_ROWS, replace=False)
        sub = _gg_data(x[pick], m[pick], w[pick])
        warm = optimize.minimize(_gg_negll_grad, starts[0], args=(sub,), jac=True,
                                 method="L-BFGS-B", bounds=[(-9, 12)] * 3, options={"maxiter": 1000})
        polished = _newton_polish(_gg_negll_grad, warm.x, data, sub, [(-9, 12)] * 3)
        starts = [] if polished.success else [polished.x, *starts]
    else:
        polished = None
    best = polished
    for s0 in starts:
        res = optimize.minimize(_gg_negll_grad, s0, args=(data,), jac=True,
                                method="L-BFGS-B", bounds=[(-9, 12)] * 3, options={"maxiter": 1000})
        if best is None or res.fun < best.fun:
            best = res
        if res.success:
            break
    p, q, g = np.exp(best.x)
    n = float(w.sum())
    return {"p": float(p), "q": float(q), "gamma": float(g), "loglik": float(-best.fun * n), "n": int(round(n)),
            "converged": bool(best.success)}


def expected_spend(params: dict, frequency, monetary_value) -> np.ndarray:
    """E[spend per purchase | x, m] = (γ + x·m)·p / (p·x + q − 1); for x = 0 the population mean
    p·γ/(q − 1). (Needs q > 1; else the customer's own mean, or the overall mean for x = 0.)"""
    p, q, g = params["p"], params["q"], params["gamma"]
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    m = np.where(x > 0, m, 0.0)
    if q <= 1:
        return np.where(x > 0, m, np.nan)
    return (g + x * m) * p / (p * x + q - 1)


# -- simulation (tests, benchmarks) --------------------------------------------------------------

def simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, T=52.0, seed: int = 0) -> pl.DataFrame:
    """n customers drawn from BG/NBD with the given parameters, each observed for T time units after
    the first purchase (a number or an array): frequency, recency, T, alive (truth at the end).
    Vectorised over customers (the loop is over the purchase number)."""
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n)
    tx = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    active = np.ones(n, dtype=bool)  # still simulating: alive and inside the window
    while active.any():
        idx = np.flatnonzero(active)
        t_next = tx[idx] + rng.exponential(1 / lam[idx])
        inside = t_next <= T[idx]
        buy = idx[inside]
        active[idx[~inside]] = False
        x[buy] += 1
        tx[buy] = t_next[inside]
        drop = buy[rng.random(buy.size) < p[buy]]
        alive[drop] = False
        active[drop] = False
    return pl.DataFrame({"frequency": x.astype(np.int64), "recency": tx, "T": T, "alive": alive})


def simulate_gamma_gamma(frequency, p: float, q: float, gamma: float, seed: int = 0) -> np.ndarray:
    """Mean spend of each customer's `frequency` repeat purchases under Gamma-Gamma (0 when x = 0):
    ν ~ Gamma(q, rate γ); the mean of x Gamma(p, rate ν) amounts is Gamma(p·x, rate ν·x)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=float)
    nu = rng.gamma(q, 1 / gamma, x.size)
    m = rng.gamma(np.maximum(p * x, 1e-12), 1 / (nu * np.maximum(x, 1)))
    return np.where(x > 0, m, 0.0)


# -- CLV ------------------------------------------------------------------------------------------

def clv(bgnbd: dict, gamma_gamma: dict, frequency, recency, T, monetary_value, horizon_months: int = 12,
        discount_rate: float = 0.10, time_unit: str = "W") -> np.ndarray:
    """Discounted predicted CLV = Σ_{k=1..H} (E[Y(k months)] − E[Y(k−1 months)]) × E[spend] /
    (1 + d)^(k/12), with E[Y] the conditional expected repeat purchases (in the model's time unit)
    and d the annual discount rate."""
    u = _unit(time_unit)
    spend = expected_spend(gamma_gamma, frequency, monetary_value)
    prev = np.zeros(np.shape(frequency))
    total = np.zeros(np.shape(frequency))
    for k in range(1, int(horizon_months) + 1):  # a handful of periods, vectorised over customers
        cur = expected_purchases(bgnbd, k * MONTH_DAYS / u, frequency, recency, T)
        total += (cur - prev) / (1 + discount_rate) ** (k / 12)
        prev = cur
    return total * spend


# -- the whole model on a dataset -----------------------------------------------------------------

@dataclass
class ValueModel:
    """The fitted models and the per-customer value table of a dataset."""
    customers: pl.DataFrame
    bgnbd: dict
    gamma_gamma: dict
    time_unit: str
    horizon_months: int
    discount_rate: float
    end: date | None = None
    notes: list = field(default_factory=list)


def _attributes(store, filters, dataset) -> pl.DataFrame:
    """Per customer (Ibis): historical_value (net revenue to date, refunds included), revenue
    (purchases only), refunds, last_activity, first_channel (channel of the first purchase), and
    persona, acquisition_channel from the customers table when there is one."""
    t = flt.interactions(store, filters, dataset)
    g = t.group_by("customer_id").aggregate(
        historical_value=_.amount.sum().fill_null(0.0),
        revenue=_.amount.sum(where=_.amount > 0).fill_null(0.0),
        refunds=(-_.amount.sum(where=_.amount < 0)).fill_null(0.0),
        last_activity=_.timestamp.max(),
        purchase_channel=_.channel.argmin(ibis.ifelse(_.amount > 0, _.timestamp, None)),
    )
    if store.has_table("customers", dataset):
        c = store.table("customers", dataset)
        cols = [n for n in ("persona", "acquisition_channel") if n in c.columns]
        if cols:
            c = c.select("customer_id", *cols)
            g = g.left_join(c, "customer_id").drop("customer_id_right")
    return g.to_polars()


def customer_value(store, horizon_months: int = 12, discount_rate: float = 0.10, time_unit: str = "W",
                   filters: flt.Filters | None = None, dataset: str | None = None) -> ValueModel:
    """Fit BG/NBD and Gamma-Gamma on the whole filtered history and score every buyer: the
    summary columns, historical_value (net revenue to date), revenue, refunds, last_activity,
    purchase_channel, persona, acquisition_channel, cohort (quarter of the first purchase),
    expected_purchases (over the horizon), p_alive, expected_spend, predicted_clv (discounted),
    clv_if_alive (= predicted_clv / P(alive): the value if the customer is still active), and
    p_alive_30d_ago (P(alive) as it was 30 days before the end, with the history known then)."""
    s = summary(store, time_unit=time_unit, filters=filters, dataset=dataset)
    bg = fit_bgnbd(s["frequency"], s["recency"], s["T"])  # on its unique rows, weighted (grouped in polars)
    gg = fit_gamma_gamma(s["frequency"], s["monetary_value"])
    x, tx, T, m = (s[c].to_numpy().astype(float) for c in ("frequency", "recency", "T", "monetary_value"))
    u = _unit(time_unit)
    horizon_t = horizon_months * MONTH_DAYS / u
    pa = p_alive(bg, x, tx, T)
    value = clv(bg, gg, x, tx, T, m, horizon_months, discount_rate, time_unit)
    # P(alive) 30 days ago: only when the last purchase happened before then (otherwise it rose)
    back = 30 / u
    pa_then = np.where(T - back >= tx, p_alive(bg, x, tx, np.maximum(T - back, tx)), np.nan)
    end = s["end"][0]
    df = s.with_columns(
        pl.Series("expected_purchases", expected_purchases(bg, horizon_t, x, tx, T)),
        pl.Series("p_alive", pa),
        pl.Series("p_alive_30d_ago", pa_then).fill_nan(None),
        pl.Series("expected_spend", expected_spend(gg, x, m)),
        pl.Series("predicted_clv", value),
        pl.Series("clv_if_alive", value / np.maximum(pa, 1e-9)),
        cohort=pl.col("first_purchase").dt.truncate("1q").dt.strftime("%Y-Q") +
        pl.col("first_purchase").dt.quarter().cast(pl.Utf8),
    ).drop("end")
    attrs = _attributes(store, filters, dataset)
    df = df.join(attrs, on="customer_id", how="left")
    notes = []
    if not bg["converged"]:
        notes.append("The purchase model did not fully converge: read its numbers with care.")
    if gg["q"] <= 1:
        notes.append("The spend model has q ≤ 1 (heavy-tailed spend): expected spend falls back to each "
                     "customer's own mean.")
    return ValueModel(df, bg, gg, UNIT_NAMES[{"day": "D", "week": "W", "month": "M"}.get(time_unit, time_unit)],
                      horizon_months, discount_rate, end, notes)


def value_by(store, by: str, horizon_months: int = 12, discount_rate: float = 0.10, time_unit: str = "W",
             filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Per group of `by` (persona, acquisition_channel, purchase_channel, cohort, or segment when
    cx.segments provides one): customers, historical value (sum and mean), predicted CLV (sum and
    mean), mean P(alive), and the group's share of all predicted CLV. Largest total first."""
    vm = customer_value(store, horizon_months, discount_rate, time_unit, filters=filters, dataset=dataset)
    df = vm.customers
    if by == "segment":
        df = df.join(segments_table(store, filters, dataset), on="customer_id", how="left")
    if by not in df.columns:
        raise CXError(f"Value by {by.replace('_', ' ')} needs a {by} column"
                      + (" in the customers table." if by in ("persona", "acquisition_channel") else "."))
    if df[by].null_count() == df.height:
        raise CXError(f"The {by} column is empty: nothing to break the value down by.")
    total = float(df["predicted_clv"].sum()) or 1.0
    out = (df.with_columns(pl.col(by).cast(pl.Utf8).fill_null("(unknown)").alias("group"))
           .group_by("group").agg(customers=pl.len(), historical_value=pl.col("historical_value").sum(),
                                  mean_historical=pl.col("historical_value").mean(),
                                  predicted_clv=pl.col("predicted_clv").sum(),
                                  mean_predicted_clv=pl.col("predicted_clv").mean(),
                                  mean_p_alive=pl.col("p_alive").mean())
           .with_columns(share_of_clv=pl.col("predicted_clv") / total))
    order = "group" if by == "cohort" else "predicted_clv"
    return out.sort(order, descending=by != "cohort")


def segments_table(store, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """customer_id, segment: the saved segments of cx.segments (`assignments`), or a CXError saying
    what is needed."""
    from . import segments

    res = segments.assignments(store, filters=filters, dataset=dataset)
    if res.height == 0:
        raise CXError("Value by segment needs saved segments: save one on the Segments page.")
    return res.select("customer_id", pl.col("segment").cast(pl.Utf8))


def concentration(store, horizon_months: int = 12, discount_rate: float = 0.10, time_unit: str = "W",
                  measure: str = "predicted_clv", filters: flt.Filters | None = None,
                  dataset: str | None = None) -> pl.DataFrame:
    """The value concentration curve: customers sorted by `measure` (predicted_clv or
    historical_value), largest first; per percentile of customers (1..100) the cumulative share
    of the total value. Row 10 is the share of value in the top decile."""
    df = customer_value(store, horizon_months, discount_rate, time_unit, filters=filters,
                        dataset=dataset).customers
    v = np.sort(np.clip(df[measure].to_numpy().astype(float), 0, None))[::-1]
    total = v.sum() or 1.0
    n = len(v)
    pct = np.arange(1, 101)
    k = np.ceil(pct / 100 * n).astype(int)
    cum = np.concatenate([[0.0], np.cumsum(v)])
    return pl.DataFrame({"customers_share": pct / 100, "value_share": cum[k] / total})


# -- holdout check --------------------------------------------------------------------------------

def holdout(store, holdout_weeks: int = 26, time_unit: str = "W", filters: flt.Filters | None = None,
            dataset: str | None = None) -> dict:
    """The calibration/holdout check: fit BG/NBD on purchases up to the calibration end (the last
    `holdout_weeks` weeks of the data are held out), predict each calibration customer's repeat
    purchase days in the holdout, and compare with what they did. Returns
    {"by_frequency": frequency bucket (0..6, 7+ repeat purchase days in calibration), customers,
     actual and predicted mean holdout purchases; "total": one row with customers, actual,
     predicted, error (predicted/actual − 1); "tracking": per week of the holdout, the cumulative
     actual and predicted repeat purchases; "params": the calibration fit; "calibration_end",
     "observation_end"}."""
    _check_amounts(store, filters, dataset)
    u = _unit(time_unit)
    days, end_t = _purchase_days(store, filters, dataset)
    obs_end = end_t.to_polars()["_end"][0]
    if obs_end is None:
        raise CXError("No interactions to check the model on.")
    cal_end = obs_end - timedelta(weeks=holdout_weeks)
    cal = _summary_expr(store, cal_end, None, time_unit, filters, dataset)
    # actual holdout purchase days of the calibration customers (Ibis)
    hold = days.filter((days.day > cal_end) & (days.day <= obs_end)).semi_join(cal, "customer_id")
    per_cust = hold.group_by("customer_id").aggregate(actual=_.count())
    joined = cal.left_join(per_cust, "customer_id").mutate(actual=_.actual.fill_null(0))
    grouped = (joined.group_by(["frequency", "recency", "T"])
               .aggregate(weight=_.count(), actual=_.actual.sum()).to_polars())
    if grouped.height == 0:
        raise CXError(f"No purchases before the last {holdout_weeks} weeks: the holdout check needs a longer "
                      "history (or a shorter holdout).")
    x, tx, T = (grouped[c].to_numpy().astype(float) for c in ("frequency", "recency", "T"))
    w = grouped["weight"].to_numpy().astype(float)
    bg = fit_bgnbd(x, tx, T, w)
    horizon = (obs_end - cal_end).days / u
    pred = expected_purchases(bg, horizon, x, tx, T)
    g = grouped.with_columns(pl.Series("predicted", pred * w),
                             bucket=pl.when(pl.col("frequency") >= 7).then(7).otherwise(pl.col("frequency")))
    by_f = (g.group_by("bucket").agg(customers=pl.col("weight").sum(), actual=pl.col("actual").sum(),
                                     predicted=pl.col("predicted").sum())
            .sort("bucket")
            .with_columns(frequency=pl.when(pl.col("bucket") >= 7).then(pl.lit("7+"))
                          .otherwise(pl.col("bucket").cast(pl.Utf8)),
                          actual_mean=pl.col("actual") / pl.col("customers"),
                          predicted_mean=pl.col("predicted") / pl.col("customers"))
            .select("frequency", "customers", "actual", "predicted", "actual_mean", "predicted_mean"))
    a_tot, p_tot = float(g["actual"].sum()), float(g["predicted"].sum())
    total = pl.DataFrame({"customers": [int(w.sum())], "actual": [a_tot], "predicted": [p_tot],
                          "error": [p_tot / a_tot - 1 if a_tot else None]})
    # cumulative tracking per week of the holdout
    weekly = (hold.mutate(k=(_.day.delta(ibis.literal(cal_end), unit="day") - 1) // 7 + 1)
              .group_by("k").aggregate(n=_.count()).to_polars())
    n_weeks = int(np.ceil((obs_end - cal_end).days / 7))
    ks = np.arange(1, n_weeks + 1)
    ts = np.minimum(ks * 7, (obs_end - cal_end).days) / u
    pred_cum = np.array([float(np.sum(w * expected_purchases(bg, tk, x, tx, T))) for tk in ts])
    act = np.zeros(n_weeks)
    kk = weekly["k"].to_numpy().astype(int)
    np.add.at(act, np.clip(kk, 1, n_weeks) - 1, weekly["n"].to_numpy().astype(float))
    tracking = pl.DataFrame({"week": ks, "date": [cal_end + timedelta(days=int(k * 7)) for k in ks],
                             "actual": np.cumsum(act), "predicted": pred_cum})
    return {"by_frequency": by_f, "total": total, "tracking": tracking, "params": bg,
            "calibration_end": cal_end, "observation_end": obs_end}


# -- proactive outreach ---------------------------------------------------------------------------

def outreach(store, horizon_months: int = 12, discount_rate: float = 0.10, time_unit: str = "W",
             value_quantile: float = 0.75, low_p_alive: float = 0.5, p_alive_drop: float = 0.10,
             recent_days: int = 30, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Valuable customers at risk, by value at risk (largest first).
    Valuable = predicted CLV in the top (1 − value_quantile) of buyers (top quarter by default).
    At risk = any of: P(alive) below `low_p_alive`; P(alive) fell by `p_alive_drop` or more over
    the last 30 days (no purchase since); an incident, or a detractor answer (NPS 0–6), in the last
    `recent_days` days of the data.
    value_at_risk = predicted CLV × (1 − P(alive)): large for customers who are worth a lot and
    whose activity is in doubt; customers long gone (CLV ≈ 0) and customers surely active
    (P(alive) ≈ 1) rank low, which is the order in which outreach pays.
    Columns: customer_id, predicted_clv, p_alive, p_alive_30d_ago, value_at_risk, reasons (text),
    last_activity, persona (when known)."""
    vm = customer_value(store, horizon_months, discount_rate, time_unit, filters=filters, dataset=dataset)
    df = vm.customers
    t = flt.interactions(store, filters, dataset)
    end = t.aggregate(end=t.timestamp.max()).to_polars()["end"][0]
    since = end - timedelta(days=recent_days)
    inc = None
    if "incident" in t.columns:
        inc = (t.filter((t.incident == True) & (t.timestamp > since))  # noqa: E712
               .group_by("customer_id").aggregate(last_incident=_.timestamp.max(), incidents=_.count()).to_polars())
    det = None
    if store.has_table("feedback", dataset):
        fb = flt.feedback(store, filters, dataset)
        det = (fb.filter((fb.metric == "nps") & (fb.score <= 6) & (fb.timestamp > since) & fb.customer_id.notnull())
               .group_by("customer_id").aggregate(last_detractor=_.timestamp.max(), nps=_.score.argmax(_.timestamp))
               .to_polars())
    if inc is not None:
        df = df.join(inc, on="customer_id", how="left")
    else:
        df = df.with_columns(last_incident=pl.lit(None, pl.Datetime), incidents=pl.lit(None, pl.Int64))
    if det is not None:
        df = df.join(det, on="customer_id", how="left")
    else:
        df = df.with_columns(last_detractor=pl.lit(None, pl.Datetime), nps=pl.lit(None, pl.Float64))
    threshold = float(df["predicted_clv"].quantile(value_quantile)) if df.height else 0.0
    drop = pl.col("p_alive_30d_ago") - pl.col("p_alive")
    r_low = pl.when(pl.col("p_alive") < low_p_alive).then(
        pl.lit("P(alive) low: ") + (pl.col("p_alive") * 100).round(0).cast(pl.Int64).cast(pl.Utf8) + pl.lit("%"))
    r_fall = pl.when(drop >= p_alive_drop).then(
        pl.lit("P(alive) fell ") + (drop * 100).round(0).cast(pl.Int64).cast(pl.Utf8) + pl.lit(" points in 30 days"))
    r_inc = pl.when(pl.col("last_incident").is_not_null()).then(
        pl.lit("incident on ") + pl.col("last_incident").dt.strftime("%Y-%m-%d"))
    r_det = pl.when(pl.col("last_detractor").is_not_null()).then(
        pl.lit("detractor answer (NPS ") + pl.col("nps").cast(pl.Int64).cast(pl.Utf8) + pl.lit(") on ")
        + pl.col("last_detractor").dt.strftime("%Y-%m-%d"))
    out = (df.filter(pl.col("predicted_clv") >= threshold)
           .with_columns(reasons=pl.concat_str([r_low, r_fall, r_inc, r_det], separator="; ", ignore_nulls=True),
                         value_at_risk=pl.col("predicted_clv") * (1 - pl.col("p_alive")))
           .filter(pl.col("reasons").is_not_null() & (pl.col("reasons") != "")))
    cols = ["customer_id", "predicted_clv", "p_alive", "p_alive_30d_ago", "value_at_risk",
            "reasons", "last_activity"] + [c for c in ("persona",) if c in out.columns]
    return out.select(cols).sort(["value_at_risk", "customer_id"], descending=[True, False])


# ----------------------------------------------------------------------------- glossary
GLOSSARY = (
    {"key": "historical_value", "name": "Historical value", "api": "cx.clv.customer_value", "page": "value",
     "definition": "Net revenue to date per customer: the sum of every amount, refunds included."},
    {"key": "rfm_summary", "name": "Purchase summary (frequency, recency, T)", "api": "cx.clv.summary",
     "page": "value",
     "definition": "Purchases (amount > 0) on the same UTC day merge into one purchase day. frequency = purchase days "
                   "after the first; recency = first to last purchase day; T = first purchase day to the end of "
                   "the data; monetary value = mean amount of the repeat purchase days."},
    {"key": "predicted_clv", "name": "Predicted CLV", "api": "cx.clv.customer_value", "page": "value",
     "definition": "Over a horizon of H months: Σ_k E[repeat purchases in month k | history] (BG/NBD) × E[spend per "
                   "purchase | history] (Gamma-Gamma) ÷ (1 + annual discount rate)^(k/12)."},
    {"key": "avg_clv", "name": "Average predicted CLV", "api": "cx.clv.customer_value", "page": "value",
     "definition": "Mean predicted CLV over the buyers (customers with at least one purchase): 12 months, 10% annual "
                   "discount rate, BG/NBD × Gamma-Gamma fitted on the data."},
    {"key": "p_alive", "name": "P(alive)", "api": "cx.clv.customer_value", "page": "value",
     "definition": "BG/NBD probability that the customer has not silently dropped out, given their frequency, "
                   "recency and T."},
    {"key": "value_by", "name": "Value by group", "api": "cx.clv.value_by", "page": "value",
     "definition": "Per persona, acquisition channel, channel of first purchase, cohort (quarter of the first "
                   "purchase) or saved segment: customers, historical value and predicted CLV (sum and mean), mean "
                   "P(alive) and the group's share of all predicted CLV."},
    {"key": "value_concentration", "name": "Value concentration", "api": "cx.clv.concentration", "page": "value",
     "definition": "Customers sorted by predicted CLV, largest first: per percentile of customers the cumulative "
                   "share of all predicted value (row 10 = the share held by the top 10%)."},
    {"key": "holdout_check", "name": "Holdout check", "api": "cx.clv.holdout", "page": "value",
     "definition": "BG/NBD fitted on purchases before the last N weeks, then asked to predict each customer's repeat "
                   "purchase days in those weeks; compared with what they did, in total (error = predicted ÷ "
                   "actual − 1), by calibration frequency and week by week."},
    {"key": "value_at_risk", "name": "Value at risk", "api": "cx.clv.outreach", "page": "value",
     "definition": "Predicted CLV × (1 − P(alive)): large for customers worth a lot whose activity is in doubt."},
    {"key": "outreach", "name": "Proactive outreach list", "api": "cx.clv.outreach", "page": "value",
     "definition": "Buyers with predicted CLV in the top quarter (by default) and at risk: P(alive) below 50%, or "
                   "fell by 10 points or more in the last 30 days, or an incident or a detractor answer (NPS 0–6) "
                   "in the last 30 days; sorted by value at risk."},
)
