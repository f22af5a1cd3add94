"""Charts of the voice of the customer (polars frame -> plotly Figure)."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from . import PALETTE, _layout

SENT_COLORS = {"negative": "#e63946", "neutral": "#b0b0b0", "positive": "#2a9d8f"}
SENT_SCALE = [[0.0, "#e63946"], [0.5, "#f1f1f1"], [1.0, "#2a9d8f"]]
SOURCE_COLORS = {"solicited": PALETTE[0], "unsolicited": PALETTE[1], "unknown": "#999"}


def _short(s: str, n: int = 38) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _theme_names(df: pl.DataFrame) -> list[str]:
    return [f"{t + 1}. {_short(lbl)}" if t >= 0 else "(no theme)" for t, lbl in zip(df["theme"], df["label"])]


def theme_bars(df: pl.DataFrame, title: str = "Themes: mentions and mood") -> go.Figure:
    """df: theme_summary (theme, label, terms, comments, share, mean_sentiment, effort_share). Bars = comments
    mentioning the theme, colour = mean sentiment of the mentions (red negative, green positive)."""
    d = df.sort("theme", descending=True)
    names = _theme_names(d)
    fig = go.Figure(go.Bar(
        y=names, x=d["comments"].to_list(), orientation="h",
        marker=dict(color=d["mean_sentiment"].fill_null(0).to_list(), colorscale=SENT_SCALE, cmin=-0.6, cmax=0.6,
                    showscale=False, line=dict(color="#999", width=0.5)),
        text=[f"{s:.0%} · {m:+.2f}" for s, m in zip(d["share"].fill_null(0), d["mean_sentiment"].fill_null(0))],
        textposition="outside", cliponaxis=False,
        customdata=list(zip(d["terms"].to_list(), d["effort_share"].fill_null(0).to_list(), d["theme"].to_list())),
        hovertemplate="<b>%{y}</b><br>%{x:,} comments<br>named from its most typical words: %{customdata[0]}<br>"
                      "effort language in %{customdata[1]:.0%}<extra></extra>"))
    # room on the right for the "share · sentiment" labels, even in a half-width column
    fig.update_xaxes(title="comments mentioning the theme", range=[0, max(d["comments"].max() or 1, 1) * 2.1])
    return _layout(fig, title, height=max(320, 34 * d.height + 90))


def theme_sentiment_bars(df: pl.DataFrame, title: str = "Theme × sentiment") -> go.Figure:
    """df: theme_sentiment (theme, label, sentiment_class, comments, share): 100% stacked bars per theme."""
    fig = go.Figure()
    order = df.select("theme", "label").unique().sort("theme", descending=True)
    names = dict(zip(order["theme"], _theme_names(order)))
    for cls in ("negative", "neutral", "positive"):
        d = df.filter(pl.col("sentiment_class") == cls).sort("theme", descending=True)
        fig.add_trace(go.Bar(
            y=[names[t] for t in d["theme"]], x=d["share"].to_list(), name=cls, orientation="h",
            marker_color=SENT_COLORS[cls], customdata=d["comments"].to_list(),
            hovertemplate="<b>%{y}</b><br>" + cls + ": %{x:.0%} (%{customdata:,} mentions)<extra></extra>"))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(tickformat=".0%", range=[0, 1], title="share of the theme's mentions")
    return _layout(fig, title, height=max(320, 34 * order.height + 90))


def sentiment_by_bars(df: pl.DataFrame, dim: str, title: str | None = None, top: int = 15) -> go.Figure:
    """df: sentiment_by (value, comments, mean_sentiment, negative_share, effort_share)."""
    d = df.head(top).sort("mean_sentiment", descending=True, nulls_last=True)
    fig = go.Figure(go.Bar(
        y=d["value"].to_list(), x=d["mean_sentiment"].to_list(), orientation="h",
        marker=dict(color=d["mean_sentiment"].fill_null(0).to_list(), colorscale=SENT_SCALE, cmin=-0.6, cmax=0.6),
        text=[f"{v:+.2f}" for v in d["mean_sentiment"].fill_null(0)], textposition="outside", cliponaxis=False,
        customdata=list(zip(d["comments"].to_list(), d["negative_share"].to_list(), d["effort_share"].to_list())),
        hovertemplate="<b>%{y}</b><br>mean sentiment %{x:+.2f}<br>%{customdata[0]:,} comments<br>"
                      "negative %{customdata[1]:.0%} · effort language %{customdata[2]:.0%}<extra></extra>"))
    lo = min(d["mean_sentiment"].min() or 0, 0)
    hi = max(d["mean_sentiment"].max() or 0, 0)
    pad = (hi - lo) * 0.25 + 0.05
    fig.update_xaxes(title="mean comment sentiment (-1 to 1)", range=[lo - pad, hi + pad], zeroline=True,
                     zerolinecolor="#999")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title or f"Sentiment by {dim}", height=max(300, 30 * d.height + 100))


def themes_by_heatmap(df: pl.DataFrame, dim: str, title: str | None = None, top: int = 12) -> go.Figure:
    """df: themes_by (value, theme, label, comments, share, mean_sentiment): share of the value's comments
    mentioning each theme; hover gives the mentions' sentiment."""
    tot = df.group_by("value").agg(pl.col("comments").sum()).sort("comments", descending=True).head(top)
    values = tot["value"].to_list()
    th = df.select("theme", "label").unique().sort("theme")
    names = _theme_names(th)
    grid = {(v, t): (s, m, c) for v, t, s, m, c in zip(df["value"], df["theme"], df["share"], df["mean_sentiment"],
                                                        df["comments"])}
    z = [[grid.get((v, t), (0.0, None, 0))[0] for v in values] for t in th["theme"]]
    cd = [[[grid.get((v, t), (0, None, 0))[2], grid.get((v, t), (0, None, 0))[1] or 0.0] for v in values]
          for t in th["theme"]]
    fig = go.Figure(go.Heatmap(
        z=z, x=values, y=names, colorscale="Blues", zmin=0, customdata=cd,
        text=[[f"{x:.0%}" if x >= 0.005 else "" for x in row] for row in z], texttemplate="%{text}",
        colorbar=dict(title="share of<br>comments", tickformat=".0%", thickness=12),
        hovertemplate="<b>%{y}</b> in <b>%{x}</b><br>%{z:.0%} of its comments (%{customdata[0]:,})<br>"
                      "mean sentiment %{customdata[1]:+.2f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title or f"Themes by {dim}", height=max(340, 30 * th.height + 120))


def source_theme_bars(df: pl.DataFrame, title: str = "Solicited vs unsolicited: what they talk about") -> go.Figure:
    """df: themes_by(dim='source'): grouped bars, share of each source's comments mentioning each theme."""
    th = df.select("theme", "label").unique().sort("theme")
    names = dict(zip(th["theme"], _theme_names(th)))
    fig = go.Figure()
    for src in ("solicited", "unsolicited", "unknown"):
        d = df.filter(pl.col("value") == src).sort("theme")
        if d.height == 0:
            continue
        fig.add_trace(go.Bar(
            x=[names[t] for t in d["theme"]], y=d["share"].to_list(), name=src,
            marker_color=SOURCE_COLORS[src], customdata=list(zip(d["comments"].to_list(),
                                                                 d["mean_sentiment"].fill_null(0).to_list())),
            hovertemplate="<b>%{x}</b><br>" + src + ": %{y:.0%} of comments (%{customdata[0]:,})<br>"
                          "mean sentiment %{customdata[1]:+.2f}<extra></extra>"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", title="share of comments")
    fig.update_xaxes(tickangle=-35)
    return _layout(fig, title, height=440)


LINE_COLORS = [PALETTE[i] for i in (0, 1, 3, 4, 5, 6, 7, 8, 9)]
_BOTTOM_LEGEND = dict(orientation="h", yanchor="top", y=-0.3, x=0, xanchor="left")


def trend_chart(df: pl.DataFrame, title: str = "Sentiment over time") -> go.Figure:
    """df: trend (period, source, comments, mean_sentiment, negative_share, effort_share)."""
    fig = go.Figure()
    for src in ("solicited", "unsolicited", "unknown"):
        d = df.filter(pl.col("source") == src).sort("period")
        if d.height == 0:
            continue
        fig.add_trace(go.Scatter(
            x=d["period"].to_list(), y=d["mean_sentiment"].to_list(), name=f"{src}: mean sentiment",
            mode="lines+markers" if d.height <= 24 else "lines", line=dict(color=SOURCE_COLORS[src], width=2.5),
            customdata=list(zip(d["comments"].to_list(), d["effort_share"].to_list())),
            hovertemplate="%{x}<br>mean sentiment %{y:+.2f}<br>%{customdata[0]:,} comments<br>"
                          "effort language %{customdata[1]:.0%}<extra></extra>"))
    eff = df.group_by("period").agg(
        ((pl.col("effort_share") * pl.col("comments")).sum() / pl.col("comments").sum()).alias("effort"),
        pl.col("comments").sum()).sort("period")
    fig.add_trace(go.Bar(x=eff["period"].to_list(), y=eff["effort"].to_list(), name="effort language (share)",
                         yaxis="y2", marker_color="rgba(131,56,236,0.25)",
                         hovertemplate="%{x}<br>effort language in %{y:.0%} of comments<extra></extra>"))
    fig.update_layout(yaxis=dict(title="mean sentiment"),
                      yaxis2=dict(title="effort language", overlaying="y", side="right", showgrid=False,
                                  tickformat=".0%", range=[0, max(eff["effort"].max() or 0.01, 0.01) * 1.15]))
    fig = _layout(fig, title, height=420)
    fig.update_layout(legend=_BOTTOM_LEGEND, margin=dict(b=100))
    return fig


def score_curve(df: pl.DataFrame, title: str = "Comment sentiment follows the score") -> go.Figure:
    """df: sentiment_by_score (metric, score, score01, comments, mean_sentiment): one line per metric on
    the score put on 0..1 by the metric's scale."""
    fig = go.Figure()
    for i, m in enumerate(df["metric"].unique(maintain_order=True).to_list()):
        d = df.filter(pl.col("metric") == m).sort("score01")
        fig.add_trace(go.Scatter(
            x=d["score01"].to_list(), y=d["mean_sentiment"].to_list(), name=m, mode="lines+markers",
            line=dict(color=LINE_COLORS[i % len(LINE_COLORS)], width=2), customdata=list(zip(d["score"].to_list(),
                                                                                    d["comments"].to_list())),
            hovertemplate=m + " score %{customdata[0]}<br>mean sentiment %{y:+.2f}<br>%{customdata[1]:,} comments"
                              "<extra></extra>"))
    fig.update_xaxes(title="score on its scale (0 = worst, 1 = best)", range=[-0.03, 1.03], tickformat=".0%")
    fig.update_yaxes(title="mean comment sentiment", zeroline=True, zerolinecolor="#999")
    fig = _layout(fig, title, height=400)
    fig.update_layout(legend=_BOTTOM_LEGEND, margin=dict(b=100))
    return fig


def effort_bars(df: pl.DataFrame, title: str = "Effort language: what customers had to go through") -> go.Figure:
    """df: effort_summary (pattern, comments, share, mean_sentiment)."""
    d = df.sort("comments")
    fig = go.Figure(go.Bar(
        y=d["pattern"].to_list(), x=d["comments"].to_list(), orientation="h", marker_color=PALETTE[3],
        text=[f"{s:.1%}" for s in d["share"]], textposition="outside", cliponaxis=False,
        customdata=d["mean_sentiment"].fill_null(0).to_list(),
        hovertemplate="<b>%{y}</b><br>%{x:,} comments<br>their mean sentiment %{customdata:+.2f}<extra></extra>"))
    fig.update_xaxes(title="comments", range=[0, max(d["comments"].max() or 1, 1) * 1.2])
    return _layout(fig, title, height=max(280, 30 * d.height + 100))
