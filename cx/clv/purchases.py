"""The purchase summary of a dataset (the RFM input of the models), as Ibis expressions.

A purchase is an interaction with amount > 0 (:func:`cx.expr.is_purchase`). Purchases on the same
calendar day (UTC) merge into one *purchase day* whose amount is their sum. Per customer who
bought at least once, in a time unit of a day, a week or a month: frequency = purchase days after
the first; recency = first to last purchase day; T = first purchase day to the end of the
observation (the calibration end when one is given); monetary_value = mean amount of the repeat
purchase days (0 without a repeat purchase).
"""
from __future__ import annotations

from datetime import date, datetime

import ibis
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..expr import is_purchase
from ..filters import Filters
from ..store import CXError
from .formula import unit_days


def _as_date(v) -> date | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


def purchase_days(d: Data):
    """Ibis: one row per customer and purchase day (amount > 0 rows summed), plus the data's end day."""
    t = d.interactions
    end = t.aggregate(_end=t.timestamp.max().cast("date"))
    p = t.filter(is_purchase(d, t)).mutate(day=_.timestamp.cast("date"))
    days = p.group_by(["customer_id", "day"]).aggregate(amount=_.amount.sum())
    return days, end


def summary_expr(d: Data, calibration_end=None, observation_end=None, time_unit="W"):
    """The summary as an Ibis expression (columns customer_id, frequency, recency, T,
    monetary_value, first_purchase, last_purchase, end)."""
    u = unit_days(time_unit)
    days, end = purchase_days(d)
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


def check_amounts(d: Data) -> None:
    """A CXError unless the interactions have an amount column."""
    if "amount" not in d.table("interactions").columns:
        raise CXError("Lifetime value needs an amount column in the interactions (revenue on purchases).")


@uses_data
def summary(d: Data, calibration_end=None, observation_end=None, time_unit: str = "W",
            filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Per customer with at least one purchase (amount > 0) on or before the calibration end (or the
    observation end, by default the last day in the filtered data): customer_id, frequency (repeat
    purchase days), recency (first → last purchase day), T (first purchase day → calibration or
    observation end), in `time_unit` (D, W or M), and monetary_value (mean amount of the repeat
    purchase days, 0 without repeats). Also first_purchase, last_purchase, end (dates).
    One Ibis expression: group by customer and purchase day, then by customer."""
    check_amounts(d)
    df = summary_expr(d, calibration_end, observation_end, time_unit).to_polars()
    if df.height == 0:
        raise CXError("No purchases found: lifetime value needs purchases, rows with an amount > 0 or of a "
                      "purchase touchpoint (an order, a purchase event: Data → Purchases).")
    return df.sort("customer_id")


@uses_data
def summary_grouped(d: Data, calibration_end=None, observation_end=None, time_unit: str = "W",
                    filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """The unique (frequency, recency, T) rows of the summary with their weight (number of
    customers), grouped in the engine: the input of the weighted BG/NBD fit."""
    check_amounts(d)
    s = summary_expr(d, calibration_end, observation_end, time_unit)
    return s.group_by(["frequency", "recency", "T"]).aggregate(weight=_.count()).to_polars()
