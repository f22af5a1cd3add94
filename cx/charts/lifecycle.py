"""Charts of the Life cycle page: polars frame -> plotly Figure (no data access)."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from . import PALETTE, _layout

STATE_COLORS = {"new": "#219ebc", "returning": "#2a9d8f", "resurrecting": "#ffb703", "dormant": "#e63946"}


def _fmt_period(d, period: str) -> str:
    return d.strftime("%b %Y") if period == "month" else d.strftime("%d %b %Y")


def cohort_heatmap(m: pl.DataFrame, period: str = "month", title: str = "Retention by cohort",
                   max_k: int | None = None) -> go.Figure:
    """m: a retention matrix (cohort, period_index, cohort_size, active, share, complete) for one
    group. Rows = cohorts (oldest on top), columns = period k; colour and text = share active.
    Cells of an incomplete (partial) period are drawn in grey so they do not read as a drop."""
    if max_k is not None:
        m = m.filter(pl.col("period_index") <= max_k)
    cohorts = sorted(m["cohort"].unique().to_list())
    ks = sorted(m["period_index"].unique().to_list())
    row = {c: i for i, c in enumerate(cohorts)}
    col = {k: j for j, k in enumerate(ks)}
    z = [[None] * len(ks) for _ in cohorts]
    zi = [[None] * len(ks) for _ in cohorts]
    cd = [[None] * len(ks) for _ in cohorts]
    size = {}
    has_ci = "low" in m.columns
    lows = m["low"].to_list() if has_ci else [None] * m.height
    highs = m["high"].to_list() if has_ci else [None] * m.height
    for (c, k, n, a, s, comp), lo, hi in zip(m.select("cohort", "period_index", "cohort_size", "active", "share",
                                                      "complete").iter_rows(), lows, highs):
        (z if comp else zi)[row[c]][col[k]] = s
        band = f", 95% {lo:.0%} to {hi:.0%}" if lo is not None and hi is not None else ""
        small = " — fewer than 30 customers: read with care" if n < 30 else ""
        cd[row[c]][col[k]] = [str(c), k, n, a, ("" if comp else " (partial period)") + band + small, f"{s:.0%}"]
        size[c] = n
    labels = [f"{_fmt_period(c, period)} · {size.get(c, 0):,}" for c in cohorts]
    hover = ("cohort %{customdata[0]} (%{customdata[2]:,} customers)<br>" + period +
             " %{customdata[1]}: %{customdata[3]:,} active = %{z:.0%}%{customdata[4]}<extra></extra>")
    text = "%{z:.0%}" if len(ks) <= 18 and len(cohorts) <= 30 else None
    fig = go.Figure()
    fig.add_trace(go.Heatmap(z=z, x=ks, y=labels, customdata=cd, colorscale="Blues", zmin=0, zmax=1,
                             texttemplate=text, hovertemplate=hover, name="complete", xgap=1, ygap=1,
                             colorbar=dict(title="active", tickformat=".0%")))
    fig.add_trace(go.Heatmap(z=zi, x=ks, y=labels, customdata=cd, colorscale=[[0, "#eeeeee"], [1, "#bbbbbb"]],
                             zmin=0, zmax=1, texttemplate=text, hovertemplate=hover, showscale=False,
                             name="partial period", xgap=1, ygap=1))
    # heatmaps cannot be selected in Streamlit: an invisible marker on every cell carries the click
    # (and the hover) to the drill-down
    pts = [(k, labels[row[c]], cd[row[c]][col[k]]) for c, k in m.select("cohort", "period_index").iter_rows()]
    fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], customdata=[p[2] for p in pts],
                             mode="markers", marker=dict(size=14, symbol="square", opacity=0), showlegend=False,
                             name="cells", hovertemplate=hover.replace("%{z:.0%}", "%{customdata[5]}")))
    for tr in fig.data[:2]:
        tr.hoverinfo = "skip"
        tr.hovertemplate = None
    fig.update_xaxes(title=f"{period}s since the first one (k)", side="top", dtick=1 if len(ks) <= 24 else None)
    fig.update_yaxes(title="cohort · size", autorange="reversed", type="category")
    fig = _layout(fig, title, height=max(360, min(22 * len(cohorts), 1100) + 140))
    fig.update_layout(margin=dict(t=100), title=dict(y=0.99, yanchor="top"))
    return fig


def retention_curves(c: pl.DataFrame, period: str = "month", title: str = "Retention curve",
                     max_k: int | None = None) -> go.Figure:
    """c: a retention curve frame ([group,] period_index, cohorts, customers, active, share[, low,
    high]); one line per group, with each point's 95% interval when low/high are given
    (cx.stats.with_rate_interval).
    Only complete periods are pooled, so the end of the curve does not dip falsely."""
    if max_k is not None:
        c = c.filter(pl.col("period_index") <= max_k)
    groups = [(None, c)] if "group" not in c.columns else [(k[0], g) for k, g in c.group_by("group",
                                                                                             maintain_order=True)]
    fig = go.Figure()
    for i, (name, g) in enumerate(sorted(groups, key=lambda x: str(x[0]))):
        g = g.sort("period_index")
        colour = PALETTE[i % len(PALETTE)]
        err = {}
        if "low" in g.columns:  # the 95% interval of each point, as thin error bars on the same trace
            err = dict(error_y=dict(type="data", visible=True, color=colour, thickness=1, width=2,
                                    array=(g["high"] - g["share"]).to_list(), arrayminus=(g["share"] - g["low"]).to_list()))
        fig.add_trace(go.Scatter(**err,
            x=g["period_index"].to_list(), y=g["share"].to_list(), mode="lines+markers",
            name=str(name) if name is not None else "all customers",
            line=dict(color=colour, width=2.5), marker=dict(size=5),
            customdata=list(zip(g["customers"].to_list(), g["active"].to_list(), g["cohorts"].to_list())),
            hovertemplate=f"{period} %{{x}}: %{{y:.1%}} active<br>%{{customdata[1]:,}} of %{{customdata[0]:,}} "
                          "customers in %{customdata[2]} cohorts<extra>%{fullData.name}</extra>"))
    fig.update_xaxes(title=f"{period}s since the first one (k)")
    fig.update_yaxes(title="share of the cohort active", tickformat=".0%", range=[0, 1.05])
    return _layout(fig, title, height=380)


def lifecycle_bars(lc: pl.DataFrame, period: str = "month", title: str = "Lifecycle: who is active each period"
                   ) -> go.Figure:
    """lc: period, new, returning, resurrecting, dormant, active, net, partial. Stacked bars: new,
    returning and resurrecting above zero, dormant below; partial periods drawn paler."""
    x = [str(p) for p in lc["period"].to_list()]
    opacity = [0.45 if p else 1.0 for p in lc["partial"].to_list()] if "partial" in lc.columns else 1.0
    fig = go.Figure()
    for state in ("new", "returning", "resurrecting", "dormant"):
        sign = -1 if state == "dormant" else 1
        y = [sign * v for v in lc[state].to_list()]
        fig.add_trace(go.Bar(x=x, y=y, name=state, marker=dict(color=STATE_COLORS[state], opacity=opacity),
                             customdata=[[state, abs(v)] for v in y],
                             hovertemplate="%{x}<br>%{customdata[0]}: %{customdata[1]:,} customers<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=lc["net"].to_list(), name="net change", mode="lines",
                             line=dict(color="#333", width=1.5, dash="dot"),
                             hovertemplate="%{x}<br>net change %{y:+,}<extra></extra>"))
    fig.add_hline(y=0, line=dict(color="#888", width=1))
    fig.update_layout(barmode="relative", bargap=0.15)
    fig.update_xaxes(title=period, type="category", nticks=16)
    fig.update_yaxes(title="customers (dormant below zero)", tickformat=",")
    return _layout(fig, title, height=400)
