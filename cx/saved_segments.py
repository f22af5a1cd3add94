"""Saved segments: named lists of customer ids kept in the dataset (cx_meta.segments). A saved
segment is the sidebar's Segment filter on every page (:class:`cx.data.Data` applies it) and the
breakdown "segment" of the other areas (:meth:`cx.data.Data.membership`)."""
from __future__ import annotations

import polars as pl
from ibis import _

from .data import Data, uses_data
from .filters import Filters


@uses_data
def membership(d: Data, dataset: str | None = None):
    """Ibis table (customer_id, segment) of every saved segment of the dataset (a customer in
    several has one row per segment, one in none has no row)."""
    return d.membership()


@uses_data
def members_table(d: Data, segment: str, dataset: str | None = None):
    """Ibis table (customer_id) of a saved segment's members (empty when there is no such one)."""
    return d.segment_members(segment)


@uses_data
def assignments(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """customer_id, segment: one row per customer in at least one saved segment (of those passing
    the filters); a customer in several has their names joined with " & " in name order. (The
    breakdown 'segment' of cx.clv.value_by reads this.)"""
    m = d.membership()
    if not d.filters.is_empty():
        m = m.semi_join(d.interactions.select("customer_id").distinct(), "customer_id")
    g = m.group_by("customer_id").aggregate(segment=_.segment.collect().sort().join(" & "))
    return g.order_by("customer_id").to_polars()


@uses_data
def saved(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """segment, customers: the dataset's saved segments (for the sidebar and the pages)."""
    m = d.membership()
    return m.group_by("segment").aggregate(customers=_.count()).order_by("segment").to_polars()


def save(store, name: str, customer_ids, dataset: str | None = None) -> int:
    """Save (or replace) the named segment; it becomes a global filter and a breakdown."""
    return store.save_segment(name, customer_ids, dataset)
