"""Data health: what a dataset holds, and so which pages and figures it supports.

:func:`columns` is the coverage of every column (the share of rows that have a value);
:func:`capabilities` says, figure by figure, whether the dataset supports it and, when it does
not, what to add. Pages use the same facts to say what they need instead of showing zeros.
"""
from __future__ import annotations

from dataclasses import dataclass

import ibis
import polars as pl
from ibis import _

from .data import Data, uses_data
from .expr import is_purchase
from .schema import KINDS


@uses_data
def columns(d: Data, dataset: str | None = None) -> pl.DataFrame:
    """One row per column of each table the dataset has: table, column, role (required /
    optional / attribute: a column outside the contract, kept as it came), rows, filled (rows
    with a value) and share = filled ÷ rows. Internal columns (_seq, ...) are left out."""
    out = []
    for kind in ("interactions", "customers", "feedback"):
        if not d.has(kind):
            continue
        spec = KINDS[kind]
        cols = [c for c in d.cols(kind) if not c.startswith("_")]
        t = d.table(kind)
        agg = t.aggregate(_rows=_.count(), **{f"c{i}": t[c].count() for i, c in enumerate(cols)}).to_polars()
        rows = int(agg["_rows"][0])
        for i, c in enumerate(cols):
            role = ("required" if c in spec.required else "optional" if c in spec.column_names else "attribute")
            filled = int(agg[f"c{i}"][0])
            out.append({"table": kind, "column": c, "role": role, "rows": rows, "filled": filled,
                        "share": filled / rows if rows else None})
    return pl.DataFrame(out, schema={"table": pl.Utf8, "column": pl.Utf8, "role": pl.Utf8, "rows": pl.Int64,
                                     "filled": pl.Int64, "share": pl.Float64})


@uses_data
def purchase_map(d: Data, dataset: str | None = None) -> pl.DataFrame:
    """Each distinct touchpoint: rows, rows with an amount > 0, whether the purchase rules make it a
    purchase touchpoint, and the purchases (transactions, :func:`cx.expr.is_purchase`) it holds.
    Busiest first. What the Data page shows beside the purchase rules."""
    schema = {"touchpoint": pl.Utf8, "rows": pl.Int64, "with_amount": pl.Int64, "purchase_touchpoint": pl.Boolean,
              "purchases": pl.Int64}
    if not d.has("interactions"):
        return pl.DataFrame(schema=schema)
    t = d.table("interactions")
    buy = is_purchase(d, t).cast("int64")
    out = (t.group_by("touchpoint")
           .aggregate(rows=_.count(), with_amount=(t.amount > 0).fill_null(False).cast("int64").sum(),
                      purchases=buy.sum())
           .order_by([ibis.desc("rows"), "touchpoint"]).to_polars())
    named = set(d.purchase_touchpoints)
    return out.with_columns(purchase_touchpoint=pl.col("touchpoint").is_in(list(named))).select(list(schema)).cast(schema)


@dataclass(frozen=True)
class Facts:
    """What a dataset holds, in the numbers the capability rules read."""
    interactions: int = 0
    stages: int = 0  # rows with a stage
    channels: int = 0  # distinct channels
    sessions: int = 0  # rows with a session_id
    directions: int = 0
    departments: int = 0
    employees: int = 0
    gives: int = 0  # rows with a value_given
    incidents: int = 0  # rows marked incident
    sentiment: int = 0
    amounts: int = 0  # rows with an amount > 0
    purchases: int = 0  # transactions (cx.expr.is_purchase)
    repeat_buyers: int = 0  # customers with 2+ purchase days
    months: int = 0  # distinct months with activity
    customers_table: bool = False
    personas: int = 0
    feedback: int = 0
    metrics: tuple = ()  # (metric, answers) in the feedback
    comments: int = 0
    feedback_customers: int = 0  # answers with a customer_id


@uses_data
def facts(d: Data, dataset: str | None = None) -> Facts:
    """The counts behind :func:`capabilities`, in one aggregate per table (unfiltered)."""
    f = {}
    if d.has("interactions"):
        t = d.table("interactions")
        buy = is_purchase(d, t)
        row = t.aggregate(
            interactions=_.count(), stages=t.stage.count(), channels=t.channel.nunique(),
            sessions=t.session_id.count(), directions=t.direction.count(), departments=t.department.count(),
            employees=t.employee_id.count(), gives=t.value_given.count(),
            incidents=t.incident.fill_null(False).cast("int64").sum(), sentiment=t.sentiment.count(),
            amounts=(t.amount > 0).fill_null(False).cast("int64").sum(), purchases=buy.cast("int64").sum(),
            months=t.timestamp.truncate("M").nunique()).to_polars().row(0, named=True)
        f.update({k: int(v or 0) for k, v in row.items()})
        days = t.filter(buy).group_by("customer_id").aggregate(n=t.timestamp.date().nunique())
        f["repeat_buyers"] = int(days.filter(days.n >= 2).count().to_pyarrow().as_py())
    if d.has("customers"):
        f["customers_table"] = True
        if d.has("customers", "persona"):
            c = d.table("customers")
            f["personas"] = int(c.persona.nunique().to_pyarrow().as_py() or 0)
    if d.has("feedback"):
        fb = d.table("feedback")
        row = fb.aggregate(feedback=_.count(), comments=fb.comment.count(),
                           feedback_customers=fb.customer_id.count()).to_polars().row(0, named=True)
        f.update({k: int(v or 0) for k, v in row.items()})
        m = fb.group_by(metric=fb.metric.lower().strip()).aggregate(n=_.count()).order_by("metric").to_polars()
        f["metrics"] = tuple(zip(m["metric"].to_list(), m["n"].to_list()))
    return Facts(**f)


# (area, figure, page, test on Facts, what to add when the test fails)
_RULES = (
    ("Dataset", "Volumes, stage reach, channel mix, activity", "overview",
     lambda x: x.interactions > 0, "interactions"),
    ("Journey", "Funnels by stage, loops, paths, the loop graph", "journey",
     lambda x: x.stages > 0, "a stage column, or touchpoint names the stage rules recognise (Data → Stage map)"),
    ("Journey", "Funnels by touchpoint", "journey", lambda x: x.interactions > 0, "interactions"),
    ("Journey", "Funnels per session", "journey", lambda x: x.sessions > 0, "a session_id column"),
    ("Journey", "Channel switching and hand-offs", "journey", lambda x: x.channels >= 2,
     "a channel column with at least two channels"),
    ("Journey", "Emotion curve (sentiment by stage)", "journey", lambda x: x.sentiment > 0 and x.stages > 0,
     "a sentiment column (-1..1) on the interactions"),
    ("Life cycle", "Retention cohorts and lifecycle states", "lifecycle", lambda x: x.months >= 2,
     "activity in at least two months"),
    ("Value", "Purchases, buyers, repeat-purchase rate", "value", lambda x: x.purchases > 0,
     "purchases: an amount > 0, or a purchase touchpoint (Data → Purchases)"),
    ("Value", "Revenue and money value", "value", lambda x: x.amounts > 0, "an amount column (revenue on purchases)"),
    ("Value", "Predicted purchases and P(alive) (BG/NBD)", "value", lambda x: x.repeat_buyers >= 10,
     "purchases on different days by at least 10 customers (repeat buyers)"),
    ("Value", "Predicted lifetime value (Gamma-Gamma spend)", "value",
     lambda x: x.repeat_buyers >= 10 and x.amounts > 0, "repeat buyers and an amount column"),
    ("Loyalty & trust", "NPS", "loyalty", lambda x: _answers(x, "nps") > 0, "feedback answers with metric = nps"),
    ("Loyalty & trust", "CSAT", "loyalty", lambda x: _answers(x, "csat") > 0, "feedback answers with metric = csat"),
    ("Loyalty & trust", "CES", "loyalty", lambda x: _answers(x, "ces") > 0, "feedback answers with metric = ces"),
    ("Loyalty & trust", "Trust", "loyalty", lambda x: _answers(x, "trust") > 0, "feedback answers with metric = trust"),
    ("Loyalty & trust", "Key drivers", "loyalty", lambda x: _answers(x, "csat") > 0 and _answers(x, "nps") > 0
     and x.feedback_customers > 0, "CSAT answers per touchpoint and NPS answers from the same customers"),
    ("Loyalty & trust", "Forgiveness after incidents", "loyalty", lambda x: x.incidents > 0,
     "an incident column (true on service failures)"),
    ("Loyalty & trust", "Relationship quality: two-way dialogue", "loyalty", lambda x: x.directions > 0,
     "a direction column (inbound / outbound)"),
    ("Loyalty & trust", "Relationship quality: exchange of value", "loyalty", lambda x: x.gives > 0,
     "a value_given column (discount, gift, thank_you ...)"),
    ("Voice of the customer", "Comment sentiment and themes", "voc", lambda x: x.comments > 0,
     "feedback with a comment column"),
    ("Segments", "Behaviour clusters", "segments", lambda x: x.interactions > 0, "interactions"),
    ("Segments", "Persona × behaviour", "segments", lambda x: x.personas > 0,
     "a customers table with a persona column"),
    ("Teams", "Departments", "teams", lambda x: x.departments > 0, "a department column on the interactions"),
    ("Teams", "Employees", "teams", lambda x: x.employees > 0, "an employee_id column on the interactions"),
)


def _answers(x: Facts, metric: str) -> int:
    return dict(x.metrics).get(metric, 0)


@uses_data
def capabilities(d: Data, dataset: str | None = None) -> pl.DataFrame:
    """One row per figure: area, figure, page, available (bool), needs (what to add, when not)."""
    x = facts(d)
    rows = [{"area": a, "figure": fig, "page": page, "available": bool(ok(x)), "needs": None if ok(x) else needs}
            for a, fig, page, ok, needs in _RULES]
    return pl.DataFrame(rows, schema={"area": pl.Utf8, "figure": pl.Utf8, "page": pl.Utf8,
                                      "available": pl.Boolean, "needs": pl.Utf8})
