"""Charts of the Journey page: the funnel and its trend, the step Sankey, the transition heatmap,
horizontal bars (paths, hand-offs), the journey map and the emotion curve."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from ..fmt import money
from ..schema import STAGES
from . import PALETTE, STAGE_COLORS, _layout, labels_past_intervals


def stage_order(values) -> list[str]:
    return [s for s in STAGES if s in set(values)] + sorted(v for v in set(values) if v not in STAGES)


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


def _label(v, fmt: str) -> str:
    """A bar's text, formatted for people: "%" a percentage, "money" a compact amount (12.3k), ","
    a whole number with thousands separators."""
    if v is None:
        return "–"
    if fmt == "%":
        return f"{v:.0%}"
    if fmt == "money":
        return money(v)
    return f"{v:,.0f}" if isinstance(v, float) else f"{v:,}"


def hbars(df: pl.DataFrame, label: str, value: str, title: str, fmt: str = ",", hover: str | None = None) -> go.Figure:
    """Horizontal bars in the frame's order from the top (give it largest first); fmt: "," whole
    numbers, "%" shares, "money" compact amounts."""
    d = df.reverse()
    fig = go.Figure(go.Bar(y=d[label].to_list(), x=d[value].to_list(), orientation="h", marker_color=PALETTE[0],
                           text=[_label(v, fmt) for v in d[value]], textposition="outside",
                           cliponaxis=False))
    fig.update_xaxes(tickformat=".0%" if fmt == "%" else ",", range=[0, (d[value].max() or 1) * 1.2])
    fig.update_yaxes(automargin=True)
    return _layout(fig, title, height=max(300, 30 * d.height + 100))


def journey_map_heatmap(df: pl.DataFrame, value: str = "mean_sentiment", title: str = "Journey map") -> go.Figure:
    """df: stage, touchpoint, touchpoints, mean_sentiment[, csat, ces]: one column per stage, touchpoints
    down; colour = the chosen score (red negative, green positive), or the volume ("touchpoints",
    blues) when the data has no score."""
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
                score = ("" if value == "touchpoints" or not isinstance(v, float) else
                         f"<br>{v:+.2f}" if value == "mean_sentiment" else f"<br>{v:.2f}")
                tr.append(f"{row['touchpoint']}<br>{row['touchpoints']:,}" + score)
            else:
                zr.append(None)
                tr.append("")
        z.append(zr)
        text.append(tr)
    scale = "Blues" if value == "touchpoints" else [[0, "#d7301f"], [0.5, "#f7f7f7"], [1, "#1a9850"]]
    zmid = 0 if value == "mean_sentiment" else None
    label = {"touchpoints": "volume", "mean_sentiment": "sentiment"}.get(value, value)
    fig = go.Figure(go.Heatmap(z=z, x=stages, y=list(range(1, rows + 1)), text=text, texttemplate="%{text}",
                               colorscale=scale, zmid=zmid, hoverinfo="text", colorbar=dict(title=label),
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


DIFFERS_COLOURS = {"above": "#2a9d8f", "below": "#e63946"}
SMALL = "#c9c9c9"


def conversion_by_group(df: pl.DataFrame, by: str, title: str | None = None) -> go.Figure:
    """A breakdown funnel read at its last step (journey.with_intervals: one row per group and
    step): one bar per group, its conversion from step 1 to the last step with the 95% interval,
    sorted best first; green / red when the group differs from the others beyond chance; grey and
    ⚠ with fewer than 30 entrants (shown, not ranked). Labels never cut: the bars are horizontal and
    the text sits outside."""
    last = df.filter(pl.col("step") == pl.col("step").max())
    last = last.with_columns(_small=pl.col("entered") < 30)
    last = pl.concat([last.filter(~pl.col("_small")).sort("conversion_from_first", descending=True),
                      last.filter(pl.col("_small")).sort("entered", descending=True)]).reverse()
    groups = [f"⚠ {g}" if s else str(g) for g, s in zip(last[by], last["_small"])]
    diff = last["differs"].to_list() if "differs" in last.columns else [""] * last.height
    colours = [SMALL if s else DIFFERS_COLOURS.get(x or "", PALETTE[0]) for s, x in zip(last["_small"], diff)]
    v, lo, hi = last["conversion_from_first"].to_list(), last["conversion_low"].to_list(), last["conversion_high"].to_list()
    step = last["name"][0] if last.height else "the last step"
    fig = go.Figure(go.Bar(
        y=groups, x=v, orientation="h", marker_color=colours, cliponaxis=False,
        error_x=dict(type="data", array=[None if a is None or b is None else b - a for a, b in zip(v, hi)],
                     arrayminus=[None if a is None or b is None else a - b for a, b in zip(v, lo)], visible=True,
                     color="#5b6272", thickness=1),
        customdata=list(zip(last[by].to_list(), last["entered"].to_list(), last["count"].to_list(),
                            [f"{a:.0%} to {b:.0%}" if a is not None and b is not None else "" for a, b in zip(lo, hi)],
                            ["fewer than 30 entrants: not ranked" if s else
                             {"above": "converts better than the others, beyond chance",
                              "below": "converts worse than the others, beyond chance"}.get(x or "",
                                                                                            "not different beyond chance")
                             for s, x in zip(last["_small"], diff)])),
        hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[2]:,} of %{customdata[1]:,} reached " + step
                      + " (%{x:.1%}, 95% %{customdata[3]})<br>%{customdata[4]}<extra></extra>"))
    labels_past_intervals(fig, groups, v, lo, hi, [f"{x:.0%} of {n:,}" if x is not None else "–"
                                                   for x, n in zip(v, last["entered"])])
    top = max([x for x in hi if x is not None] + [0.05])
    fig.update_xaxes(title=f"reached {step}, share of step 1", tickformat=".0%", range=[0, min(1.0, top) * 1.45])
    return _layout(fig, title or f"Conversion to {step} by {by}", height=max(280, 34 * last.height + 110))


def period_comparison(df: pl.DataFrame, label_a: str, label_b: str,
                      title: str = "The funnel in two periods") -> go.Figure:
    """journey.compare_periods: per step, the share of step 1 reaching it in each period (a dot
    each, joined), and the change with its 95% interval in the hover; a step whose change is beyond
    chance has its later dot in red (down) or green (up)."""
    names = [f"{s}. {n}" for s, n in zip(df["step"], df["name"])]
    fig = go.Figure()
    for n, a, b in zip(names, df["conversion_a"], df["conversion_b"]):
        fig.add_trace(go.Scatter(x=[a, b], y=[n, n], mode="lines", line=dict(color="#c9d3dc", width=6),
                                 showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=df["conversion_a"].to_list(), y=names, mode="markers", name=label_a,
                             marker=dict(color="#8d99ae", size=12),
                             hovertemplate="%{y}<br>" + label_a + ": %{x:.1%}<extra></extra>"))
    col = [("#2a9d8f" if d > 0 else "#e63946") if s else PALETTE[0]
           for d, s in zip(df["diff"].fill_null(0), df["significant"])]
    words = [f"{d:+.1%} (95% {lo:+.1%} to {hi:+.1%})" + (": beyond chance" if s else ": could be chance")
             if d is not None and lo is not None else "" for d, lo, hi, s in
             zip(df["diff"], df["low"], df["high"], df["significant"])]
    fig.add_trace(go.Scatter(x=df["conversion_b"].to_list(), y=names, mode="markers", name=label_b,
                             marker=dict(color=col, size=13), customdata=words,
                             hovertemplate="%{y}<br>" + label_b + ": %{x:.1%}<br>change %{customdata}<extra></extra>"))
    fig.update_xaxes(title="share of step 1", tickformat=".0%", range=[0, 1.05])
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=max(260, 48 * df.height + 120))
