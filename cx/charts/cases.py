"""The closed loop's charts: outcomes of resolved against unresolved cases, and a plan's metric against its
target (pure functions: polars frame -> plotly Figure)."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from . import PALETTE, _layout

_OUT = {"retained": "active again", "repurchased": "bought again"}


def outcome_bars(df: pl.DataFrame) -> go.Figure:
    """cx.cases.outcomes.compare: per reason, the difference (resolved − not, points) in retention and
    repurchase, each with its 95% interval."""
    fig = go.Figure()
    d = df.filter(pl.col("outcome").is_in(list(_OUT)) & pl.col("difference").is_not_null()) if df.height else df
    for i, (o, label) in enumerate(_OUT.items()):
        g = d.filter(pl.col("outcome") == o) if d.height else d
        if not g.height:
            continue
        diff, lo, hi = g["difference"].to_list(), g["low"].to_list(), g["high"].to_list()
        fig.add_trace(go.Bar(
            y=g["reason"].to_list(), x=diff, name=label, orientation="h", marker_color=PALETTE[i],
            error_x=dict(type="data", array=[None if h is None else h - v for v, h in zip(diff, hi)],
                         arrayminus=[None if lo_ is None else v - lo_ for v, lo_ in zip(diff, lo)]),
            customdata=list(zip(g["resolved_n"].to_list(), g["other_n"].to_list())),
            hovertemplate="%{y}: %{x:+.0f} pts (resolved n = %{customdata[0]}, not n = %{customdata[1]})"
                          "<extra>" + label + "</extra>"))
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="resolved − not resolved (percentage points)", zeroline=True)
    return _layout(fig, "Did it work? Later behaviour, resolved vs not")


def plan_chart(series: pl.DataFrame, plan: dict, baseline: float | None, current: float | None) -> go.Figure:
    """A plan's metric per month with its intervals, the target (dotted) and the plan's start (shaded
    after it); without a monthly series (the spread between employees), the two windows as bars."""
    fig = go.Figure()
    target = plan.get("target")
    if series is not None and series.height:
        x, v = series["period"].to_list(), series["value"].to_list()
        up = [None if a is None or h is None else h - a for a, h in zip(v, series["high"].to_list())]
        dn = [None if a is None or lo is None else a - lo for a, lo in zip(v, series["low"].to_list())]
        fig.add_trace(go.Scatter(x=x, y=v, mode="lines+markers", name="per month", line=dict(color=PALETTE[0]),
                                 error_y=dict(type="data", array=up, arrayminus=dn, color="#9bb9c9"),
                                 customdata=series["n"].to_list(),
                                 hovertemplate="%{x}: %{y:.2f} (n = %{customdata})<extra></extra>"))
        if target is not None:
            fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[target, target], mode="lines", name="target",
                                     line=dict(color="#2a9d8f", dash="dot", width=2)))
        fig.add_vrect(x0=plan["start_date"], x1=x[-1], fillcolor="#2a9d8f", opacity=0.07, line_width=0)
    else:
        fig.add_trace(go.Bar(x=["before the plan", "since it started"], y=[baseline, current], marker_color=PALETTE[0],
                             name="value"))
        if target is not None:
            fig.add_trace(go.Scatter(x=["before the plan", "since it started"], y=[target, target], mode="lines",
                                     name="target", line=dict(color="#2a9d8f", dash="dot", width=2)))
    import html

    return _layout(fig, f"{html.escape(str(plan['title'])[:60])}: its metric against the target")
