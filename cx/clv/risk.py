"""Proactive outreach: valuable customers at risk (low or falling P(alive), a recent incident or
detractor answer), by value at risk."""
from __future__ import annotations

from datetime import timedelta

import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..filters import Filters
from .value import customer_value


@uses_data
def outreach(d: Data, horizon_months: int = 12, discount_rate: float = 0.10, time_unit: str = "W",
             value_quantile: float = 0.75, low_p_alive: float = 0.5, p_alive_drop: float = 0.10,
             recent_days: int = 30, filters: Filters | None = None, dataset: str | None = None,
             details: bool = True) -> pl.DataFrame:
    """Valuable customers at risk, by value at risk (largest first).
    Valuable = predicted CLV in the top (1 − value_quantile) of buyers (top quarter by default).
    At risk = any of: P(alive) below `low_p_alive`; P(alive) fell by `p_alive_drop` or more over
    the last 30 days (no purchase since); an incident, or a detractor answer (NPS 0–6), in the last
    `recent_days` days of the data.
    value_at_risk = predicted CLV × (1 − P(alive)): large for customers who are worth a lot and
    whose activity is in doubt; customers long gone (CLV ≈ 0) and customers surely active
    (P(alive) ≈ 1) rank low, which is the order in which outreach pays.
    Columns: customer_id, predicted_clv, p_alive, p_alive_30d_ago, value_at_risk, reasons (text),
    last_activity, persona (when known); details=False: without last_activity and persona (faster: the
    case rule "valuable customer at risk" needs neither)."""
    vm = customer_value(d, horizon_months, discount_rate, time_unit, attributes=details)
    vm.require_money("The outreach list (valuable customers at risk)")
    df = vm.customers
    t = d.interactions
    end = t.aggregate(end=t.timestamp.max()).to_polars()["end"][0]
    since = end - timedelta(days=recent_days)
    inc = None
    if d.has("interactions", "incident"):
        inc = (t.filter((t.incident == True) & (t.timestamp > since))  # noqa: E712
               .group_by("customer_id").aggregate(last_incident=_.timestamp.max(), incidents=_.count()).to_polars())
    det = None
    if d.has("feedback"):
        fb = d.feedback
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
            "reasons"] + [c for c in ("last_activity", "persona") if c in out.columns]
    return out.select(cols).sort(["value_at_risk", "customer_id"], descending=[True, False])
