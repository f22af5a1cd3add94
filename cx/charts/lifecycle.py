"""Charts for the Life cycle and Teams pages: polars frame -> plotly Figure (no data access)."""
from __future__ import annotations

import math

import plotly.graph_objects as go
import polars as pl

from . import PALETTE, _layout

STATE_COLORS = {"new": "#219ebc", "returning": "#2a9d8f", "resurrecting": "#ffb703", "dormant": "#e63946"}
FLAG_COLOR = "#e63946"


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
    for c, k, n, a, s, comp in m.select("cohort", "period_index", "cohort_size", "active", "share",
                                        "complete").iter_rows():
        (z if comp else zi)[row[c]][col[k]] = s
        cd[row[c]][col[k]] = [str(c), k, n, a, "" if comp else " (partial period)", f"{s:.0%}"]
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
    """c: a retention curve frame ([group,] period_index, cohorts, customers, active, share); one line
    per group. Only complete periods are pooled, so the end of the curve does not dip falsely."""
    if max_k is not None:
        c = c.filter(pl.col("period_index") <= max_k)
    groups = [(None, c)] if "group" not in c.columns else [(k[0], g) for k, g in c.group_by("group",
                                                                                             maintain_order=True)]
    fig = go.Figure()
    for i, (name, g) in enumerate(sorted(groups, key=lambda x: str(x[0]))):
        g = g.sort("period_index")
        fig.add_trace(go.Scatter(
            x=g["period_index"].to_list(), y=g["share"].to_list(), mode="lines+markers",
            name=str(name) if name is not None else "all customers",
            line=dict(color=PALETTE[i % len(PALETTE)], width=2.5), marker=dict(size=5),
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


# ----------------------------------------------------------------------------- teams
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
                              "<br>shrunk %{customdata[2]}<br>rank %{customdata[3]}<extra></extra>"))
        fig.add_trace(go.Scatter(x=g["_x"].to_list(), y=g["csat_shrunk"].to_list(), mode="markers",
                                 showlegend=False, name=f"{dep} (shrunk)", hoverinfo="skip",
                                 marker=dict(symbol="line-ew", size=9, line=dict(color="#333", width=1.5))))
    fig.update_xaxes(tickmode="array", tickvals=list(range(len(deps))), ticktext=deps, title="department")
    fig.update_yaxes(title="mean CSAT (1–5)", range=[1, 5.2])
    return _layout(fig, title, height=420)
