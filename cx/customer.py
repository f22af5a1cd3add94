"""Customer 360: one customer's whole history (every touchpoint, purchase, incident and answer).

The customer view shows the customer's full history: the global date/channel filters do not
apply here (a customer is looked at whole): each function reads the unfiltered tables of the data
handle (:mod:`cx.data`). Each is an Ibis expression returning polars.
"""
from __future__ import annotations

import ibis
import polars as pl
from ibis import _

from .data import Data, uses_data
from .expr import is_purchase
from .store import CXError


@uses_data
def search(d: Data, query: str = "", limit: int = 50, dataset: str | None = None) -> pl.DataFrame:
    """Customers whose id contains `query` (case-insensitive), most active first: customer_id,
    touchpoints, last_seen. An empty query lists the most active customers."""
    t = d.table("interactions")
    if query:
        t = t.filter(t.customer_id.lower().contains(query.strip().lower()))
    return (t.group_by("customer_id").aggregate(touchpoints=_.count(), last_seen=_.timestamp.max())
            .order_by([ibis.desc("touchpoints"), "customer_id"]).limit(limit).to_polars())


@uses_data
def exists(d: Data, customer_id: str, dataset: str | None = None) -> bool:
    t = d.table("interactions")
    return bool(t.filter(t.customer_id == customer_id).count().to_pyarrow().as_py())


@uses_data
def timeline(d: Data, customer_id: str, dataset: str | None = None) -> pl.DataFrame:
    """Every touchpoint of the customer in time order: timestamp, touchpoint, stage ("(no stage)"
    when unknown), channel ("(unknown)" when missing), direction, department, amount, sentiment,
    incident, and kind: purchase (:func:`cx.expr.is_purchase`: amount > 0), refund (amount < 0),
    incident (incident = true), else touchpoint."""
    t = d.table("interactions")
    t = t.filter(t.customer_id == customer_id)
    cols = {c: t[c] for c in ("direction", "department", "amount", "sentiment", "incident", "value_given")
            if c in t.columns}
    has_amount = "amount" in t.columns
    bought = is_purchase(d, t) if has_amount else ibis.literal(False)
    refund = t.amount < 0 if has_amount else ibis.literal(False)
    incident = t.incident if "incident" in t.columns else ibis.literal(None, "boolean")
    kind = ibis.cases((bought, "purchase"), (refund, "refund"), (incident.fill_null(False), "incident"),
                      else_="touchpoint")
    out = t.select(timestamp=t.timestamp, touchpoint=t.touchpoint, stage=t.stage.fill_null("(no stage)"),
                   channel=t.channel.fill_null("(unknown)"), **cols, kind=kind, _seq=t._seq)
    df = out.order_by(["timestamp", "_seq"]).drop("_seq").to_polars()
    if df.height == 0:
        raise CXError(f"No customer with id {customer_id!r} in this dataset.")
    return df


@uses_data
def feedback(d: Data, customer_id: str, dataset: str | None = None) -> pl.DataFrame:
    """The customer's answers, reviews and complaints, newest first: timestamp, metric, score,
    comment, touchpoint, channel, solicited. Empty when the dataset has no feedback table."""
    if not d.has("feedback"):
        return pl.DataFrame(schema={"timestamp": pl.Datetime, "metric": pl.Utf8, "score": pl.Float64,
                                    "comment": pl.Utf8, "touchpoint": pl.Utf8, "channel": pl.Utf8,
                                    "solicited": pl.Boolean})
    f = d.table("feedback")
    f = f.filter(f.customer_id == customer_id)
    cols = [c for c in ("timestamp", "metric", "score", "comment", "touchpoint", "channel", "solicited")
            if c in f.columns]
    return f.select(*cols).order_by([ibis.desc("timestamp")]).to_polars()


@uses_data
def profile(d: Data, customer_id: str, dataset: str | None = None) -> dict:
    """One customer's facts: first_seen, last_seen, touchpoints, channels, purchases (rows with
    amount > 0), revenue (net, refunds included), incidents, latest NPS answer (score, date), and
    their attributes from the customers table (persona, region, tier, ...) when there is one."""
    t = d.table("interactions")
    t = t.filter(t.customer_id == customer_id)
    agg = dict(first_seen=t.timestamp.min(), last_seen=t.timestamp.max(), touchpoints=t.count(),
               channels=t.channel.nunique())
    if "amount" in t.columns:
        agg.update(purchases=is_purchase(d, t).sum(), revenue=t.amount.sum())
    if "incident" in t.columns:
        agg.update(incidents=t.incident.fill_null(False).cast("int64").sum())
    row = t.aggregate(**agg).to_polars().row(0, named=True)
    if not row["touchpoints"]:
        raise CXError(f"No customer with id {customer_id!r} in this dataset.")
    out = dict(row)
    out["attributes"] = {}
    if d.has("customers"):
        c = d.table("customers")
        c = c.filter(c.customer_id == customer_id).limit(1).to_polars()
        if c.height:
            out["attributes"] = {k: v for k, v in c.row(0, named=True).items()
                                 if k != "customer_id" and v is not None and not k.startswith("_")}
    out["nps"] = None
    if d.has("feedback"):
        f = d.table("feedback")
        n = (f.filter((f.customer_id == customer_id) & (f.metric == "nps") & f.score.notnull())
             .order_by(ibis.desc("timestamp")).limit(1).select("score", "timestamp").to_polars())
        if n.height:
            out["nps"] = {"score": n["score"][0], "timestamp": n["timestamp"][0]}
    return out
