"""Loyalty and trust figures: polars frame -> plotly Figure (no data access, no streamlit)."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from . import PALETTE, _layout, labels_past_intervals, place_labels

LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "rating": "Review rating"}
UNITS = {"nps": "NPS (−100 to 100)", "csat": "CSAT: % satisfied (4–5 of 5)", "ces": "CES: mean effort score (1–7, 7 = easy)",
         "rating": "% ratings 4–5 of 5"}
CATEGORY_COLORS = {"promoter": "#2a9d8f", "passive": "#ffb703", "detractor": "#e63946", "satisfied": "#2a9d8f",
                   "neutral": "#ffb703", "dissatisfied": "#e63946", "easy": "#2a9d8f", "hard": "#e63946"}
QUADRANT_COLORS = {"Fix first": "#e63946", "Strength": "#2a9d8f", "Maintain": "#8d99ae", "Low priority": "#ffb703"}
LOW_N_COLOR = "#c9c9c9"
SCALE = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "rating": (1, 5)}


def _fmt(metric: str, v) -> str:
    if v is None:
        return "–"
    return f"{v:.2f}" if metric == "ces" else f"{v:+.0f}" if metric == "nps" else f"{v:.0f}%"


def score_trend(df: pl.DataFrame, metric: str, title: str | None = None) -> go.Figure:
    """df: period, n, value, low_n. Periods with fewer than 30 answers are hollow grey markers."""
    fig = go.Figure()
    ok, low = df.filter(~pl.col("low_n")), df.filter(pl.col("low_n"))
    fig.add_trace(go.Scatter(x=df["period"].to_list(), y=df["value"].to_list(), mode="lines", name=LABELS[metric],
                             line=dict(color=PALETTE[0], width=2.5), hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=ok["period"].to_list(), y=ok["value"].to_list(), mode="markers", name="30+ answers",
                             marker=dict(color=PALETTE[0], size=7), customdata=ok["n"].to_list(),
                             hovertemplate="%{x}<br>" + LABELS[metric] + " %{y:.1f}<br>%{customdata:,} answers<extra></extra>"))
    if low.height:
        fig.add_trace(go.Scatter(x=low["period"].to_list(), y=low["value"].to_list(), mode="markers",
                                 name="fewer than 30 answers", customdata=low["n"].to_list(),
                                 marker=dict(symbol="circle-open", color="#888", size=9),
                                 hovertemplate="%{x}<br>" + LABELS[metric] + " %{y:.1f}<br>only %{customdata:,} answers"
                                               "<extra></extra>"))
    fig.update_yaxes(title=UNITS[metric])
    return _layout(fig, title or f"{LABELS[metric]} over time")


def score_distribution(df: pl.DataFrame, metric: str, title: str | None = None) -> go.Figure:
    """df: score, n, share, category."""
    fig = go.Figure(go.Bar(
        x=[f"{s:g}" for s in df["score"]], y=df["share"].to_list(),
        marker_color=[CATEGORY_COLORS.get(c, "#8d99ae") for c in df["category"]],
        customdata=list(zip(df["n"].to_list(), df["category"].to_list())),
        text=[f"{s:.0%}" for s in df["share"]], textposition="outside", cliponaxis=False,
        hovertemplate="score %{x}: %{y:.1%} of answers<br>%{customdata[0]:,} answers (%{customdata[1]})<extra></extra>"))
    fig.update_xaxes(title="score", type="category")
    fig.update_yaxes(title="share of answers", tickformat=".0%", range=[0, max(df["share"].max() or 0.01, 0.01) * 1.2])
    return _layout(fig, title or f"How customers answered ({LABELS[metric]})")


DIFFERS_COLORS = {"above": "#2a9d8f", "below": "#e63946"}


def breakdown_bars(df: pl.DataFrame, metric: str, by: str, title: str | None = None) -> go.Figure:
    """df: group, n, value, low_n[, low, high, differs] (loyalty.score_summary). Bars sorted by the
    score, best on top; each with its 95% interval as an error bar; green / red = differs from the
    rest of the answers beyond chance; groups with fewer than 30 answers are grey, marked ⚠ and
    listed last (shown, not ranked)."""
    has = "low" in df.columns
    ranked = df.filter(~pl.col("low_n")).sort("value", descending=True, nulls_last=True)
    small = df.filter(pl.col("low_n")).sort("n", descending=True)
    d = pl.concat([ranked, small]).reverse()  # plotly draws the first row at the bottom
    differs = d["differs"].to_list() if "differs" in d.columns else [""] * d.height
    labels = [f"⚠ {g}" if low else str(g) for g, low in zip(d["group"], d["low_n"])]
    colours = [LOW_N_COLOR if low else DIFFERS_COLORS.get(x or "", PALETTE[0]) for low, x in zip(d["low_n"], differs)]
    words = [("fewer than 30 answers: not ranked" if low else
              "above the rest of the answers, beyond chance" if x == "above" else
              "below the rest of the answers, beyond chance" if x == "below" else
              "not different from the rest beyond chance") for low, x in zip(d["low_n"], differs)]
    err = {}
    if has:
        up = [None if v is None or h is None else h - v for v, h in zip(d["value"], d["high"])]
        dn = [None if v is None or lo is None else v - lo for v, lo in zip(d["value"], d["low"])]
        err = dict(error_x=dict(type="data", array=up, arrayminus=dn, visible=True, color="#5b6272", thickness=1))
    bounds = (list(zip(d["low"], d["high"])) if has else [(None, None)] * d.height)
    band = [f"95% {_fmt(metric, lo)} to {_fmt(metric, hi)}" if lo is not None and hi is not None else ""
            for lo, hi in bounds]
    fig = go.Figure(go.Bar(
        y=labels, x=d["value"].to_list(), orientation="h", marker_color=colours,
        cliponaxis=False, customdata=list(zip(d["group"].to_list(), d["n"].to_list(), band, words)), **err,
        hovertemplate="<b>%{customdata[0]}</b><br>" + LABELS[metric] + " %{x:.1f} (%{customdata[2]})<br>"
                      "%{customdata[1]:,} answers<br>%{customdata[3]}<extra></extra>"))
    labels_past_intervals(fig, labels, d["value"].to_list(), d["low"].to_list() if has else [None] * d.height,
                          d["high"].to_list() if has else [None] * d.height,
                          [f"{_fmt(metric, v)}  (n={n:,})" for v, n in zip(d["value"], d["n"])])
    vals = [v for v in (d["high"].to_list() if has else []) + d["value"].to_list() if v is not None]
    lows = [v for v in (d["low"].to_list() if has else []) + d["value"].to_list() if v is not None]
    lo = min(0.0, min(lows, default=0.0))
    hi = max(max(vals, default=1.0), 1.0)
    if metric == "ces":
        lo, hi = 1.0, 7.0
    span = hi - lo
    # negative bars carry their label on the left: leave room for it
    fig.update_xaxes(title=UNITS[metric], range=[lo - 0.3 * span if lo < 0 else lo,
                                                 hi + 0.3 * span if metric != "ces" else 7.9])
    h = max(260, 32 * d.height + 90)
    return _layout(fig, title or f"{LABELS[metric]} by {by}", height=h)


def solicited_bars(df: pl.DataFrame, title: str = "Solicited vs unsolicited feedback") -> go.Figure:
    """df: metric, kind, n, mean_score. Each metric's mean as a percentage of its scale, so metrics on
    different scales stand side by side."""
    fig = go.Figure()
    for i, kind in enumerate(("solicited", "unsolicited")):
        d = df.filter(pl.col("kind") == kind)
        if not d.height:
            continue
        pos = [(m - SCALE[k][0]) / (SCALE[k][1] - SCALE[k][0]) for k, m in zip(d["metric"], d["mean_score"])]
        fig.add_trace(go.Bar(x=[LABELS.get(m, m) for m in d["metric"]], y=pos, name=kind,
                             marker_color=PALETTE[i], text=[f"n={n:,}" for n in d["n"]], textposition="outside",
                             cliponaxis=False, customdata=d["mean_score"].to_list(),
                             hovertemplate="%{x} (" + kind + ")<br>mean %{customdata:.2f}, %{y:.0%} of the scale"
                                           "<br>%{text}<extra></extra>"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="mean score, % of its scale", tickformat=".0%", range=[0, 1.15])
    return _layout(fig, title)


def driver_quadrant(df: pl.DataFrame, title: str = "Key drivers: importance × performance") -> go.Figure:
    """df: touchpoint, importance_share, performance, quadrant, customers[, distinguishable,
    importance_low, importance_high, importance]. Dashed lines at the means split the quadrants;
    "Fix first" (important, below-average score) is top left. A touchpoint whose weight cannot be
    told from noise is a hollow dot; error bars are the bootstrap interval of its share."""
    fig = go.Figure()
    # labels placed where they clash with no other label or marker, the most important first
    df = df.sort("importance_share", descending=True, nulls_last=True)
    if df.height:
        pad = 0.15 * max(float(df["performance"].max() - df["performance"].min()), 0.2)
        x_range = (float(df["performance"].min()) - pad, float(df["performance"].max()) + pad)
        top = max(float(df["importance_share"].max()), 0.05)
        y_range = (-0.12 * top, 1.12 * top)  # room for the labels of unimportant touchpoints
        df = df.with_columns(_pos=pl.Series(place_labels(df["performance"].to_list(), df["importance_share"].to_list(),
                                                         df["touchpoint"].to_list(), x_range, y_range)))
    for q, color in QUADRANT_COLORS.items():
        d = df.filter(pl.col("quadrant") == q)
        if not d.height:
            continue
        real = d["distinguishable"].to_list() if "distinguishable" in d.columns else [True] * d.height
        err = {}
        if "importance_low" in d.columns:
            share = (d["importance_share"] / d["importance"]).fill_nan(0).fill_null(0)
            up = ((d["importance_high"] * share) - d["importance_share"]).to_list()
            dn = (d["importance_share"] - d["importance_low"] * share).to_list()
            err = dict(error_y=dict(type="data", array=up, arrayminus=dn, visible=True, color=color, thickness=1))
        fig.add_trace(go.Scatter(
            x=d["performance"].to_list(), y=d["importance_share"].to_list(), mode="markers+text", name=q,
            text=d["touchpoint"].to_list(), textposition=d["_pos"].to_list(), **err,
            marker=dict(color=[color if r else "white" for r in real], size=13,
                        line=dict(color=[("white" if r else color) for r in real], width=[1 if r else 2 for r in real])),
            customdata=list(zip(d["touchpoint"].to_list(), d["customers"].to_list(),
                                ["" if r else "<br>cannot be told from noise (hollow)" for r in real])),
            hovertemplate="<b>%{customdata[0]}</b><br>importance %{y:.0%} of explained variance<br>"
                          "mean score %{x:.2f}<br>%{customdata[1]:,} customers rated it%{customdata[2]}"
                          "<extra></extra>"))
    if df.height:
        fig.add_vline(x=float(df["performance"].mean()), line=dict(color="#999", dash="dash", width=1))
        fig.add_hline(y=float(df["importance_share"].mean()), line=dict(color="#999", dash="dash", width=1))
        fig.update_xaxes(range=list(x_range))
        fig.update_yaxes(range=list(y_range))
    fig.update_traces(cliponaxis=False)
    fig.update_xaxes(title="performance: mean score of the touchpoint")
    fig.update_yaxes(title="importance: share of R²", tickformat=".0%")
    return _layout(fig, title, height=420)


def level_bars(df: pl.DataFrame, x: str, y: str, title: str, y_title: str, percent: bool = False,
               n_col: str = "customers", x_title: str | None = None) -> go.Figure:
    """Vertical bars of `y` per `x` (trust level, tenure band, decile ...), grey when low_n."""
    low = df["low_n"].to_list() if "low_n" in df.columns else [False] * df.height
    vals = df[y].to_list()
    txt = [("–" if v is None else (f"{v:.0%}" if percent else f"{v:+.0f}" if y == "nps" else f"{v:.1f}"))
           for v in vals]
    fig = go.Figure(go.Bar(
        x=[str(v) for v in df[x]], y=vals, marker_color=[LOW_N_COLOR if lw else PALETTE[0] for lw in low],
        text=[f"{t}<br>n={n:,}" for t, n in zip(txt, df[n_col])], textposition="outside", cliponaxis=False,
        customdata=df[n_col].to_list(),
        hovertemplate="%{x}<br>" + y_title + " %{y" + (":.1%" if percent else ":.1f") + "}<br>%{customdata:,} "
                      + n_col + "<extra></extra>"))
    fig.update_xaxes(type="category", title=x_title or x)
    clean = [v for v in vals if v is not None]
    lo = min([0.0, *clean]) if clean else 0.0
    hi = max([0.0, *clean]) if clean else 1.0
    top = min(hi * 1.25, 1.19) if percent else (hi if hi > 0 else 1) * 1.3
    fig.update_yaxes(title=y_title, tickformat=".0%" if percent else None, range=[lo * 1.6, top])
    return _layout(fig, title)


def forgiveness_bars(df: pl.DataFrame, title: str = "Still active 90 days after a first incident") -> go.Figure:
    """df: group, customers, share, baseline, low_n. Bars: share still active per tenure band, and
    customers without incidents (grey); diamonds: customers without incidents at the same tenure."""
    colors = ["#8d99ae" if g == "no incident" else (LOW_N_COLOR if low else PALETTE[1])
              for g, low in zip(df["group"], df["low_n"])]
    fig = go.Figure(go.Bar(
        x=df["group"].to_list(), y=df["share"].to_list(), marker_color=colors, name="share still active",
        text=[f"{s:.0%}<br>n={n:,}" for s, n in zip(df["share"], df["customers"])], textposition="inside",
        insidetextanchor="end", insidetextfont=dict(color="white"), customdata=df["customers"].to_list(),
        hovertemplate="%{x}<br>%{y:.1%} still active<br>%{customdata:,} customers<extra></extra>"))
    b = df.filter(pl.col("baseline").is_not_null())
    if b.height:
        fig.add_trace(go.Scatter(
            x=b["group"].to_list(), y=b["baseline"].to_list(), mode="markers", name="no incident, same tenure",
            marker=dict(symbol="diamond", size=13, color="#264653"), customdata=b["baseline_customers"].to_list(),
            hovertemplate="%{x}: customers without incident at this tenure<br>%{y:.1%} still active 90 days later"
                          "<br>%{customdata:,} customers<extra></extra>"))
    fig.update_xaxes(type="category", title="tenure when the incident happened")
    fig.update_yaxes(title="share still active 90 days later", tickformat=".0%", range=[0, 1.18])
    return _layout(fig, title)


def health_components(row: dict, title: str = "Relationship health and its components") -> go.Figure:
    """row: the means of dialogue, responsiveness, exchange, recognition and health (0–100)."""
    names = [("health", "Health (overall)"), ("dialogue", "Two-way dialogue"),
             ("responsiveness", "Answer speed"), ("exchange", "Exchange of value"), ("recognition", "Recognition")]
    vals = [row.get(k) for k, _ in names]
    fig = go.Figure(go.Bar(
        y=[lbl for _, lbl in names][::-1], x=vals[::-1], orientation="h",
        marker_color=[PALETTE[0]] * (len(names) - 1) + [PALETTE[2]],
        text=[("–" if v is None else f"{v:.0f}") for v in vals[::-1]], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.1f} of 100 (mean over customers)<extra></extra>"))
    fig.update_xaxes(title="mean score (0–100)", range=[0, 110])
    return _layout(fig, title, height=300)


def health_retention(df: pl.DataFrame, title: str = "90-day retention by relationship-health decile") -> go.Figure:
    """df: decile, customers, health, retention, low_n. Bars: mean health (right axis); line:
    retention (left axis)."""
    x = [str(d) for d in df["decile"]]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=df["health"].to_list(), name="mean health (0–100)",
                         marker_color="#d9ecf2", hovertemplate="decile %{x}: mean health %{y:.0f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=df["retention"].to_list(), name="retained 90 days", mode="lines+markers",
                             yaxis="y2",
                             line=dict(color=PALETTE[1], width=3), marker=dict(size=8),
                             customdata=df["customers"].to_list(),
                             hovertemplate="decile %{x}: %{y:.1%} retained<br>%{customdata:,} customers<extra></extra>"))
    fig.update_layout(yaxis2=dict(title="share retained 90 days", tickformat=".0%", range=[0, 1.05], overlaying="y",
                                  side="left", gridcolor="#eee"),
                      yaxis=dict(title="mean health", side="right", range=[0, 105], showgrid=False))
    fig.update_xaxes(title="health decile (1 = weakest relationships)", type="category")
    return _layout(fig, title)


def answer_time_bars(df: pl.DataFrame, title: str = "Median time to answer an inbound contact") -> go.Figure:
    """df: group, answered, median_minutes, low_n."""
    d = df.filter(pl.col("median_minutes").is_not_null()).sort("median_minutes")
    hours = [m / 60 for m in d["median_minutes"]]
    fig = go.Figure(go.Bar(
        y=d["group"].to_list(), x=hours, orientation="h",
        marker_color=[LOW_N_COLOR if lw else PALETTE[3] for lw in d["low_n"]],
        text=[(f"{m:.0f} min" if m < 120 else f"{m / 60:.1f} h") + f"  (n={n:,})"
              for m, n in zip(d["median_minutes"], d["answered"])],
        textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: median %{x:.2f} h<extra></extra>"))
    fig.update_xaxes(title="hours (median)", range=[0, max(hours or [1]) * 1.45])
    return _layout(fig, title, height=max(220, 36 * d.height + 100))
