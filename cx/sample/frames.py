"""The generated arrays as polars frames: interactions, customers, feedback (the data contract of
cx/schema.py) and the per-customer truth (latents and realised purchase history)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from cx.schema import STAGES

from .constants import (ACQ_BY_TP, AGE_BANDS, CHANNELS, DEPARTMENTS, DIRECTIONS, EMP_DEPT, END, GROUP_NAMES,
                        METRICS, PERSONAS, REGIONS, STAKEHOLDERS, START_US, TIERS, TOUCHPOINTS, VALUES)
from .state import World


@dataclass
class SampleData:
    """One generated dataset: the three importable frames, the planted truth (truth.json) and the
    per-customer truth (truth_customers.csv)."""

    interactions: pl.DataFrame
    customers: pl.DataFrame
    feedback: pl.DataFrame
    truth: dict
    customer_truth: pl.DataFrame


def lookup(names, codes) -> pl.Series:
    """Names of codes (-1 -> null)."""
    codes = np.asarray(codes, dtype=np.int64)
    s = pl.Series(list(names), dtype=pl.Utf8)
    idx = pl.Series(np.where(codes < 0, 0, codes).astype(np.uint32))
    out = s.gather(idx)
    if (codes < 0).any():
        out = out.scatter(np.flatnonzero(codes < 0), None)
    return out


def ts(x) -> pl.Series:
    """Datetimes (us) of times in seconds since the window start, rounded to the second."""
    return pl.Series(START_US + np.round(np.asarray(x, dtype=float)).astype(np.int64) * 1_000_000).cast(
        pl.Datetime("us"))


def opt_float(x) -> pl.Series:
    """Floats with nan -> null."""
    return pl.Series(x, dtype=pl.Float64).fill_nan(None)


def frames(w: World) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(interactions, customers, feedback, customer_truth)."""
    n = w.people.n
    width = max(6, len(str(n)))
    cust_ids = pl.Series("customer_id", [f"C{i + 1:0{width}d}" for i in range(n)], dtype=pl.Utf8)
    return (_interactions(w, cust_ids), _customers(w, cust_ids), _feedback(w, cust_ids),
            _customer_truth(w, cust_ids))


def _interactions(w: World, cust_ids: pl.Series) -> pl.DataFrame:
    ev = w.events
    emp_ids = pl.Series([f"E{i + 1:04d}" for i in range(EMP_DEPT.size)], dtype=pl.Utf8)
    sid = pl.Series(ev.sess_id)
    return pl.DataFrame({
        "customer_id": cust_ids.gather(pl.Series(ev.cust.astype(np.uint32))),
        "timestamp": ts(ev.t),
        "touchpoint": lookup(TOUCHPOINTS, ev.tp),
        "stage": lookup(STAGES, ev.stage),
        "channel": lookup(CHANNELS, ev.ch),
        "direction": lookup(DIRECTIONS, ev.direction),
        "department": lookup(DEPARTMENTS, ev.dep),
        "employee_id": lookup(emp_ids.to_list(), ev.emp),
        "amount": opt_float(ev.amount),
        "value_given": lookup(VALUES, ev.vg),
        "sentiment": opt_float(ev.sentiment),
        "session_id": pl.Series(np.where(ev.sess_id < 0, 0, ev.sess_id)).cast(pl.Utf8).str.zfill(8),
        "incident": pl.Series(ev.inc.astype(bool)),
    }).with_columns(
        pl.when(sid >= 0).then(pl.lit("S") + pl.col("session_id")).otherwise(None).alias("session_id"))


def _customers(w: World, cust_ids: pl.Series) -> pl.DataFrame:
    """first_seen = first touchpoint; tier from realised spend (gold: top 15%, silver: above the median)."""
    n, cust, amount, p = w.people.n, w.events.cust, w.events.amount, w.people
    first_seen = np.full(n, np.nan)
    np.fmin.at(first_seen, cust, w.events.t)
    pos_amt = np.where(np.nan_to_num(amount) > 0, amount, 0.0)
    spend = np.bincount(cust, weights=np.nan_to_num(amount), minlength=n)
    gross = np.bincount(cust, weights=pos_amt, minlength=n)
    has_spend = gross > 0
    q50, q85 = (np.quantile(spend[has_spend], [0.5, 0.85]) if has_spend.any() else (0.0, 0.0))
    tier = np.where(has_spend & (spend >= q85), 2, np.where(has_spend & (spend >= q50), 1, 0))
    acq = np.array([ACQ_BY_TP.get(TOUCHPOINTS[i], "organic") for i in range(len(TOUCHPOINTS))])[w.journey.acq_tp]
    return pl.DataFrame({
        "customer_id": cust_ids,
        "persona": lookup(PERSONAS, p.persona),
        "first_seen": ts(first_seen),
        "region": lookup(REGIONS, p.region),
        "tier": lookup(TIERS, tier),
        "stakeholder": lookup(STAKEHOLDERS, p.stakeholder),
        "acquisition_channel": pl.Series(acq, dtype=pl.Utf8),
        "age_band": lookup(AGE_BANDS, p.age),
    })


def _feedback(w: World, cust_ids: pl.Series) -> pl.DataFrame:
    fb = w.feedback
    return pl.DataFrame({
        "customer_id": cust_ids.gather(pl.Series(fb["cust"].astype(np.uint32))),
        "timestamp": ts(fb["t"]),
        "metric": lookup(METRICS, fb["metric"]),
        "score": pl.Series(fb["score"].astype(float)),
        "comment": fb["comment"],
        "touchpoint": lookup(TOUCHPOINTS, fb["tp"]),
        "channel": lookup(CHANNELS, fb["ch"]),
        "solicited": pl.Series(fb["metric"] != METRICS.index("rating")),
    })


def _customer_truth(w: World, cust_ids: pl.Series) -> pl.DataFrame:
    p, pur = w.people, w.purchases
    fp, dead = pur.first_purchase, pur.dead
    died_int = np.where(dead, pur.died_at, np.nan)
    return pl.DataFrame({
        "customer_id": cust_ids,
        "behaviour": lookup(GROUP_NAMES, p.grp),
        "persona": lookup(PERSONAS, p.persona),
        "persona_matches": pl.Series(p.persona == p.grp),
        "lam": pl.Series(np.round(p.lam, 6)),
        "p_drop": pl.Series(np.round(p.p_drop, 6)),
        "nu": pl.Series(np.round(p.nu, 6)),
        "bond": pl.Series(np.round(p.bond, 4)),
        "delivery_quality": pl.Series(np.round(p.dq, 4)),
        "buyer": pl.Series(p.buyer),
        "first_purchase": ts(np.nan_to_num(fp)).scatter(np.flatnonzero(np.isnan(fp)), None),
        "n_purchases": pl.Series(pur.n_purch.astype(np.int64)),
        "n_repeat": pl.Series(pur.n_repeat.astype(np.int64)),
        "died_at": ts(np.nan_to_num(died_int)).scatter(np.flatnonzero(~dead), None),
        "active_until": ts(np.minimum(np.where(~np.isnan(fp), pur.active_end, w.journey.end), END)),
        "alive": pl.Series(~dead),
    })
