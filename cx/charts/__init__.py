"""Pure functions: polars frame -> plotly Figure. No data access, no streamlit."""
from __future__ import annotations

import json
import re

import plotly.graph_objects as go
import polars as pl

from ..schema import STAGES

STAGE_COLORS = {"discover": "#8ecae6", "consider": "#219ebc", "evaluate": "#ffb703", "purchase": "#fb8500",
                "use": "#2a9d8f", "(no stage)": "#b0b0b0"}
PALETTE = ["#219ebc", "#fb8500", "#2a9d8f", "#8338ec", "#e63946", "#ffb703", "#3a86ff", "#6a994e",
           "#b5838d", "#8d99ae"]
FONT = dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=13)


# Plotly draws a subset of HTML in every text it shows (labels, ticks, legends, hover), and that
# subset includes <a href=...>: a link. Our charts never make one, so any "<a" in a figure came
# from the data (a touchpoint, a customer id ...) and is shown as text instead.
_LINK_TAG = re.compile(r"<(?=\s*/?\s*a\b)", re.IGNORECASE)


def _defused(v):
    """v with every "<a"/"</a" tag opener written as the text "&lt;a" (Plotly shows the entity as
    "<"); v itself (the same object) when nothing needed it."""
    if isinstance(v, str):
        return _LINK_TAG.sub("&lt;", v) if "<" in v and _LINK_TAG.search(v) else v
    if isinstance(v, dict):
        new = {k: _defused(x) for k, x in v.items()}
        return v if all(new[k] is v[k] for k in v) else new
    if isinstance(v, (list, tuple)):
        new = [_defused(x) for x in v]
        return v if all(a is b for a, b in zip(new, v)) else type(v)(new) if isinstance(v, list) else tuple(new)
    return v


def _has_link_tag(v) -> bool:
    """A fast look for a link tag anywhere in a property value (one JSON dump, one search)."""
    if isinstance(v, str):
        return "<" in v and _LINK_TAG.search(v) is not None
    if hasattr(v, "dtype") and v.dtype.kind in "biufcmM":  # a numeric numpy array: no text
        return False
    text = json.dumps(v, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    return "<" in text and _LINK_TAG.search(text) is not None


def defuse(fig: go.Figure) -> go.Figure:
    """No link from data in `fig` (see _LINK_TAG): each trace's and the layout's properties are
    looked at once, and only a property that carries a link tag is rewritten. Returns `fig`."""
    for tr in fig.data:
        props = tr.to_plotly_json() if any(_has_link_tag(v) for v in tr._props.values()) else {}
        fixed = {k: x for k, x in ((k, _defused(v)) for k, v in props.items()) if x is not props[k]}
        if fixed:
            tr.update(fixed)
    if _has_link_tag(fig.layout._props):
        lay = fig.layout.to_plotly_json()
        fig.update_layout({k: x for k, x in ((k, _defused(v)) for k, v in lay.items()) if x is not lay[k]},
                          overwrite=True)
    return fig


def _layout(fig: go.Figure, title: str | None = None, height: int = 340) -> go.Figure:
    """The house style, and no link from data (:func:`defuse`). Every chart ends here."""
    fig.update_layout(title=dict(text=title, x=0, xanchor="left") if title else None, height=height,
                      margin=dict(l=10, r=10, t=50 if title else 20, b=10), font=FONT,
                      plot_bgcolor="white", paper_bgcolor="white", hoverlabel=dict(font_size=13),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=1, xanchor="right"))
    fig.update_xaxes(showgrid=False, linecolor="#ccc")
    fig.update_yaxes(gridcolor="#eee", zeroline=False)
    return defuse(fig)


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


def stage_order(values) -> list[str]:
    return [s for s in STAGES if s in set(values)] + sorted(v for v in set(values) if v not in STAGES)


# ----------------------------------------------------------------------------- journey
def funnel_chart(df: pl.DataFrame, title: str = "Ordered funnel") -> go.Figure:
    """df: step, name, count, conversion_from_previous, conversion_from_first[, breakdown column].
    With a breakdown (a first column other than step), one funnel per value."""
    fig = go.Figure()
    extra = [c for c in df.columns if c not in {"step", "name", "count", "conversion_from_previous",
                                                "conversion_from_first", "median_time_from_previous",
                                                "p90_time_from_previous"}]
    groups = [(None, df)] if not extra else [(k[0], g) for k, g in df.group_by(extra[0], maintain_order=True)]
    for i, (label, g) in enumerate(groups):
        g = g.sort("step")
        fig.add_trace(go.Funnel(
            name=str(label) if label is not None else "all", y=[f"{s}. {n}" for s, n in zip(g["step"], g["name"])],
            x=g["count"].to_list(),
            texttemplate="%{value:,}<br>%{percentInitial:.0%} of step 1<br>%{percentPrevious:.0%} of previous",
            marker=dict(color=PALETTE[i % len(PALETTE)]),
            hovertemplate="<b>%{y}</b><br>%{x:,} reached<br>%{percentInitial:.1%} of step 1"
                          "<br>%{percentPrevious:.1%} of the previous step<extra>%{fullData.name}</extra>"))
    return _layout(fig, title, height=max(320, 70 * df["step"].n_unique() + 80))


def trend_lines(df: pl.DataFrame, x: str, y: str, title: str, y_title: str, percent: bool = False) -> go.Figure:
    fig = go.Figure(go.Scatter(x=df[x].to_list(), y=df[y].to_list(), mode="lines+markers",
                               line=dict(color=PALETTE[0], width=2.5)))
    fig.update_yaxes(title=y_title, tickformat=".0%" if percent else ",", rangemode="tozero")
    return _layout(fig, title)


def sankey_chart(df: pl.DataFrame, title: str = "The first steps of every journey") -> go.Figure:
    """df: step, source, target, count (transitions from step i to i+1; target may be '(end)')."""
    nodes: dict[tuple[int, str], int] = {}

    def node(step, name):
        return nodes.setdefault((step, name), len(nodes))

    src, dst, val = [], [], []
    for s, a, b, n in df.select("step", "source", "target", "count").iter_rows():
        src.append(node(s, a))
        dst.append(node(s + 1, b))
        val.append(n)
    labels = [f"{n}" for (_, n) in nodes]
    colors = [STAGE_COLORS.get(n, "#bbbbbb") for (_, n) in nodes]
    fig = go.Figure(go.Sankey(arrangement="snap", node=dict(label=labels, color=colors, pad=12, thickness=14),
                              link=dict(source=src, target=dst, value=val, color="rgba(120,140,160,0.25)"),
                              valueformat=","))
    return _layout(fig, title, height=460)


def transition_heatmap(df: pl.DataFrame, value: str = "probability", title: str = "Where customers go next") -> go.Figure:
    """df: source, target, count, probability (a transitions frame)."""
    order = stage_order(set(df["source"]) | set(df["target"]))
    m = {(a, b): v for a, b, v in df.select("source", "target", value).iter_rows()}
    z = [[m.get((a, b)) for b in order] for a in order]
    fig = go.Figure(go.Heatmap(z=z, x=order, y=order, colorscale="Blues", texttemplate="%{z:.0%}" if value ==
                               "probability" else "%{z:,}", hovertemplate="%{y} → %{x}: %{z}<extra></extra>",
                               colorbar=dict(title=value)))
    fig.update_xaxes(title="next", side="top")
    fig.update_yaxes(title="from", autorange="reversed")
    return _layout(fig, title, height=max(320, 34 * len(order) + 120))


def hbars(df: pl.DataFrame, label: str, value: str, title: str, fmt: str = ",", hover: str | None = None) -> go.Figure:
    d = df.reverse()
    fig = go.Figure(go.Bar(y=d[label].to_list(), x=d[value].to_list(), orientation="h", marker_color=PALETTE[0],
                           text=[(f"{v:.0%}" if fmt == "%" else f"{v:,}") for v in d[value]], textposition="outside",
                           cliponaxis=False))
    fig.update_xaxes(tickformat=".0%" if fmt == "%" else ",", range=[0, (d[value].max() or 1) * 1.2])
    fig.update_yaxes(automargin=True)
    return _layout(fig, title, height=max(300, 30 * d.height + 100))


def journey_map_heatmap(df: pl.DataFrame, value: str = "mean_sentiment", title: str = "Journey map") -> go.Figure:
    """df: stage, touchpoint, touchpoints, mean_sentiment[, csat, ces]: one column per stage, touchpoints
    down; colour = the chosen score (red negative, green positive)."""
    stages = stage_order(df["stage"].drop_nulls().unique().to_list())
    d = df.filter(pl.col("stage").is_not_null()).sort("touchpoints", descending=True)
    cols = []
    for s in stages:
        cols.append(d.filter(pl.col("stage") == s).head(8))
    rows = max((c.height for c in cols), default=0)
    z, text = [], []
    for r in range(rows):
        zr, tr = [], []
        for c in cols:
            if r < c.height:
                row = c.row(r, named=True)
                v = row.get(value)
                zr.append(v)
                tr.append(f"{row['touchpoint']}<br>{row['touchpoints']:,}" + (f"<br>{v:+.2f}" if isinstance(v, float)
                                                                                  and value == "mean_sentiment" else
                                                                                  f"<br>{v:.2f}" if isinstance(v, float) else ""))
            else:
                zr.append(None)
                tr.append("")
        z.append(zr)
        text.append(tr)
    scale = [[0, "#d7301f"], [0.5, "#f7f7f7"], [1, "#1a9850"]]
    zmid = 0 if value == "mean_sentiment" else None
    fig = go.Figure(go.Heatmap(z=z, x=stages, y=list(range(1, rows + 1)), text=text, texttemplate="%{text}",
                               colorscale=scale, zmid=zmid, hoverinfo="text", colorbar=dict(title=value),
                               xgap=3, ygap=3))
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_xaxes(side="top")
    fig = _layout(fig, title, height=max(360, 70 * rows + 120))
    fig.update_layout(margin=dict(t=95), title=dict(y=0.99, yanchor="top"))
    return fig


def emotion_curve(df: pl.DataFrame, title: str = "Emotion curve: how customers feel along the loop") -> go.Figure:
    """df: stage, mean_sentiment, n (journey order)."""
    fig = go.Figure(go.Scatter(x=df["stage"].to_list(), y=df["mean_sentiment"].to_list(), mode="lines+markers+text",
                               text=[f"{v:+.2f}" for v in df["mean_sentiment"]], textposition="top center",
                               line=dict(color=PALETTE[2], width=3, shape="spline"), marker=dict(size=12),
                               customdata=df["n"].to_list(),
                               hovertemplate="%{x}: %{y:+.2f} (n = %{customdata:,})<extra></extra>"))
    fig.add_hline(y=0, line=dict(color="#aaa", dash="dot"))
    fig.update_yaxes(title="mean sentiment (−1 … +1)", range=[-1, 1])
    return _layout(fig, title)
