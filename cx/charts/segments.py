"""Segments charts: pure functions (polars frames of cx.segments -> plotly figures)."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from . import _layout

# distinct hues in cluster order (cluster 1 = largest)
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728", "#e6b400", "#17becf", "#8c564b",
           "#e377c2", "#7f7f7f"]


def _short(name: str, n: int = 60) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def cluster_label(cluster: int, name: str) -> str:
    return f"{cluster}. {_short(name)}"


def color(cluster: int) -> str:
    return PALETTE[(int(cluster) - 1) % len(PALETTE)]


def sizes_bars(sizes: pl.DataFrame, names: dict[int, str], title: str = "Customers per behaviour cluster") -> go.Figure:
    """sizes: cluster, customers, share (cluster 1 = largest)."""
    d = sizes.sort("cluster", descending=True)
    labels = [cluster_label(c, names.get(c, "")) for c in d["cluster"]]
    fig = go.Figure(go.Bar(
        y=labels, x=d["customers"].to_list(), orientation="h",
        marker_color=[color(c) for c in d["cluster"]],
        text=[f"{n:,} ({s:.0%})" for n, s in zip(d["customers"], d["share"])], textposition="outside",
        cliponaxis=False, hovertemplate="<b>%{y}</b><br>%{x:,} customers<extra></extra>"))
    fig.update_xaxes(title="customers", range=[0, (d["customers"].max() or 1) * 1.25])
    return _layout(fig, title, height=max(260, 60 + 34 * d.height))


def feature_label(feature: str) -> str:
    for prefix, what in (("in_", "inbound via "), ("ch_", "share on ")):
        if feature.startswith(prefix):
            return what + feature[len(prefix):].replace("_", " ")
    return feature.replace("_", " ")


def profile_heatmap(profile: pl.DataFrame, names: dict[int, str],
                    title: str = "What sets each cluster apart (z-scores)") -> go.Figure:
    """profile: cluster, feature, clustered, mean, z (long). Rows: features (clustered first),
    columns: clusters; colour = z of the cluster mean against all customers (clipped at ±2)."""
    feats = (profile.select("feature", "clustered").unique()
             .sort(["clustered", "feature"], descending=[True, False]))
    clusters = sorted(profile["cluster"].unique().to_list())
    wide = profile.pivot(on="cluster", index="feature", values="z", sort_columns=True)
    means = profile.pivot(on="cluster", index="feature", values="mean", sort_columns=True)
    wide = feats.join(wide, on="feature", how="left", maintain_order="left")
    means = feats.join(means, on="feature", how="left", maintain_order="left")
    z = [[wide[str(c)][i] for c in clusters] for i in range(wide.height)]
    m = [[means[str(c)][i] for c in clusters] for i in range(means.height)]
    ylab = [feature_label(f) + ("" if cl else " (not clustered)") for f, cl in zip(feats["feature"], feats["clustered"])]
    xlab = [cluster_label(c, names.get(c, "")) for c in clusters]
    fig = go.Figure(go.Heatmap(
        z=z, x=xlab, y=ylab, zmin=-2, zmax=2, colorscale="RdBu", reversescale=True, customdata=m,
        text=[[("" if v is None else f"{v:+.1f}") for v in row] for row in z], texttemplate="%{text}",
        colorbar=dict(title="z"),
        hovertemplate="<b>%{y}</b><br>%{x}<br>z = %{z:.2f}<br>cluster mean = %{customdata:.3g}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-20)
    return _layout(fig, title, height=max(380, 90 + 22 * len(ylab)))


def projection_scatter(proj: pl.DataFrame, names: dict[int, str], explained: tuple[float, float],
                       title: str = "Customers in two dimensions (PCA)") -> go.Figure:
    """proj: customer_id, cluster, pc1, pc2 (a sample)."""
    fig = go.Figure()
    for c in sorted(proj["cluster"].unique().to_list()):
        d = proj.filter(pl.col("cluster") == c)
        fig.add_trace(go.Scattergl(
            x=d["pc1"].to_list(), y=d["pc2"].to_list(), mode="markers", name=cluster_label(c, names.get(c, "")),
            marker=dict(size=4, opacity=0.55, color=color(c)), customdata=d["customer_id"].to_list(),
            hovertemplate="%{customdata}<extra>" + _short(names.get(c, ""), 30) + "</extra>"))
    fig.update_xaxes(title=f"component 1 ({explained[0]:.0%} of variance)", zeroline=False)
    fig.update_yaxes(title=f"component 2 ({explained[1]:.0%} of variance)")
    fig = _layout(fig, title, height=560)
    fig.update_layout(legend=dict(orientation="h", y=-0.15, x=0, xanchor="left", yanchor="top", itemsizing="constant"),
                      margin=dict(b=90))
    return fig


def scores_chart(scores: pl.DataFrame, title: str = "Choosing k: three scores side by side") -> go.Figure:
    """scores: k, silhouette (higher is better), davies_bouldin (lower is better), inertia (lower,
    look for the elbow), chosen."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=("Silhouette (higher = better)",
                                                        "Davies–Bouldin (lower = better)",
                                                        "Inertia (look for the elbow)"))
    chosen = scores.filter(pl.col("chosen"))
    for i, col in enumerate(("silhouette", "davies_bouldin", "inertia"), start=1):
        fig.add_trace(go.Scatter(x=scores["k"].to_list(), y=scores[col].to_list(), mode="lines+markers",
                                 line=dict(color=PALETTE[0]), name=col, showlegend=False,
                                 hovertemplate="k = %{x}<br>%{y:.3g}<extra>" + col + "</extra>"), row=1, col=i)
        if chosen.height:
            fig.add_trace(go.Scatter(x=chosen["k"].to_list(), y=chosen[col].to_list(), mode="markers",
                                     marker=dict(size=13, color=PALETTE[1], symbol="star"), name="chosen k",
                                     showlegend=i == 1, hovertemplate="chosen k = %{x}<extra></extra>"),
                          row=1, col=i)
        fig.update_xaxes(title="k", dtick=1, row=1, col=i)
    return _layout(fig, title, height=300)


def crosstab_heatmap(ct: pl.DataFrame, names: dict[int, str],
                     title: str = "Persona × behaviour: where each declared persona really sits",
                     x_title: str = "behaviour cluster", y_title: str = "declared persona") -> go.Figure:
    """ct: persona, cluster, customers, share_of_persona (rows: personas largest first, or the values
    of another customer attribute, named by `y_title`)."""
    personas = list(dict.fromkeys(ct["persona"].to_list()))
    clusters = sorted(ct["cluster"].unique().to_list())
    look = {(p, c): (s, n) for p, c, s, n in ct.select("persona", "cluster", "share_of_persona", "customers").iter_rows()}
    z = [[look.get((p, c), (0.0, 0))[0] for c in clusters] for p in personas]
    n = [[look.get((p, c), (0.0, 0))[1] for c in clusters] for p in personas]
    fig = go.Figure(go.Heatmap(
        z=z, x=[cluster_label(c, names.get(c, "")) for c in clusters], y=personas, customdata=n,
        colorscale="Blues", zmin=0, zmax=1, colorbar=dict(title="share", tickformat=".0%"),
        text=[[f"{v:.0%}" for v in row] for row in z], texttemplate="%{text}",
        hovertemplate="<b>%{y}</b> in %{x}<br>%{customdata:,} customers (%{z:.1%} of the "
                      + ("persona" if y_title == "declared persona" else "row") + ")<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title=y_title)
    fig.update_xaxes(tickangle=-20, title=x_title)
    return _layout(fig, title, height=max(300, 120 + 40 * len(personas)))
