"""Charts of the Teams page: polars frame -> plotly Figure (no data access)."""
from __future__ import annotations

import math

import plotly.graph_objects as go
import polars as pl

from . import PALETTE, _layout

FLAG_COLOR = "#e63946"
METRIC_LABELS = {"csat_mean": "CSAT (mean, 1–5)", "ces_mean": "CES (mean, 1–7, 7 = easy)",
                 "resolution_rate": "First-contact resolution", "incident_rate": "Incident rate",
                 "csat_top2": "CSAT top-2-box", "employee_sd": "Spread between employees (CSAT sd)"}


def _t_half(n, var):
    from scipy import stats

    if n is None or var is None or n < 2:
        return None
    return float(stats.t.ppf(0.975, n - 1) * math.sqrt(var / n))


def department_bars(d: pl.DataFrame, value: str = "csat_mean", title: str | None = None) -> go.Figure:
    """d: the departments frame. One bar per department with data for `value`; CSAT means carry a
    95% t-interval as error bars, rates a 95% normal-approximation interval. On the consistency chart
    (value = "employee_sd") the flagged inconsistent department is drawn in red."""
    d = d.filter(pl.col(value).is_not_null()).sort("department")
    if value == "employee_sd" and "consistency_assessed" in d.columns:  # too few ranked employees: no bar
        d = d.filter(pl.col("consistency_assessed"))
    deps = d["department"].to_list()
    vals = d[value].to_list()
    err = None
    if value == "csat_mean":
        err = [_t_half(n, v) for n, v in zip(d["csat_n"], d["csat_var"])]
    elif value in ("resolution_rate", "incident_rate"):
        n_col = "contacts" if value == "resolution_rate" else "touchpoints"
        err = [1.96 * math.sqrt(p * (1 - p) / n) if n else None for p, n in zip(vals, d[n_col])]
    # red marks the flagged department on the consistency chart only (elsewhere it is not "bad")
    colors = [FLAG_COLOR if f else PALETTE[0] for f in d["inconsistent"].to_list()] \
        if value == "employee_sd" and "inconsistent" in d.columns else PALETTE[0]
    n_col = {"csat_mean": "csat_n", "csat_top2": "csat_n", "ces_mean": "ces_n", "resolution_rate": "contacts",
             "incident_rate": "touchpoints", "employee_sd": "ranked_employees"}.get(value)
    pct = value in ("resolution_rate", "incident_rate", "csat_top2")
    fig = go.Figure(go.Bar(
        x=deps, y=vals, marker_color=colors,
        error_y=dict(type="data", array=[e or 0 for e in err], visible=True, color="#555") if err else None,
        text=[(f"{v:.0%}" if pct else f"{v:.2f}") for v in vals], textposition="inside", insidetextanchor="start",
        customdata=d[n_col].to_list() if n_col else None,
        hovertemplate="<b>%{x}</b><br>%{y:" + (".1%" if pct else ".2f") + "}"
                      + ("<br>n = %{customdata:,}" if n_col else "") + "<extra></extra>"))
    fig.update_yaxes(title=METRIC_LABELS.get(value, value), tickformat=".0%" if pct else None,
                     rangemode="tozero")
    return _layout(fig, title or METRIC_LABELS.get(value, value), height=320)


def employee_dots(e: pl.DataFrame, flagged: str | None = None,
                  title: str = "Employees: mean CSAT with 95% interval") -> go.Figure:
    """e: the employees frame. One column of dots per department (employees side by side, best
    shrunk mean first), each with its 95% interval; hollow dots = fewer answers than the minimum
    (not ranked); the shrunk mean is a small dash. The inconsistent department is drawn in red."""
    e = e.filter(pl.col("csat_mean").is_not_null())
    deps = sorted(e["department"].unique().to_list())
    fig = go.Figure()
    for i, dep in enumerate(deps):
        g = e.filter(pl.col("department") == dep).sort("csat_shrunk", descending=True, nulls_last=True)
        n = g.height
        g = g.with_columns(_x=pl.Series([i + (j - (n - 1) / 2) * (0.8 / max(n, 1)) for j in range(n)]))
        color = FLAG_COLOR if dep == flagged else PALETTE[0]
        # unranked employees (too few answers) first, pale, so their long whiskers do not dominate
        for ranked in (False, True):
            h = g.filter(pl.col("ranked") == ranked)
            if not h.height:
                continue
            lo = [(m - l) if l is not None else 0 for m, l in zip(h["csat_mean"], h["csat_ci_low"])]
            hi = [(u - m) if u is not None else 0 for m, u in zip(h["csat_mean"], h["csat_ci_high"])]
            fig.add_trace(go.Scatter(
                x=h["_x"].to_list(), y=h["csat_mean"].to_list(), mode="markers",
                name=dep if ranked else f"{dep} (not ranked)", showlegend=False,
                opacity=1.0 if ranked else 0.45,
                marker=dict(color=color if ranked else "white", size=7, line=dict(color=color, width=1.5)),
                error_y=dict(type="data", symmetric=False, array=hi, arrayminus=lo, color=color, thickness=1,
                             width=0),
                customdata=list(zip(h["employee_id"].to_list(), h["csat_n"].to_list(),
                                    [round(v, 2) if v is not None else None for v in h["csat_shrunk"]],
                                    [r if r is not None else "–" for r in h["rank"].to_list()])),
                hovertemplate="<b>%{customdata[0]}</b> (" + dep + ")<br>mean CSAT %{y:.2f}, n = %{customdata[1]}"
                              "<br>shrunk %{customdata[2]}: pulled toward the department's mean, the more so the "
                              "fewer the answers,<br>so a lucky few answers do not rank first"
                              "<br>rank %{customdata[3]}<extra></extra>"))
        fig.add_trace(go.Scatter(x=g["_x"].to_list(), y=g["csat_shrunk"].to_list(), mode="markers",
                                 showlegend=False, name=f"{dep} (shrunk)", hoverinfo="skip",
                                 marker=dict(symbol="line-ew", size=9, line=dict(color="#333", width=1.5))))
    fig.update_xaxes(tickmode="array", tickvals=list(range(len(deps))), ticktext=deps, title="department")
    fig.update_yaxes(title="mean CSAT (1–5)", range=[1, 5.2])
    return _layout(fig, title, height=420)
