"""What is in a dataset: volumes, revenue, stage and channel mix, activity over time.

Each function is one Ibis expression over the filtered interactions (run by DuckDB, portable to
the other Ibis backends) and returns a small polars frame.
"""
from __future__ import annotations

import ibis
import polars as pl
from ibis import _

from . import filters as flt
from .schema import STAGES

PERIODS = {"day": "D", "week": "W", "month": "M"}


def kpis(store, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """One row: customers, touchpoints, purchases (rows with a positive amount), purchasers,
    revenue (sum of amount, refunds included), first and last timestamp."""
    t = flt.interactions(store, filters, dataset)
    is_purchase = t.amount > 0
    return t.aggregate(
        customers=t.customer_id.nunique(),
        touchpoints=t.count(),
        purchases=is_purchase.sum(),
        purchasers=t.customer_id.nunique(where=is_purchase),
        revenue=t.amount.sum().fill_null(0),
        first=t.timestamp.min(),
        last=t.timestamp.max(),
    ).to_polars()


def by_stage(store, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Touchpoints and distinct customers per stage, in journey order (unmapped last)."""
    t = flt.interactions(store, filters, dataset)
    stage = t.stage.fill_null("(no stage)")
    order = ibis.cases(*[(stage == s, i) for i, s in enumerate(STAGES)], else_=len(STAGES))
    return (t.mutate(stage=stage, _o=order)
            .group_by(["stage", "_o"])
            .aggregate(touchpoints=_.count(), customers=_.customer_id.nunique())
            .order_by("_o").drop("_o").to_polars())


def by_channel(store, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Touchpoints, customers and share of touchpoints per channel, largest first."""
    t = flt.interactions(store, filters, dataset)
    t = t.mutate(channel=t.channel.fill_null("(unknown)"))
    g = t.group_by("channel").aggregate(touchpoints=_.count(), customers=_.customer_id.nunique())
    return (g.mutate(share=g.touchpoints / g.touchpoints.sum().over())
            .order_by([ibis.desc("touchpoints"), "channel"]).to_polars())


def activity(store, filters: flt.Filters | None = None, dataset: str | None = None,
             period: str = "week") -> pl.DataFrame:
    """Per period (day, week from Monday, or month): active customers (customers with at least one
    touchpoint they initiated, i.e. not marked outbound: a newsletter received is not activity),
    touchpoints (all), revenue, and whether the data covers only part of the period."""
    if period not in PERIODS:
        raise ValueError(f"period is one of {', '.join(PERIODS)}")
    t = flt.interactions(store, filters, dataset)
    unit = PERIODS[period]
    t = t.mutate(period=t.timestamp.truncate(unit).cast("date"),
                 _own=t.direction.isnull() | (t.direction != "outbound"))
    g = (t.group_by("period")
         .aggregate(active_customers=_.customer_id.nunique(where=_._own), touchpoints=_.count(),
                    revenue=_.amount.sum().fill_null(0)))
    # a period is partial when the data (after the filters) starts after its first day or ends
    # before its last day: its counts are not comparable with full periods
    span = t.aggregate(lo=t.timestamp.min(), hi=t.timestamp.max())
    step = {"D": ibis.interval(days=1), "W": ibis.interval(weeks=1), "M": ibis.interval(months=1)}[unit]
    g = g.cross_join(span)
    g = g.mutate(partial=(g.lo.cast("date") > g.period) | ((g.hi.cast("date") + ibis.interval(days=1)) < g.period + step))
    return g.drop("lo", "hi").order_by("period").to_polars()


def touchpoints(store, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Each touchpoint with its stage and volume, largest first (for step pickers and maps)."""
    t = flt.interactions(store, filters, dataset)
    return (t.group_by(["touchpoint", "stage"]).aggregate(touchpoints=_.count(), customers=_.customer_id.nunique())
            .order_by([ibis.desc("touchpoints"), "touchpoint"]).to_polars())


def purchase_activity(store, filters: flt.Filters | None = None, dataset: str | None = None,
                      period: str = "month") -> pl.DataFrame:
    """Per period: buyers (customers with a purchase, amount > 0, in the period), repeat_buyers
    (buyers whose first purchase in the filtered data was in an earlier period) and repeat_rate =
    repeat_buyers ÷ buyers (the repeat-purchase rate)."""
    if period not in PERIODS:
        raise ValueError(f"period is one of {', '.join(PERIODS)}")
    t = flt.interactions(store, filters, dataset)
    p = t.filter(t.amount > 0)
    p = p.mutate(period=p.timestamp.truncate(PERIODS[period]).cast("date"))
    first = p.group_by("customer_id").aggregate(_first=_.period.min())
    b = p.select("customer_id", "period").distinct()
    b = b.join(first, "customer_id")
    g = b.group_by("period").aggregate(buyers=_.count(), repeat_buyers=(_._first < _.period).cast("int64").sum())
    g = g.mutate(repeat_rate=g.repeat_buyers.cast("float64") / g.buyers)
    return g.order_by("period").to_polars()
