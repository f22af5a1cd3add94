"""The whole model on a dataset: fit BG/NBD and Gamma-Gamma on the filtered history and score
every buyer (:class:`ValueModel`), then value by group, the concentration curve, and the saved
segments as a breakdown.

Historical value = net revenue to date (every amount, refunds included); predicted CLV over a
horizon of H months = Σ_k E[repeat purchases in month k | history] × E[spend per purchase |
history] / (1 + d)^(k/12) (:func:`cx.clv.formula.clv`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import ibis
import numpy as np
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..expr import is_purchase
from ..filters import Filters
from ..saved_segments import assignments
from ..store import CXError
from .bgnbd import expected_purchases, fit_bgnbd, p_alive
from .formula import MONTH_DAYS, UNIT_NAMES, clv, unit_days
from .gamma_gamma import expected_spend, fit_gamma_gamma
from .purchases import summary


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
    money: bool = True  # False: transactions without (enough) amounts: purchases and P(alive) only

    def require_money(self, what: str) -> None:
        """A CXError saying that `what` needs amounts, when the model has none."""
        if not self.money:
            raise CXError(f"{what} needs amounts: purchases with an amount > 0 by at least 2 repeat buyers. The "
                          "purchases are counted (expected purchases and P(alive) are on the Value page).")


@uses_data
def _attributes(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Per customer (Ibis): historical_value (net revenue to date, refunds included), revenue
    (purchases only), refunds, last_activity, first_channel (channel of the first purchase), and
    persona, acquisition_channel from the customers table when there is one."""
    t = d.interactions
    g = t.group_by("customer_id").aggregate(
        historical_value=_.amount.sum().fill_null(0.0),
        revenue=_.amount.sum(where=is_purchase(d, t)).fill_null(0.0),
        refunds=(-_.amount.sum(where=_.amount < 0)).fill_null(0.0),
        last_activity=_.timestamp.max(),
        purchase_channel=_.channel.argmin(ibis.ifelse(is_purchase(d, t), _.timestamp, None)),
    )
    if d.has("customers"):
        c = d.table("customers")
        cols = [n for n in ("persona", "acquisition_channel") if n in c.columns]
        if cols:
            c = c.select("customer_id", *cols)
            g = g.left_join(c, "customer_id").drop("customer_id_right")
    return g.to_polars()


@uses_data
def customer_value(d: Data, horizon_months: int = 12, discount_rate: float = 0.10, time_unit: str = "W",
                   filters: Filters | None = None, dataset: str | None = None, attributes: bool = True) -> ValueModel:
    """Fit BG/NBD and Gamma-Gamma on the whole filtered history and score every buyer: the
    summary columns, historical_value (net revenue to date), revenue, refunds, last_activity,
    purchase_channel, persona, acquisition_channel, cohort (quarter of the first purchase),
    expected_purchases (over the horizon), p_alive, expected_spend, predicted_clv (discounted),
    clv_if_alive (= predicted_clv / P(alive): the value if the customer is still active), and
    p_alive_30d_ago (P(alive) as it was 30 days before the end, with the history known then).
    attributes=False leaves out the columns from historical_value to acquisition_channel (one query over
    every touchpoint less: the case rule "valuable customer at risk" needs only the model's columns)."""
    s = summary(d, time_unit=time_unit)
    bg = fit_bgnbd(s["frequency"], s["recency"], s["T"])  # on its unique rows, weighted (grouped in polars)
    notes = []
    try:  # transactions without amounts ($0 orders, a purchase event): the purchase side only
        gg = fit_gamma_gamma(s["frequency"], s["monetary_value"].fill_null(0.0))
    except CXError as e:
        gg = None
        notes.append(f"Lifetime value in money is not shown: {e} Expected purchases and P(alive) come from the "
                     "purchases themselves.")
    x, tx, T = (s[c].to_numpy().astype(float) for c in ("frequency", "recency", "T"))
    m = s["monetary_value"].fill_null(0.0).to_numpy().astype(float)
    u = unit_days(time_unit)
    horizon_t = horizon_months * MONTH_DAYS / u
    pa = p_alive(bg, x, tx, T)
    value = clv(bg, gg, x, tx, T, m, horizon_months, discount_rate, time_unit) if gg else np.full(len(x), np.nan)
    # P(alive) 30 days ago: only when the last purchase happened before then (otherwise it rose)
    back = 30 / u
    pa_then = np.where(T - back >= tx, p_alive(bg, x, tx, np.maximum(T - back, tx)), np.nan)
    end = s["end"][0]
    df = s.with_columns(
        pl.Series("expected_purchases", expected_purchases(bg, horizon_t, x, tx, T)),
        pl.Series("p_alive", pa),
        pl.Series("p_alive_30d_ago", pa_then).fill_nan(None),
        pl.Series("expected_spend", expected_spend(gg, x, m) if gg else np.full(len(x), np.nan)).fill_nan(None),
        pl.Series("predicted_clv", value).fill_nan(None),
        pl.Series("clv_if_alive", value / np.maximum(pa, 1e-9)).fill_nan(None),
        cohort=pl.col("first_purchase").dt.truncate("1q").dt.strftime("%Y-Q") +
        pl.col("first_purchase").dt.quarter().cast(pl.Utf8),
    ).drop("end")
    if attributes:
        df = df.join(_attributes(d), on="customer_id", how="left")
    if not bg["converged"]:
        notes.append("The purchase model did not fully converge: read its numbers with care.")
    if gg and gg["q"] <= 1:
        notes.append("The spend model has q ≤ 1 (heavy-tailed spend): expected spend falls back to each "
                     "customer's own mean.")
    return ValueModel(df, bg, gg or {}, UNIT_NAMES[{"day": "D", "week": "W", "month": "M"}.get(time_unit, time_unit)],
                      horizon_months, discount_rate, end, notes, money=gg is not None)


@uses_data
def value_by(d: Data, by: str, horizon_months: int = 12, discount_rate: float = 0.10, time_unit: str = "W",
             filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Per group of `by` (persona, acquisition_channel, purchase_channel, cohort, or segment when
    the dataset has saved segments): customers, historical value (sum and mean), predicted CLV (sum and
    mean), mean P(alive), and the group's share of all predicted CLV. Largest total first."""
    vm = customer_value(d, horizon_months, discount_rate, time_unit)
    vm.require_money("Value by group")
    df = vm.customers
    if by == "segment":
        df = df.join(segments_table(d), on="customer_id", how="left")
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


@uses_data
def segments_table(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """customer_id, segment: the saved segments (cx.saved_segments.assignments), or a CXError saying
    what is needed."""
    res = assignments(d)
    if res.height == 0:
        raise CXError("Value by segment needs saved segments: save one on the Segments page.")
    return res.select("customer_id", pl.col("segment").cast(pl.Utf8))


@uses_data
def concentration(d: Data, horizon_months: int = 12, discount_rate: float = 0.10, time_unit: str = "W",
                  measure: str = "predicted_clv", filters: Filters | None = None,
                  dataset: str | None = None) -> pl.DataFrame:
    """The value concentration curve: customers sorted by `measure` (predicted_clv or
    historical_value), largest first; per percentile of customers (1..100) the cumulative share
    of the total value. Row 10 is the share of value in the top decile."""
    vm = customer_value(d, horizon_months, discount_rate, time_unit)
    if measure == "predicted_clv":
        vm.require_money("The value concentration")
    df = vm.customers
    v = np.sort(np.clip(df[measure].to_numpy().astype(float), 0, None))[::-1]
    total = v.sum() or 1.0
    n = len(v)
    pct = np.arange(1, 101)
    k = np.ceil(pct / 100 * n).astype(int)
    cum = np.concatenate([[0.0], np.cumsum(v)])
    return pl.DataFrame({"customers_share": pct / 100, "value_share": cum[k] / total})
