"""BG/NBD (Fader, Hardie & Lee 2005): while alive a customer buys at rate λ ~ Gamma(r, α); after
each repeat purchase they drop out with probability p ~ Beta(a, b). The likelihood, the maximum
likelihood fit, P(alive), the expected repeat purchases, and a simulator (tests, benchmarks).

Pure numpy/scipy on arrays of (frequency, recency, T): no data layer here.
"""
from __future__ import annotations

import numpy as np
import polars as pl
from scipy import special

from ..store import CXError
from . import fitting


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
    # many distinct rows: the optimum on a random subset of rows (weights kept), polished on all rows
    best = fitting.minimize(_bgnbd_negll_grad, start_points, data,
                            lambda pick: _BGData(x[pick], tx[pick], T[pick], w[pick]), x.size, [(-9, 9)] * 4, 500)
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
    x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    return purchases_if_alive(params, t, x, T) * p_alive(params, x, tx, T)


def purchases_if_alive(params: dict, t, frequency, T) -> np.ndarray:
    """The numerator of :func:`expected_purchases` (its value given the customer is alive, ≥ 0): it
    depends on the frequency and T only, not on the recency, so customers sharing (x, T) share it
    (:func:`cx.clv.formula.clv` evaluates it once per distinct pair)."""
    r, alpha, a, b = params["r"], params["alpha"], _away_from_1(params["a"]), params["b"]
    x, T = (np.asarray(v, dtype=float) for v in (frequency, T))
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
    return np.maximum(c / (a - 1) * (1 - term), 0.0)


def expected_purchases_new(params: dict, t) -> np.ndarray:
    """Unconditional E[X(t)]: expected repeat purchases of a new customer in their first `t` time
    units after the first purchase, (a+b−1)/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b; a+b−1; t/(α+t))]."""
    r, alpha, a, b = params["r"], params["alpha"], _away_from_1(params["a"]), params["b"]
    t = np.asarray(t, dtype=float)
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (1 - z) ** (a - 1) * special.hyp2f1(a + b - 1 - r, a - 1, a + b - 1, z))



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
