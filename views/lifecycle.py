"""Life cycle: retention cohorts (heatmap and curves) and lifecycle states, each drillable to customers."""
from datetime import date

import polars as pl
import streamlit as st

from cx import glossary, lifecycle, stats
from cx.charts import lifecycle as lc_charts
from ui import call, chart, clicked_points, figures, page_frame, table
from ui.drilldown import kpi_focus

lc_charts = figures(lc_charts)  # figures memoised per input (ui.cache.figure)

f = page_frame("Life cycle", "Do customers come back? Cohorts by the month (or week) they started, and every "
               "period's customers split into new, returning, resurrecting and dormant.")
kpi_focus(("active_customers", "retention"), f)  # opened from an overview card: that period first


def _apply_selection(event, key: str, values: dict) -> None:
    """A new click on a chart sets the drill-down widgets (once per click, so they stay editable)."""
    pts = clicked_points(event)
    sig = repr(pts)
    if pts and st.session_state.get(f"{key}_last") != sig:
        st.session_state[f"{key}_last"] = sig
        for k, v in values(pts[0]).items():
            if v is not None:
                st.session_state[k] = v


def _customer_table(df: pl.DataFrame, name: str, key: str, title: str) -> None:
    st.metric("Customers", f"{df.height:,}")
    table(df, f"{key}_table", title=title, file_name=name, links=True, height=300,
          **{c: st.column_config.DateColumn(format="YYYY-MM-DD") for c in ("cohort", "period") if c in df.columns})


def cohorts_tab():
    c1, c2, c3, c4 = st.columns(4)
    period = c1.radio("Period", ["month", "week"], horizontal=True, key="lc_period", bind="query-params")
    cohort_by = c2.radio("Cohort = first", ["activity", "purchase"], horizontal=True, key="lc_cohort_by",
                         bind="query-params",
                         help="Customers are grouped by the period of their first activity (a touchpoint they "
                              "initiated) or of their first purchase (amount > 0).")
    active_by = c3.radio("Active means", ["activity", "purchase"], horizontal=True, key="lc_active_by",
                         bind="query-params",
                         help="activity: at least one touchpoint that is not outbound (a newsletter received "
                              "does not count); purchase: at least one purchase in the period.")
    options = ["none", *call(lifecycle.breakdown_options)]
    breakdown = c4.selectbox("Break down by", options, key="lc_breakdown", bind="query-params",
                             help="first_channel = the channel of the customer's first touchpoint; segment = your "
                                  "saved segments (a customer in two counts in both); the others come from the "
                                  "customers table.")
    bd = None if breakdown == "none" else breakdown
    kw = dict(period=period, cohort_by=cohort_by, active_by=active_by, breakdown=bd, filters=f)
    m = call(lifecycle.retention, **kw)
    curve = stats.with_rate_interval(call(lifecycle.retention_curve, **kw), "active", "customers")
    overall = curve if bd is None else call(lifecycle.retention_curve, period=period, cohort_by=cohort_by,
                                            active_by=active_by, filters=f)
    unit = "month" if period == "month" else "week"
    k1 = overall.filter(pl.col("period_index") == 1)
    k_far = 6 if period == "month" else 12
    kf = overall.filter(pl.col("period_index") == k_far)
    sizes = m.filter(pl.col("period_index") == 0)
    a, b, c = st.columns(3)
    a.metric("Customers in cohorts", f"{sizes['cohort_size'].sum():,}",
             help=f"Customers with a first {cohort_by} in the data, after the filters.")
    b.metric(f"Active in {unit} 1", f"{k1['share'][0]:.0%}" if k1.height else "–",
             help=f"Of all cohorts with a complete {unit} 1: the share active in the {unit} after their first. "
                  + glossary.help_text("retention_curve"))
    c.metric(f"Active in {unit} {k_far}", f"{kf['share'][0]:.0%}" if kf.height else "–",
             help=f"The share active {k_far} {unit}s after their first (complete periods only). "
                  + glossary.help_text("retention_curve"))

    chart(lc_charts.retention_curves(curve, period, max_k=24 if period == "month" else 52,
                                     title="Retention curve" + (f" by {bd}" if bd else "")), key="lc_curve",
          caption=f"Each point: of the customers who started k {unit}s earlier, the share active in {unit} k, "
                  "pooled over all cohorts whose period k is complete (a partial last period is left out, so "
                  "the curve does not dip falsely); the bars are 95% Wilson intervals: where two groups' intervals "
                  "overlap, their difference could be chance.", help=glossary.help_text("retention_curve"))

    s1, s2, s3 = st.columns(3)
    group = None
    if bd:
        groups = sorted(m["group"].unique().to_list())
        group = s1.selectbox(f"Heatmap for {bd}", groups, key="lc_group", bind="query-params")
    n_cohorts = s2.slider("Cohorts shown (most recent)", 6, 60, 24 if period == "month" else 26, key="lc_ncoh", bind="query-params")
    max_k = s3.slider(f"{unit.capitalize()}s shown", 3, 48, 12 if period == "month" else 26, key="lc_maxk", bind="query-params")
    mg = m if group is None else m.filter(pl.col("group") == group)
    recent = sorted(mg["cohort"].unique().to_list())[-n_cohorts:]
    mh = stats.with_rate_interval(mg.filter(pl.col("cohort").is_in(recent)), "active", "cohort_size")
    ev = chart(lc_charts.cohort_heatmap(mh, period, max_k=max_k,
                                        title="Retention by cohort" + (f": {group}" if group else "")),
               key="lc_heatmap", on_select="rerun", selection_mode="points",
               caption=f"Each row is a cohort (the {unit} of the first {cohort_by}, with its size); each cell the "
                       f"share of it active k {unit}s later. Grey cells are a partial {unit} (the data ends inside "
                       "it). Click a cell, or pick one below, to list its customers.",
               help=glossary.help_text("retention_cohorts"))

    cohorts = sorted(mg["cohort"].unique().to_list())
    _apply_selection(ev, "lc_heat", lambda p: {
        "lc_drill_cohort": date.fromisoformat(p["customdata"][0]) if p.get("customdata") else None,
        "lc_drill_k": int(p["customdata"][1]) if p.get("customdata") else None})
    with st.expander("Customers of a cell", expanded=bool(clicked_points(ev))):
        d1, d2, d3 = st.columns(3)
        if st.session_state.get("lc_drill_cohort") not in cohorts:
            st.session_state.pop("lc_drill_cohort", None)
        coh = d1.selectbox("Cohort", cohorts, index=len(cohorts) - 1 if cohorts else None, key="lc_drill_cohort", bind="query-params",
                           format_func=lambda d: lc_charts._fmt_period(d, period))
        k = d2.number_input(f"{unit.capitalize()} k", 0, 400, 1, key="lc_drill_k", bind="query-params")
        which = d3.radio("Who", ["active", "not active"], horizontal=True, key="lc_drill_who", bind="query-params")
        if coh is not None:
            members = call(lifecycle.cohort_members, coh, int(k), active=which == "active", **kw,
                           group=group)
            _customer_table(members, f"cohort_{coh}_k{k}_{which.replace(' ', '_')}.csv", "lc_cell",
                            f"Cohort {coh}, {unit} {k}: {which}")


def states_tab():
    p = st.radio("Period", ["month", "week"], horizontal=True, key="lc_sp", bind="query-params")
    lc = call(lifecycle.lifecycle, period=p, filters=f)
    full = lc.filter(~pl.col("partial"))
    last = full.tail(1)
    if last.height:
        r = last.row(0, named=True)
        m1, m2, m3, m4 = st.columns(4)
        m1.metric(f"New in {r['period']:%b %Y}" if p == "month" else f"New, week of {r['period']:%d %b %Y}",
                  f"{r['new']:,}", help="First active period of these customers (the last complete period). "
                  + glossary.help_text("lifecycle_states"))
        m2.metric("Returning", f"{r['returning']:,}", help="Active in this and the previous period.")
        m3.metric("Resurrecting", f"{r['resurrecting']:,}",
                  help="Active now, not in the previous period, but active before.")
        m4.metric("Dormant", f"{r['dormant']:,}", help="Active in the previous period, not in this one.")
    ev2 = chart(lc_charts.lifecycle_bars(lc, p), key="lc_states", on_select="rerun", selection_mode="points",
                caption="Above zero: the period's active customers, split into new, returning and resurrecting; "
                        "below zero: those who went dormant (active the period before, not now). The dotted line "
                        "is the net change. Pale bars are partial periods. Click a bar segment to list its "
                        "customers.", help=glossary.help_text("lifecycle_states"))
    periods = lc["period"].to_list()
    _apply_selection(ev2, "lc_st", lambda pt: {
        "lc_state_pick": pt["customdata"][0] if pt.get("customdata") else None,
        "lc_state_when": date.fromisoformat(str(pt["x"])[:10]) if pt.get("x") else None})
    with st.expander("Customers of a bar", expanded=bool(clicked_points(ev2))):
        e1, e2 = st.columns(2)
        if st.session_state.get("lc_state_when") not in periods:
            st.session_state.pop("lc_state_when", None)
        when = e1.selectbox("Period", periods, index=len(periods) - 1 if periods else None, key="lc_state_when", bind="query-params")
        state = e2.selectbox("State", list(lifecycle.STATES), key="lc_state_pick", bind="query-params")
        if when is not None:
            members = call(lifecycle.lifecycle_members, when, state, period_unit=p, filters=f)
            _customer_table(members, f"{state}_{when}.csv", "lc_bar", f"{state.capitalize()} in {when}")
    table(lc.sort("period", descending=True), "lc_states_table", title="Lifecycle states per period",
          file_name=f"lifecycle_{p}.csv", height=240, period=st.column_config.DateColumn(format="YYYY-MM-DD"))


# lazy tabs: only the open tab computes; the open tab is in the URL (?tab=Lifecycle%20states)
tabs = st.tabs(["Retention cohorts", "Lifecycle states"], key="tab", bind="query-params")
for tab, draw in zip(tabs, (cohorts_tab, states_tab)):
    with tab:
        if tab.open is not False:  # None: state not tracked (then every tab draws)
            draw()
