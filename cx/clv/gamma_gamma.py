"""Gamma-Gamma (Fader & Hardie 2013): the amounts of a customer are Gamma(p, ν) with
ν ~ Gamma(q, γ), independent of the purchase process. The likelihood, the maximum likelihood fit,
the expected spend per purchase, and a simulator (tests, benchmarks).

Pure numpy/scipy on arrays of (frequency, monetary_value): no data layer here.
"""
from __future__ import annotations

import numpy as np
from scipy import special

from ..store import CXError
from . import fitting


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
    best = fitting.minimize(_gg_negll_grad, starts, data, lambda pick: _gg_data(x[pick], m[pick], w[pick]), x.size,
                            [(-9, 12)] * 3, 1000)
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


def simulate_gamma_gamma(frequency, p: float, q: float, gamma: float, seed: int = 0) -> np.ndarray:
    """Mean spend of each customer's `frequency` repeat purchases under Gamma-Gamma (0 when x = 0):
    ν ~ Gamma(q, rate γ); the mean of x Gamma(p, rate ν) amounts is Gamma(p·x, rate ν·x)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=float)
    nu = rng.gamma(q, 1 / gamma, x.size)
    m = rng.gamma(np.maximum(p * x, 1e-12), 1 / (nu * np.maximum(x, 1)))
    return np.where(x > 0, m, 0.0)
