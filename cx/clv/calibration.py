"""The calibration/holdout check of the purchase model on a dataset: fit BG/NBD on the purchases
before the last weeks of the data, predict each customer's repeat purchase days in those weeks,
and compare with what they did."""
from __future__ import annotations

from datetime import timedelta

import ibis
import numpy as np
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..filters import Filters
from ..store import CXError
from .bgnbd import expected_purchases, fit_bgnbd
from .formula import unit_days
from .purchases import check_amounts, purchase_days, summary_expr


@uses_data
def holdout(d: Data, holdout_weeks: int = 26, time_unit: str = "W", filters: Filters | None = None,
            dataset: str | None = None) -> dict:
    """The calibration/holdout check: fit BG/NBD on purchases up to the calibration end (the last
    `holdout_weeks` weeks of the data are held out), predict each calibration customer's repeat
    purchase days in the holdout, and compare with what they did. Returns
    {"by_frequency": frequency bucket (0..6, 7+ repeat purchase days in calibration), customers,
     actual and predicted mean holdout purchases; "total": one row with customers, actual,
     predicted, error (predicted/actual − 1); "tracking": per week of the holdout, the cumulative
     actual and predicted repeat purchases; "params": the calibration fit; "calibration_end",
     "observation_end"}."""
    check_amounts(d)
    u = unit_days(time_unit)
    days, end_t = purchase_days(d)
    obs_end = end_t.to_polars()["_end"][0]
    if obs_end is None:
        raise CXError("No interactions to check the model on.")
    cal_end = obs_end - timedelta(weeks=holdout_weeks)
    cal = summary_expr(d, cal_end, None, time_unit)
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
