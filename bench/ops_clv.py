"""CLV: the Ibis summary on the generated dataset, and the BG/NBD + Gamma-Gamma fit on 1M
simulated customers, against `lifetimes` (BetaGeoFitter / GammaGammaFitter) on the same summary.

The 1M-customer summary is simulated from BG/NBD directly (numpy, seconds) and cached under
bench/data/clv_sim_<n>.parquet: recency and T at day resolution in weeks, as cx.clv.summary gives.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import polars as pl

from cx import clv

DATA = Path(__file__).resolve().parent / "data"
TRUTH = {"r": 2.0, "alpha": 20.0, "a": 1.5, "b": 7.5}
GG_TRUTH = {"p": 4.0, "q": 8.0, "gamma": 70.0}


def sim_path(n: int) -> Path:
    """The cached simulated summary of n customers (first purchases spread over 4 years)."""
    f = DATA / f"clv_sim_{n}.parquet"
    if not f.exists():
        rng = np.random.default_rng(11)
        T_days = rng.integers(7, 4 * 365, n)
        s = clv.simulate_bgnbd(n, **TRUTH, T=T_days / 7, seed=11)
        rec = np.floor(s["recency"].to_numpy() * 7) / 7  # day resolution, as the summary gives
        m = np.round(clv.simulate_gamma_gamma(s["frequency"], **GG_TRUTH, seed=12), 2)
        DATA.mkdir(parents=True, exist_ok=True)
        pl.DataFrame({"frequency": s["frequency"], "recency": rec, "T": s["T"], "monetary_value": m}).write_parquet(f)
    return f


DB_NAME = "clv.duckdb"  # our own copy of the generated dataset (other benches lock theirs)


def db_path(touchpoints: int) -> str:
    """The generated dataset of about `touchpoints` rows imported as "demo" into bench's own file."""
    from bench.harness import sample_csv

    import cx

    csv = sample_csv(touchpoints)
    db = csv.parent / DB_NAME
    if not db.exists():
        tmp = db.with_name(DB_NAME + ".tmp")
        for p in (tmp, Path(str(tmp) + ".wal")):
            p.unlink(missing_ok=True)
        s = cx.open(tmp)
        s.import_file(csv, kind="interactions", dataset="demo")
        s.close()
        tmp.rename(db)
    return str(db)


def _load(n: int) -> pl.DataFrame:
    return pl.read_parquet(sim_path(n))


def cx_fit(n: int) -> dict:
    """Ours: unique rows + weighted BG/NBD fit + Gamma-Gamma fit (timed after loading the file)."""
    df = _load(n)
    t = time.perf_counter()
    bg = clv.fit_bgnbd(df["frequency"], df["recency"], df["T"])
    gg = clv.fit_gamma_gamma(df["frequency"], df["monetary_value"])
    s = time.perf_counter() - t
    return {"seconds": s, "r": round(bg["r"], 3), "alpha": round(bg["alpha"], 2), "a": round(bg["a"], 3),
            "b": round(bg["b"], 3), "p": round(gg["p"], 3), "q": round(gg["q"], 3), "gamma": round(gg["gamma"], 2)}


def lifetimes_fit(n: int) -> dict:
    """lifetimes 0.11 on the same summary (it also merges identical rows with weights: that is
    what BetaGeoFitter.fit does internally)."""
    import warnings

    warnings.filterwarnings("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    df = _load(n).to_pandas()
    t = time.perf_counter()
    bg = BetaGeoFitter(penalizer_coef=0.0).fit(df["frequency"], df["recency"], df["T"])
    rep = df[df["frequency"] > 0]
    gg = GammaGammaFitter(penalizer_coef=0.0).fit(rep["frequency"], rep["monetary_value"])
    s = time.perf_counter() - t
    p = bg.params_
    return {"seconds": s, "r": round(float(p["r"]), 3), "alpha": round(float(p["alpha"]), 2),
            "a": round(float(p["a"]), 3), "b": round(float(p["b"]), 3), "p": round(float(gg.params_["p"]), 3),
            "q": round(float(gg.params_["q"]), 3), "gamma": round(float(gg.params_["v"]), 2)}


def cx_summary(db: str) -> dict:
    """Ours: the Ibis summary (one row per buyer, as polars) on the generated dataset."""
    import cx

    store = cx.open(db, read_only=True)
    t = time.perf_counter()
    s = clv.summary(store, dataset="demo")
    sec = time.perf_counter() - t
    store.close()
    return {"seconds": sec, "customers": s.height, "repeat": int(s["frequency"].sum())}


def cx_summary_fit(db: str, warm: bool = False) -> dict:
    """Ours end to end on the generated dataset, as cx.clv.customer_value does it: the summary,
    then BG/NBD on its unique rows (weighted) and Gamma-Gamma on the repeat buyers. warm: timed on
    its second run in the process (the database's buffers and the code warm, as in the running
    app); otherwise the first run of a fresh process."""
    import cx

    store = cx.open(db, read_only=True)
    if warm:
        s = clv.summary(store, dataset="demo")
        clv.fit_bgnbd(s["frequency"], s["recency"], s["T"])
        clv.fit_gamma_gamma(s["frequency"], s["monetary_value"])
    t = time.perf_counter()
    s = clv.summary(store, dataset="demo")
    bg = clv.fit_bgnbd(s["frequency"], s["recency"], s["T"])
    gg = clv.fit_gamma_gamma(s["frequency"], s["monetary_value"])
    sec = time.perf_counter() - t
    store.close()
    return {"seconds": sec, "customers": s.height, "r": round(bg["r"], 3), "p": round(gg["p"], 3)}


if __name__ == "__main__":
    import sys

    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000
    print("ours     ", cx_fit(n))
    try:
        print("lifetimes", lifetimes_fit(n))
    except Exception as e:  # noqa: BLE001
        print("lifetimes does not run here:", type(e).__name__, e)
