"""What is in a dataset: volumes, revenue, stage and channel mix, activity over time.

Each function is one Ibis expression over the filtered interactions (run by DuckDB, portable to
the other Ibis backends) and returns a small polars frame. Each takes a data handle first
(:mod:`cx.data`; a store with filters= and dataset= works too).
"""
from __future__ import annotations

import ibis
import polars as pl
from ibis import _

from .data import Data, uses_data
from .expr import initiated, is_purchase, period_start, stage_rank
from .filters import CUSTOMER_FILTERS, FilterOptions, Filters
from .terms import Term

PERIODS = {"day": "D", "week": "W", "month": "M"}


@uses_data
def kpis(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """One row: customers, touchpoints, purchases (rows with a positive amount), purchasers,
    revenue (sum of amount, refunds included), first and last timestamp."""
    t = d.interactions
    bought = is_purchase(d, t)
    return t.aggregate(
        customers=t.customer_id.nunique(),
        touchpoints=t.count(),
        purchases=bought.sum(),
        purchasers=t.customer_id.nunique(where=bought),
        revenue=t.amount.sum().fill_null(0),
        first=t.timestamp.min(),
        last=t.timestamp.max(),
    ).to_polars()


@uses_data
def by_stage(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Touchpoints and distinct customers per stage, in journey order (unmapped last)."""
    t = d.interactions
    stage = t.stage.fill_null("(no stage)")
    return (t.mutate(stage=stage, _o=stage_rank(stage).fill_null(5))
            .group_by(["stage", "_o"])
            .aggregate(touchpoints=_.count(), customers=_.customer_id.nunique())
            .order_by("_o").drop("_o").to_polars())


@uses_data
def by_channel(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Touchpoints, customers and share of touchpoints per channel, largest first."""
    t = d.interactions
    t = t.mutate(channel=t.channel.fill_null("(unknown)"))
    g = t.group_by("channel").aggregate(touchpoints=_.count(), customers=_.customer_id.nunique())
    return (g.mutate(share=g.touchpoints / g.touchpoints.sum().over())
            .order_by([ibis.desc("touchpoints"), "channel"]).to_polars())


def _check(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"period is one of {', '.join(PERIODS)}")


@uses_data
def activity(d: Data, filters: Filters | None = None, dataset: str | None = None,
             period: str = "week") -> pl.DataFrame:
    """Per period (day, week from Monday, or month): active customers (customers with at least one
    touchpoint they initiated, i.e. not marked outbound: a newsletter received is not activity),
    touchpoints (all), revenue, revenue_sq (the sum over customers of the square of their revenue
    in the period: the variance of the revenue total, cx.stats.total), and whether the data covers
    only part of the period."""
    _check(period)
    t = d.interactions
    t = t.mutate(period=period_start(t.timestamp, period), _own=initiated(t))
    per = t.group_by(["period", "customer_id"]).aggregate(_own=_._own.any(), _n=_.count(),
                                                          _rev=_.amount.sum().fill_null(0))
    g = (per.group_by("period")
         .aggregate(active_customers=_._own.cast("int64").sum(), touchpoints=_._n.sum(),
                    revenue=_._rev.sum(), revenue_sq=(_._rev * _._rev).sum()))
    # a period is partial when the data (after the filters) starts after its first day or ends
    # before its last day: its counts are not comparable with full periods
    span = t.aggregate(lo=t.timestamp.min(), hi=t.timestamp.max())
    step = {"day": ibis.interval(days=1), "week": ibis.interval(weeks=1), "month": ibis.interval(months=1)}[period]
    g = g.cross_join(span)
    g = g.mutate(partial=(g.lo.cast("date") > g.period) | ((g.hi.cast("date") + ibis.interval(days=1)) < g.period + step))
    return g.drop("lo", "hi").order_by("period").to_polars()


MAX_ATTRIBUTE_VALUES = 50


@uses_data
def filter_options(d: Data, dataset: str | None = None) -> FilterOptions:
    """The values the sidebar offers, read from the dataset (unfiltered): the date span, the
    channels, the contract's customer attributes' values (at most 200 each), and the values of every
    other customer attribute that has at most MAX_ATTRIBUTE_VALUES of them (an event log's
    acquisition_channel; not an id or an amount)."""
    if not d.has("interactions"):
        return FilterOptions()
    t = d.table("interactions")
    span = t.aggregate(lo=t.timestamp.min(), hi=t.timestamp.max()).to_polars()
    chans = t.filter(t.channel.notnull()).select("channel").distinct().order_by("channel").to_polars()
    values = {}
    if d.has("customers"):
        c = d.table("customers")
        for n in CUSTOMER_FILTERS:
            if n in c.columns:
                v = c.filter(c[n].notnull()).select(n).distinct().order_by(n).limit(200).to_polars()
                if v.height:
                    values[n] = tuple(v[n].to_list())
    for n in d.customer_attributes():  # the other customer attributes, when they hold a few values
        if n in CUSTOMER_FILTERS or n in values:
            continue
        a = d.customer_attribute(n)
        v = a.filter(a[n].notnull() & (a[n] != "")).select(n).distinct().order_by(n).limit(MAX_ATTRIBUTE_VALUES + 1)
        v = v.to_polars()
        if 0 < v.height <= MAX_ATTRIBUTE_VALUES:
            values[n] = tuple(v[n].to_list())
    lo, hi = span["lo"][0], span["hi"][0]
    return FilterOptions(lo.date() if lo else None, hi.date() if hi else None,
                         tuple(chans["channel"].to_list()), values)


@uses_data
def touchpoints(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Each touchpoint with its stage and volume, largest first (for step pickers and maps)."""
    t = d.interactions
    return (t.group_by(["touchpoint", "stage"]).aggregate(touchpoints=_.count(), customers=_.customer_id.nunique())
            .order_by([ibis.desc("touchpoints"), "touchpoint"]).to_polars())


@uses_data
def purchase_activity(d: Data, filters: Filters | None = None, dataset: str | None = None,
                      period: str = "month") -> pl.DataFrame:
    """Per period: buyers (customers with a purchase, amount > 0, in the period), repeat_buyers
    (buyers whose first purchase in the filtered data was in an earlier period) and repeat_rate =
    repeat_buyers ÷ buyers (the repeat-purchase rate)."""
    _check(period)
    t = d.interactions
    p = t.filter(is_purchase(d, t))
    p = p.mutate(period=period_start(p.timestamp, period))
    first = p.group_by("customer_id").aggregate(_first=_.period.min())
    b = p.select("customer_id", "period").distinct()
    b = b.join(first, "customer_id")
    g = b.group_by("period").aggregate(buyers=_.count(), repeat_buyers=(_._first < _.period).cast("int64").sum())
    g = g.mutate(repeat_rate=g.repeat_buyers.cast("float64") / g.buyers)
    return g.order_by("period").to_polars()


# ----------------------------------------------------------------------------- glossary
_T = Term
GLOSSARY: tuple[Term, ...] = (
    _T("customers", "Customers", "Dataset",
       "Distinct customer_id with at least one touchpoint (after the filters).", "cx.profile.kpis", "overview"),
    _T("touchpoints", "Touchpoints", "Dataset", "Rows of interactions: every recorded touchpoint.",
       "cx.profile.kpis", "overview"),
    _T("purchases", "Purchases", "Dataset",
       "Transactions: rows with an amount > 0, or rows of a purchase touchpoint whatever their amount (a $0 "
       "order is an order; purchase touchpoints come from keyword rules such as order or purchase, editable "
       "on the Data page). Reaching the purchase stage (a cart, a checkout step) is not buying.",
       "cx.expr.is_purchase", "overview"),
    _T("buying_share", "Buying customers", "Dataset",
       "Customers with at least one purchase ÷ customers.", "cx.profile.kpis", "overview"),
    _T("revenue", "Revenue", "Dataset", "Sum of amount over all touchpoints (refunds count negative).",
       "cx.profile.kpis", "overview"),
    _T("active_customers", "Active customers", "Dataset",
       "Per day / week (from Monday) / month: customers with a touchpoint they initiated, i.e. not marked "
       "outbound (receiving a newsletter is not activity). A first or last period the data covers only "
       "partly is flagged `partial`.", "cx.profile.activity", "overview"),
    _T("stage_reach", "Stage reach", "Dataset",
       "Per stage, in journey order: customers with at least one touchpoint in it, and touchpoints.",
       "cx.profile.by_stage", "overview"),
    _T("channel_mix", "Channel mix", "Dataset", "Per channel: touchpoints, customers, share of touchpoints.",
       "cx.profile.by_channel", "overview"),
)
