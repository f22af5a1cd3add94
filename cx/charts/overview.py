"""Charts of the Overview page: what is in the dataset (stage reach, channel mix, activity)."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from . import PALETTE, STAGE_COLORS, _layout


def stage_bars(df: pl.DataFrame, title: str = "Customers reaching each stage") -> go.Figure:
    """df: stage, touchpoints, customers (journey order)."""
    fig = go.Figure(go.Bar(
        x=df["stage"].to_list(), y=df["customers"].to_list(),
        marker_color=[STAGE_COLORS.get(s, "#999") for s in df["stage"]],
        customdata=df["touchpoints"].to_list(), text=[f"{v:,}" for v in df["customers"]],
        textposition="outside", cliponaxis=False,
        hovertemplate="<b>%{x}</b><br>%{y:,} customers<br>%{customdata:,} touchpoints<extra></extra>"))
    fig.update_yaxes(title="customers", range=[0, max(df["customers"].max() or 1, 1) * 1.15])
    return _layout(fig, title)


def channel_bars(df: pl.DataFrame, title: str = "Channel mix") -> go.Figure:
    """df: channel, touchpoints, customers, share (largest first)."""
    d = df.head(12).reverse()
    fig = go.Figure(go.Bar(
        y=d["channel"].to_list(), x=d["share"].to_list(), orientation="h", marker_color=PALETTE[0],
        text=[f"{s:.0%}" for s in d["share"]], textposition="outside", cliponaxis=False,
        customdata=list(zip(d["touchpoints"].to_list(), d["customers"].to_list())),
        hovertemplate="<b>%{y}</b><br>%{x:.1%} of touchpoints<br>%{customdata[0]:,} touchpoints"
                      "<br>%{customdata[1]:,} customers<extra></extra>"))
    fig.update_xaxes(tickformat=".0%", title="share of touchpoints",
                     range=[0, max(d["share"].max() or 0.01, 0.01) * 1.18])
    return _layout(fig, title)


def activity_lines(df: pl.DataFrame, title: str = "Activity over time", period: str = "week") -> go.Figure:
    """df: period, active_customers, touchpoints, revenue[, partial]. Partial periods at the ends
    are drawn as hollow markers, apart from the line, so a short last week does not read as a drop."""
    fig = go.Figure()
    if "partial" in df.columns and df.height > 2:
        part = df.filter(pl.col("partial"))
        df = df.filter(~pl.col("partial"))
        if part.height:
            fig.add_trace(go.Scatter(x=part["period"].to_list(), y=part["active_customers"].to_list(),
                                     name="partial period", mode="markers",
                                     marker=dict(symbol="circle-open", color=PALETTE[0], size=8),
                                     hovertemplate="%{x} (partial)<br>%{y:,} active customers<extra></extra>"))
    mode = "lines" if df.height > 12 else "lines+markers"
    fig.add_trace(go.Scatter(x=df["period"].to_list(), y=df["active_customers"].to_list(),
                             name=f"active customers per {period}", mode=mode,
                             line=dict(color=PALETTE[0], width=2.5),
                             hovertemplate="%{x}<br>%{y:,} active customers<extra></extra>"))
    fig.add_trace(go.Scatter(x=df["period"].to_list(), y=df["revenue"].to_list(), name="revenue",
                             mode=mode, yaxis="y2", line=dict(color=PALETTE[1], width=1.5, dash="dot"),
                             hovertemplate="%{x}<br>revenue %{y:,.0f}<extra></extra>"))
    fig.update_layout(yaxis=dict(title="active customers"),
                      yaxis2=dict(title="revenue", overlaying="y", side="right", showgrid=False,
                                  tickformat=",.0f", rangemode="tozero", tickmode="auto", nticks=6),
                      yaxis_rangemode="tozero")
    return _layout(fig, title)


def control_chart(df: pl.DataFrame, label: str, unit: str = "", focus=None,
                  title: str | None = None, target: float | None = None) -> go.Figure:
    """A KPI's history with its control limits (cx.overview.kpi_history: period, value, n, low, high,
    center, upper, lower, signal). Each period's interval is an error bar; a period outside the
    limits or ending a run or trend is red, its reason on hover; `focus` (a period) is ringed;
    `target` (the KPI's goal, cx.cases.alerts.targets) is a green goal line."""
    fig = go.Figure()
    if not df.height:
        return _layout(fig, title or f"{label} over time")
    x = df["period"].to_list()
    val, lo, hi = df["value"].to_list(), df["low"].to_list(), df["high"].to_list()
    up = [None if v is None or h is None else h - v for v, h in zip(val, hi)]
    down = [None if v is None or lo_ is None else v - lo_ for v, lo_ in zip(val, lo)]
    sig = df["signal"].to_list()
    fig.add_trace(go.Scatter(x=x, y=df["upper"].to_list(), name="control limits", mode="lines",
                             line=dict(color="#b0b0b0", dash="dash", shape="hv"), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=df["lower"].to_list(), name="lower limit", mode="lines", showlegend=False,
                             line=dict(color="#b0b0b0", dash="dash", shape="hv"), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=df["center"].to_list(), name="centre (average)", mode="lines",
                             line=dict(color="#8d99ae", width=1), hoverinfo="skip"))
    colours = ["#e63946" if s else PALETTE[0] for s in sig]
    words = [s or "within the limits: ordinary variation" for s in sig]
    fig.add_trace(go.Scatter(
        x=x, y=val, name=label, mode="lines+markers", line=dict(color=PALETTE[0], width=2),
        marker=dict(color=colours, size=9), customdata=list(zip(df["n"].to_list(), words)),
        error_y=dict(type="data", array=up, arrayminus=down, visible=True, color="#9bb9c9", thickness=1),
        hovertemplate="%{x}<br>" + label + " %{y:,.1f}" + unit + " (n = %{customdata[0]:,})<br>%{customdata[1]}"
                      "<extra></extra>"))
    if focus is not None and focus in x:
        i = x.index(focus)
        fig.add_trace(go.Scatter(x=[focus], y=[val[i]], name="the period you opened", mode="markers",
                                 marker=dict(symbol="circle-open", size=18, color="#1d2b36", line=dict(width=2)),
                                 hoverinfo="skip"))
    if target is not None:
        fig.add_trace(go.Scatter(x=[x[0], x[-1]], y=[target, target], name="target", mode="lines",
                                 line=dict(color="#2a9d8f", dash="dot", width=2),
                                 hovertemplate=f"target {target:,.1f}{unit}<extra></extra>"))
    fig.update_yaxes(title=label + (f" ({unit.strip()})" if unit.strip() else ""))
    return _layout(fig, title or f"{label} over time, with control limits")
