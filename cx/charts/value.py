"""Charts of the Value page and the customer view: polars frame -> plotly Figure."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import polars as pl

from . import PALETTE, STAGE_COLORS, _layout

MAX_POINTS = 5000  # scatter plots draw a fixed sample of at most this many customers


def _sample(df: pl.DataFrame, n: int = MAX_POINTS) -> pl.DataFrame:
    return df if df.height <= n else df.sample(n, seed=0)


def clv_histogram(df: pl.DataFrame, horizon_months: int = 12,
                  title: str | None = None) -> go.Figure:
    """df: per customer, predicted_clv."""
    v = df["predicted_clv"].to_numpy()
    hi = float(np.quantile(v, 0.99)) if len(v) else 1.0
    counts, edges = np.histogram(np.clip(v, 0, hi), bins=40, range=(0, hi or 1.0))
    mids = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure(go.Bar(x=mids.tolist(), y=counts.tolist(), width=float(edges[1] - edges[0]) * 0.95,
                           marker_color=PALETTE[0],
                           customdata=np.stack([edges[:-1], edges[1:]], axis=1).tolist(),
                           hovertemplate="%{customdata[0]:,.0f} – %{customdata[1]:,.0f}<br>%{y:,} customers"
                                         "<extra></extra>"))
    med = float(np.median(v)) if len(v) else 0.0
    fig.add_vline(x=med, line_dash="dash", line_color="#555",
                  annotation_text=f"median {med:,.0f}", annotation_position="top right")
    fig.update_xaxes(title=f"predicted CLV, next {horizon_months} months (top 1% in the last bar)")
    fig.update_yaxes(title="customers")
    return _layout(fig, title or f"Predicted lifetime value per customer (next {horizon_months} months)")


def purchases_histogram(df: pl.DataFrame, horizon_months: int = 12, title: str | None = None) -> go.Figure:
    """df: per customer, expected_purchases (BG/NBD over the horizon) and p_alive: customers by
    expected purchases, coloured by mean P(alive) (the purchase side of value, without money)."""
    v = df["expected_purchases"].to_numpy()
    hi = float(np.quantile(v, 0.99)) if len(v) else 1.0
    counts, edges = np.histogram(np.clip(v, 0, hi), bins=30, range=(0, hi or 1.0))
    mids = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure(go.Bar(x=mids.tolist(), y=counts.tolist(), width=float(edges[1] - edges[0]) * 0.95,
                           marker_color=PALETTE[0],
                           customdata=np.stack([edges[:-1], edges[1:]], axis=1).tolist(),
                           hovertemplate="%{customdata[0]:.1f} – %{customdata[1]:.1f} purchases<br>%{y:,} customers"
                                         "<extra></extra>"))
    fig.update_xaxes(title=f"expected purchases, next {horizon_months} months (top 1% in the last bar)")
    fig.update_yaxes(title="customers")
    return _layout(fig, title or f"Expected purchases per customer (next {horizon_months} months)")


def value_by_bars(df: pl.DataFrame, by: str, title: str | None = None) -> go.Figure:
    """df: group, customers, mean_predicted_clv, mean_historical, share_of_clv, mean_p_alive."""
    d = df.head(15)
    label = by.replace("_", " ")
    fig = go.Figure()
    fig.add_trace(go.Bar(x=d["group"].to_list(), y=d["mean_historical"].to_list(), name="historical (to date)",
                         marker_color="#8ecae6",
                         hovertemplate="<b>%{x}</b><br>mean historical value %{y:,.0f}<extra></extra>"))
    fig.add_trace(go.Bar(x=d["group"].to_list(), y=d["mean_predicted_clv"].to_list(), name="predicted (horizon)",
                         marker_color=PALETTE[1],
                         customdata=np.stack([d["customers"].to_numpy(), d["share_of_clv"].to_numpy(),
                                              d["mean_p_alive"].to_numpy()], axis=1).tolist(),
                         text=[f"{s:.0%}" for s in d["share_of_clv"]], textposition="outside", cliponaxis=False,
                         hovertemplate="<b>%{x}</b><br>mean predicted CLV %{y:,.0f}<br>%{customdata[0]:,.0f} "
                                       "customers<br>%{customdata[1]:.1%} of all predicted CLV<br>mean P(alive) "
                                       "%{customdata[2]:.0%}<extra></extra>"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="mean value per customer")
    fig.update_xaxes(title=label, type="category")
    return _layout(fig, title or f"Value per customer by {label}", height=380)


def concentration_curve(df: pl.DataFrame, title: str = "How concentrated is value?") -> go.Figure:
    """df: customers_share (0.01..1), value_share (cumulative, customers sorted by value)."""
    x = [0.0] + df["customers_share"].to_list()
    y = [0.0] + df["value_share"].to_list()
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#bbb", dash="dot"),
                             name="value spread evenly", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", line=dict(color=PALETTE[1], width=3), name="customers",
                             hovertemplate="top %{x:.0%} of customers hold %{y:.0%} of the value<extra></extra>"))
    top = df["value_share"][9] if df.height >= 10 else None
    if top is not None:
        fig.add_trace(go.Scatter(x=[0.1], y=[top], mode="markers+text", marker=dict(size=11, color=PALETTE[4]),
                                 text=[f"top 10% hold {top:.0%}"], textposition="middle right", name="top decile",
                                 hovertemplate="top 10%% of customers: %{y:.0%%} of the value<extra></extra>"))
    fig.update_xaxes(title="share of customers (most valuable first)", tickformat=".0%", range=[0, 1])
    fig.update_yaxes(title="share of value", tickformat=".0%", range=[0, 1.02])
    fig = _layout(fig, title)
    fig.update_layout(showlegend=False)
    return fig


def historical_vs_predicted(df: pl.DataFrame, title: str = "Past value vs predicted value") -> go.Figure:
    """df: customer_id, historical_value, predicted_clv, p_alive (a sample is drawn)."""
    d = _sample(df)
    fig = go.Figure(go.Scattergl(
        x=d["historical_value"].to_list(), y=d["predicted_clv"].to_list(), mode="markers",
        marker=dict(size=5, color=d["p_alive"].to_list(), colorscale="RdYlGn", cmin=0, cmax=1, opacity=0.7,
                    colorbar=dict(title="P(alive)", tickformat=".0%", len=0.8)),
        customdata=np.stack([d["customer_id"].to_numpy(), d["p_alive"].to_numpy()], axis=1).tolist(),
        hovertemplate="<b>%{customdata[0]}</b><br>to date %{x:,.0f}<br>predicted %{y:,.0f}"
                      "<br>P(alive) %{customdata[1]:.0%}<extra></extra>"))
    fig.update_xaxes(title="historical value (net revenue to date)")
    fig.update_yaxes(title="predicted CLV")
    return _layout(fig, title, height=380)


def p_alive_vs_clv(df: pl.DataFrame, title: str = "Who is still with us, and what are they worth?") -> go.Figure:
    """df: customer_id, p_alive, clv_if_alive, predicted_clv (a sample is drawn)."""
    d = _sample(df)
    fig = go.Figure(go.Scattergl(
        x=d["p_alive"].to_list(), y=d["clv_if_alive"].to_list(), mode="markers",
        marker=dict(size=5, color=PALETTE[0], opacity=0.6),
        customdata=np.stack([d["customer_id"].to_numpy(), d["predicted_clv"].to_numpy()], axis=1).tolist(),
        hovertemplate="<b>%{customdata[0]}</b><br>P(alive) %{x:.0%}<br>value if still active %{y:,.0f}"
                      "<br>predicted CLV %{customdata[1]:,.0f}<extra></extra>"))
    fig.add_vrect(x0=0, x1=0.5, fillcolor="#e63946", opacity=0.06, line_width=0,
                  annotation_text="probably gone", annotation_position="top left")
    fig.update_xaxes(title="P(alive): probability the customer is still active", tickformat=".0%", range=[-0.02, 1.02])
    fig.update_yaxes(title="value if still active (CLV / P(alive))")
    return _layout(fig, title, height=380)


def holdout_bars(df: pl.DataFrame, title: str = "Holdout check: predicted vs actual repeat purchases") -> go.Figure:
    """df: frequency (bucket), customers, actual_mean, predicted_mean."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=df["frequency"].to_list(), y=df["actual_mean"].to_list(), name="actual",
                         marker_color="#8d99ae", customdata=df["customers"].to_list(),
                         hovertemplate="%{x} earlier repeat purchases<br>actual %{y:.2f} per customer"
                                       "<br>%{customdata:,} customers<extra></extra>"))
    fig.add_trace(go.Bar(x=df["frequency"].to_list(), y=df["predicted_mean"].to_list(), name="predicted",
                         marker_color=PALETTE[1],
                         hovertemplate="%{x} earlier repeat purchases<br>predicted %{y:.2f} per customer"
                                       "<extra></extra>"))
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="repeat purchases in the calibration period", type="category")
    fig.update_yaxes(title="purchases per customer in the holdout")
    return _layout(fig, title)


def tracking_lines(df: pl.DataFrame, title: str = "Holdout check: cumulative repeat purchases") -> go.Figure:
    """df: date, actual, predicted (cumulative over the holdout weeks)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=df["date"].to_list(), y=df["actual"].to_list(), name="actual", mode="lines",
                             line=dict(color="#555", width=3),
                             hovertemplate="%{x|%d %b %Y}<br>actual %{y:,.0f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=df["date"].to_list(), y=df["predicted"].to_list(), name="predicted",
                             mode="lines", line=dict(color=PALETTE[1], width=3, dash="dash"),
                             hovertemplate="%{x|%d %b %Y}<br>predicted %{y:,.0f}<extra></extra>"))
    fig.update_yaxes(title="repeat purchases since the calibration end")
    return _layout(fig, title)


KIND_SYMBOLS = {"touchpoint": "circle", "purchase": "diamond", "refund": "diamond-open", "incident": "x"}


def customer_timeline(tl: pl.DataFrame, fb: pl.DataFrame | None = None,
                      title: str = "Every touchpoint, by channel") -> go.Figure:
    """tl: timestamp, touchpoint, stage, channel, kind[, amount]; fb: timestamp, metric, score,
    comment (drawn on a 'feedback' row as stars)."""
    fig = go.Figure()
    amount = tl["amount"] if "amount" in tl.columns else pl.Series([None] * tl.height, dtype=pl.Float64)
    tl = tl.with_columns(amount.alias("_amount"))
    for stage, color in STAGE_COLORS.items():
        d = tl.filter(pl.col("stage") == stage)
        if not d.height:
            continue
        fig.add_trace(go.Scatter(
            x=d["timestamp"].to_list(), y=d["channel"].to_list(), mode="markers", name=stage,
            marker=dict(color=color, size=[14 if k != "touchpoint" else 9 for k in d["kind"]],
                        symbol=[KIND_SYMBOLS.get(k, "circle") for k in d["kind"]],
                        line=dict(width=[2 if k != "touchpoint" else 0 for k in d["kind"]], color="#333")),
            customdata=np.stack([d["touchpoint"].to_numpy(), d["kind"].to_numpy(),
                                 d["_amount"].fill_null(0).to_numpy().astype(object)], axis=1).tolist(),
            hovertemplate="<b>%{customdata[0]}</b><br>%{x|%d %b %Y %H:%M}<br>%{y}<br>" + stage
                          + " · %{customdata[1]}<br>amount %{customdata[2]:,.2f}<extra></extra>"))
    if fb is not None and fb.height:
        fig.add_trace(go.Scatter(
            x=fb["timestamp"].to_list(), y=["feedback"] * fb.height, mode="markers", name="feedback",
            marker=dict(symbol="star", size=14, color="#8338ec"),
            customdata=np.stack([fb["metric"].to_numpy(), fb["score"].fill_null(float("nan")).to_numpy().astype(object),
                                 fb["comment"].fill_null("").str.slice(0, 80).to_numpy()], axis=1).tolist(),
            hovertemplate="<b>%{customdata[0]} %{customdata[1]}</b><br>%{x|%d %b %Y}<br>%{customdata[2]}"
                          "<extra></extra>"))
    fig.update_yaxes(title=None, type="category", categoryorder="category descending")
    fig.update_xaxes(title=None, showgrid=True, gridcolor="#f3f3f3")
    n_rows = len(set(tl["channel"].to_list())) + (1 if fb is not None and fb.height else 0)
    return _layout(fig, title, height=max(260, 90 + 42 * n_rows))
