"""Forgiveness: are customers still active after an incident, by their tenure when it happened,
against customers without an incident observed at the same tenure."""
from __future__ import annotations

import ibis
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..expr import is_purchase
from ..filters import Filters
from ..store import CXError
from .base import MIN_N, seconds

DAY_S = 86400.0
TENURE_BANDS = ("< 6 months", "6–24 months", "> 24 months")
BAND_MIDPOINT_DAYS = (90.0, 456.0, 1000.0)
NO_INCIDENT = "no incident"


def _first_seen(d: Data, t: ibis.Table) -> ibis.Table:
    """customer_id, first_seen (the customers table's first_seen, else the first interaction),
    last_ts (last interaction), first_purchase."""
    per = t.group_by("customer_id").aggregate(_fi=_.timestamp.min(), last_ts=_.timestamp.max(),
                                              first_purchase=_.timestamp.min(where=is_purchase(d, t)))
    if d.has("customers", "first_seen"):
        c = d.table("customers")
        c = c.select(_cid=c.customer_id, _fs=c.first_seen.cast("timestamp"))
        per = per.left_join(c, per.customer_id == c._cid).drop("_cid")
        return per.mutate(first_seen=ibis.coalesce(per._fs, per._fi)).drop("_fs", "_fi")
    return per.mutate(first_seen=per._fi).drop("_fi")


def _band(days):
    return ibis.cases((days < 182.625, TENURE_BANDS[0]), (days < 730.5, TENURE_BANDS[1]), else_=TENURE_BANDS[2])


def _incident_customers(d: Data, days: int) -> ibis.Table:
    t = d.interactions
    end = t.aggregate(_end=t.timestamp.max())
    inc = t.filter(t.incident.fill_null(False)).group_by("customer_id").aggregate(incident_at=_.timestamp.min())
    inc = inc.rename(_ic="customer_id")
    per = _first_seen(d, t)
    j = per.left_join(inc, per.customer_id == inc._ic).drop("_ic").cross_join(end)
    return j.mutate(_limit=j._end - ibis.interval(days=days))


@uses_data
def forgiveness_table(d: Data, days: int = 90, filters: Filters | None = None,
                      dataset: str | None = None) -> pl.DataFrame:
    """Customers with an incident (interaction with incident = true): incident_at (first incident),
    tenure_days (incident_at − first_seen; first_seen from the customers table, else the first
    interaction), band (< 6 months = tenure < 182.6 days, 6–24 months < 730.5 days, > 24 months),
    still_active (any interaction at or after incident_at + `days`). Only incidents at or before
    the last interaction − `days` (so that `days` can be observed)."""
    j = _incident_customers(d, days)
    j = j.filter(j.incident_at.notnull() & (j.incident_at <= j._limit))
    ten = seconds(j.incident_at, j.first_seen) / DAY_S
    j = j.mutate(tenure_days=ten, band=_band(ten),
                 still_active=j.last_ts >= j.incident_at + ibis.interval(days=days))
    return j.select("customer_id", "incident_at", "tenure_days", "band", "still_active").order_by(
        ["band", "customer_id"]).to_polars()


@uses_data
def forgiveness(d: Data, days: int = 90, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Share of customers still active `days` after their first incident, by tenure band (see
    `forgiveness_table`): group, customers, still_active, share, baseline (customers without any
    incident observed at the same tenure: buyers with no incident, reference = first_seen + the band's
    midpoint (90, 456, 1000 days), first purchase at or before it, still active at it (an interaction
    at or after it) and at or before the last interaction − `days`; share with an interaction at or
    after reference + `days`), baseline_customers, low_n. A last row "no incident": buyers without an
    incident, share active `days` after their first purchase (first purchase ≤ last interaction − days)."""
    j = _incident_customers(d, days)
    inc = j.filter(j.incident_at.notnull() & (j.incident_at <= j._limit))
    ten = seconds(inc.incident_at, inc.first_seen) / DAY_S
    inc = inc.mutate(group=_band(ten), _act=ibis.ifelse(inc.last_ts >= inc.incident_at + ibis.interval(days=days),
                                                        1, 0))
    g = inc.group_by("group").aggregate(customers=_.count(), still_active=_._act.sum())
    clean = j.filter(j.incident_at.isnull() & j.first_purchase.notnull())
    base_parts = []
    for band, mid in zip(TENURE_BANDS, BAND_MIDPOINT_DAYS):
        c = clean.mutate(_ref=clean.first_seen + ibis.interval(days=int(mid)))
        c = c.filter((c.first_purchase <= c._ref) & (c._ref <= c._limit) & (c.last_ts >= c._ref))
        base_parts.append(c.aggregate(baseline_customers=_.count(),
                                      _bact=ibis.ifelse(_.last_ts >= _._ref + ibis.interval(days=days), 1, 0).sum())
                          .mutate(_bg=ibis.literal(band)))
    base = ibis.union(*base_parts)
    out = g.left_join(base, g.group == base._bg).drop("_bg")
    out = out.mutate(share=out.still_active / out.customers, baseline=out._bact / out.baseline_customers.nullif(0))
    out = out.mutate(low_n=out.customers < MIN_N).drop("_bact")
    c0 = clean.filter(clean.first_purchase <= clean._limit)
    nores = c0.aggregate(customers=_.count(),
                         still_active=ibis.ifelse(_.last_ts >= _.first_purchase + ibis.interval(days=days), 1, 0).sum())
    nores = nores.mutate(group=ibis.literal(NO_INCIDENT), baseline_customers=ibis.null("int64"),
                         share=nores.still_active / nores.customers.nullif(0), baseline=ibis.null("float64"),
                         low_n=nores.customers < MIN_N)
    cols = ["group", "customers", "still_active", "share", "baseline", "baseline_customers", "low_n"]
    df = ibis.union(out.select(cols), nores.select(cols)).to_polars()
    if df.filter(pl.col("group") != NO_INCIDENT).height == 0:
        has = d.has("interactions", "incident")
        raise CXError("No incidents found (interactions with incident = true, at least "
                      f"{days} days before the end of the data): forgiveness needs the "
                      f"{'incident column filled in' if has else 'optional incident column'}.")
    order = {b: i for i, b in enumerate((*TENURE_BANDS, NO_INCIDENT))}
    return df.with_columns(pl.col("customers").cast(pl.Int64), pl.col("still_active").cast(pl.Int64)).sort(
        pl.col("group").replace_strict(order, default=99))


@uses_data
def forgiveness_members(d: Data, group: str, days: int = 90, filters: Filters | None = None,
                        dataset: str | None = None) -> pl.DataFrame:
    """The customers of one bar of `forgiveness`: a tenure band (customers with an incident) or
    "no incident" (buyers without one, with their first purchase)."""
    if group != NO_INCIDENT:
        df = forgiveness_table(d, days)
        return df.filter(pl.col("band") == group)
    j = _incident_customers(d, days)
    c = j.filter(j.incident_at.isnull() & j.first_purchase.notnull() & (j.first_purchase <= j._limit))
    c = c.mutate(still_active=c.last_ts >= c.first_purchase + ibis.interval(days=days))
    return c.select("customer_id", "first_purchase", "last_ts", "still_active").order_by("customer_id").to_polars()
