"""Journey: the ordered funnel, the loops customers really walk, their paths, and the journey map."""
import streamlit as st

from cx import glossary, journey, profile
from cx.charts import journey as jc
from cx.schema import STAGES
from ui import call, chart, figures, page_frame, table

jc = figures(jc)  # figures memoised per input (ui.cache.figure)

f = page_frame("Journey", "Customers do not walk a straight line: see how far they get in order, where they "
               "loop back, which paths they take, and how they feel along the way.")


MAX_STEPS = 20  # a 7-step checkout is common; links may ask for up to 20


def funnel_tab():
    c1, c2, c3, c4 = st.columns(4)
    field = c1.radio("Steps are", ["stage", "touchpoint"], horizontal=True, key="fn_field", bind="query-params")
    window = c2.selectbox("Conversion window", ["none", "1h", "1d", "7d", "30d", "90d", "365d"], index=4,
                          key="fn_window", bind="query-params", help="All steps must happen within this time of the entry.")
    unit = c3.radio("Count", ["customer", "session"], horizontal=True, key="fn_unit", bind="query-params")
    breakdown = c4.selectbox("Break down by", ["none", *call(journey.breakdown_options)], key="fn_breakdown",
                             bind="query-params", help="The entry touchpoint's channel (or another of its columns), "
                             "a customers-table column, or the saved segments: only what this dataset holds.")
    if field == "stage":
        present = set(call(profile.by_stage, f)["stage"].to_list())
        options = list(STAGES)
        default = [[s] for s in STAGES if s in present][:4]
    else:
        options = call(profile.touchpoints, f)["touchpoint"].head(60).to_list()
        default = [[t] for t in call(journey.default_steps, 3, filters=f)]  # in journey order, ending at a purchase
    n = st.slider("Number of steps", 2, MAX_STEPS, max(len(default), 2), key=f"fn_n_{field}", bind="query-params")
    steps = []
    per_row = min(n, 5)  # at most five steps a row: up to 20 stay readable
    for row in range(0, n, per_row):
        cols = st.columns(per_row)
        for i in range(row, min(row + per_row, n)):
            pick = cols[i - row].multiselect(f"Step {i + 1}", options, default=default[i] if i < len(default) else [],
                                             key=f"fn_step_{field}_{i}", bind="query-params",
                                             help="Several values = any of them.")
            if pick:
                steps.append(tuple(pick))
    if len(steps) < 2:
        st.info("Pick at least two steps.")
    else:
        kw = dict(field=field, window=None if window == "none" else window, unit=unit, filters=f)
        period = st.session_state.get("fn_period") or st.query_params.get("fn_period") or "month"
        period = period if period in ("week", "month") else "month"
        rep = call(journey.funnel_report, tuple(steps), breakdown=None if breakdown == "none" else breakdown,
                   period=period, **kw)
        overall = journey.with_intervals(rep["funnel"])
        chart(jc.funnel_chart(rep["funnel"]), key="fn_chart",
              caption="Entry: any occurrence of step 1. Each next step is its first occurrence after the previous "
                      "one, all within the window from the entry; a later entry that gets further wins; equal "
                      "timestamps keep file order.", help=glossary.help_text("funnel"))
        if rep["by"] is not None:
            chart(jc.conversion_by_group(journey.with_intervals(rep["by"]), breakdown), key="fn_by_chart",
                  caption="Each bar: the share of a group's entrants who reached the last step, with its 95% "
                          "interval. Green or red: the group converts better or worse than the others beyond chance "
                          "(Benjamini-Hochberg across groups); ⚠ grey: fewer than 30 entrants, not ranked.",
                  help=glossary.help_text("funnel_intervals"))
        show = overall.with_columns(
            (overall["median_time_from_previous"] / 3600).round(1).alias("median hours from previous"),
            (overall["p90_time_from_previous"] / 3600).round(1).alias("p90 hours from previous"))
        table(show.drop("median_time_from_previous", "p90_time_from_previous", "entered", "previous_low",
                        "previous_high"), "fn_table", title="Funnel steps", file_name="funnel.csv",
              conversion_from_previous=st.column_config.NumberColumn(format="percent"),
              conversion_from_first=st.column_config.NumberColumn(format="percent"),
              conversion_low=st.column_config.NumberColumn("from first, 95% low", format="percent"),
              conversion_high=st.column_config.NumberColumn("from first, 95% high", format="percent"))
        compare_periods(tuple(steps), kw)
        left, right = st.columns(2)
        with left:
            st.radio("Trend by entry", ["week", "month"], index=1, horizontal=True, key="fn_period", bind="query-params")
            chart(jc.trend_lines(rep["trend"], "period", "conversion", "Conversion by entry " + period,
                                               "conversion to the last step", percent=True), key="fn_trend",
                  help=glossary.help_text("funnel_trend"))
        with right:
            at = st.selectbox("Who dropped after step", list(range(1, len(steps))), key="fn_drop", bind="query-params",
                              format_func=lambda k: f"{k}. {overall['name'][k - 1]}")
            lost = int(overall["count"][at - 1] - overall["count"][at])
            st.metric("Dropped there", f"{lost:,}", help="Reached this step but not the next one within the window.")
            if st.toggle("List them", key="fn_list", bind="query-params", help="Their ids, entry time and the time of the last step "
                         "they reached, exportable as CSV."):
                drops = call(journey.dropoff_members, tuple(steps), at, **kw)
                table(drops, "fn_dropped", title=f"Dropped after step {at}", links=True, height=260,
                      file_name=f"dropped_after_step_{at}.csv")


def compare_periods(steps, kw) -> None:
    """This funnel in two date ranges, step by step, with the change's interval."""
    k = call(profile.kpis, f).row(0, named=True)
    if not k["last"]:
        return
    a, b = journey.last_two_months(k["last"].date())
    with st.expander("Compare two periods", icon=":material/compare_arrows:"):
        c1, c2 = st.columns(2)
        ra = c1.date_input("Earlier period", a, key="fn_cmp_a", bind="query-params")
        rb = c2.date_input("Later period", b, key="fn_cmp_b", bind="query-params")
        if not (isinstance(ra, (tuple, list)) and len(ra) == 2 and isinstance(rb, (tuple, list)) and len(rb) == 2):
            st.caption("Pick a first and a last day for both periods.")
            return
        cmp = call(journey.compare_periods, steps, tuple(ra), tuple(rb), **kw)
        la, lb = f"{ra[0]:%d %b} – {ra[1]:%d %b %Y}", f"{rb[0]:%d %b} – {rb[1]:%d %b %Y}"
        chart(jc.period_comparison(cmp, la, lb), key="fn_cmp_chart",
              caption="The share of step 1 reaching each step in each period (the entries and steps of each "
                      "range). A red or green dot: the change is beyond chance (Newcombe's interval, 95%); grey "
                      "line only: it could be chance.", help=glossary.help_text("funnel_intervals"))
        table(cmp, "fn_cmp_table", title="The funnel in two periods", file_name="funnel_two_periods.csv",
              **{c: st.column_config.NumberColumn(format="percent") for c in
                 ("conversion_a", "conversion_b", "diff", "low", "high")})


def loops_tab():
    c1, c2, c3 = st.columns(3)
    level = c1.radio("Level", ["stage", "touchpoint"], horizontal=True, key="lp_level", bind="query-params")
    weight = c2.radio("Edge weight", ["probability", "count"], horizontal=True, key="lp_weight", bind="query-params")
    collapse = c3.checkbox("Collapse repeats of the same step", True, key="lp_collapse", bind="query-params")
    tr = call(journey.transitions, level=level, collapse_repeats=collapse, filters=f)
    st.graphviz_chart(journey.transition_dot(tr, weight=weight), width="stretch")
    st.caption("Arrows are consecutive touchpoints of the same customer. Back-edges (returns to an earlier "
               "stage) and self-loops are highlighted in red: the loop a Sankey cannot draw.",
               help=glossary.help_text("transitions"))
    by_opts = [b for b in call(journey.breakdown_options) if b not in journey.ENTRY_ONLY] + ["none"]
    by_opts = sorted(by_opts, key=lambda b: (b != "persona", b != "channel", b == "none"))  # persona first if any
    by = st.selectbox("Loop metrics by", by_opts, key="lp_by", bind="query-params",
                      help="channel = the customer's most used channel; the others come from the customers table.")
    lm = call(journey.loop_metrics, by=None if by == "none" else by, filters=f)
    table(lm, "lp_metrics", title="Loop metrics", **{
        c: st.column_config.NumberColumn(format="percent") for c in ("loop_rate", "reevaluation_rate",
                                                                     "loop_exit_rate")},
        loops_per_customer=st.column_config.NumberColumn(format="%.2f"))
    st.caption("Loop rate: share of customers who return to an earlier stage. Re-evaluation: use → evaluate. "
               "Cycle: median days between purchases. Loop exit: no activity for the last N days.",
               help=" ".join(glossary.help_text(k) for k in ("loop_rate", "reevaluation_rate", "cycle_days",
                                                              "loop_exit_rate")))
    left, right = st.columns(2)
    with left:
        chart(jc.sankey_chart(call(journey.step_sankey, steps=5, level="stage",
                                                 collapse_repeats=collapse, filters=f)), key="lp_sankey",
              caption="Steps 1 to 5 of every journey: a loop shows as a return to an earlier stage one step later.",
              help=glossary.help_text("step_sankey"))
    with right:
        stage_tr = tr if level == "stage" else call(journey.transitions, level="stage", collapse_repeats=collapse,
                                                    filters=f)
        chart(jc.transition_heatmap(stage_tr), key="lp_heatmap",
              caption="Row = where customers are, column = where they go next (share of the row).",
              help=glossary.help_text("transitions"))


def paths_tab():
    top = st.slider("Top paths", 5, 25, 10, key="pt_top", bind="query-params")
    pt = call(journey.paths, top=top, filters=f)
    chart(jc.hbars(pt, "path", "customers", f"The {top} most common paths (repeats collapsed)"),
          key="pt_bars", caption="Each path is a customer's sequence of stages with repeats collapsed.",
          help=glossary.help_text("paths"))
    table(pt, "pt_paths", title="Top paths", share=st.column_config.NumberColumn(format="percent"),
          purchase_conversion=st.column_config.NumberColumn(format="percent"))
    sw = call(journey.channel_switching, filters=f)
    c1, c2, c3 = st.columns(3)
    pct = lambda v: "–" if v is None else f"{v:.0%}"  # noqa: E731 - no purchase, no single-channel journey ...
    c1.metric("Journeys across 2+ channels", pct(sw['summary']['cross_channel_share'][0]),
              help=glossary.help_text("channel_switching"))
    c2.metric("Purchase conversion, cross-channel", pct(sw['summary']['conversion_cross'][0]))
    c3.metric("Purchase conversion, single channel", pct(sw['summary']['conversion_single'][0]))
    ho = sw["handoffs"].head(12)
    ho = ho.with_columns((ho["from_channel"] + " → " + ho["to_channel"]).alias("handoff"))
    chart(jc.hbars(ho, "handoff", "count", "Most common channel hand-offs"), key="pt_handoffs",
          caption="Consecutive touchpoints of a customer on different channels.",
          help=glossary.help_text("channel_switching"))


def map_tab():
    jm = call(journey.journey_map, filters=f)
    scores = [c for c in ("mean_sentiment", "csat", "ces") if c in jm.columns and jm[c].drop_nulls().len()]
    if not jm.filter(jm["stage"].is_not_null()).height:
        st.info("The journey map places touchpoints in stages: it needs a stage column, or touchpoint names the "
                "stage rules recognise (Data → Stage map).")
        return
    names = {"touchpoints": "volume", "mean_sentiment": "sentiment", "csat": "CSAT", "ces": "CES"}
    value = st.radio("Colour by", [*scores, "touchpoints"], horizontal=True, key="jm_value", bind="query-params",
                     format_func=names.get)
    chart(jc.journey_map_heatmap(jm, value=value), key="jm_heatmap",
          caption="Each column is a stage, each cell a touchpoint (top 8 by volume) with its volume"
                  + (" and score." if scores else ". The data has no sentiment or score to colour by: add a "
                     "sentiment column or feedback with CSAT or CES on touchpoints."),
          help=glossary.help_text("journey_map"))
    curve = call(journey.emotion_curve, filters=f)
    if curve.height:
        chart(jc.emotion_curve(curve), key="jm_curve",
              caption="Mean sentiment of the touchpoints of each stage, in journey order.",
              help=glossary.help_text("emotion_curve"))
    else:
        st.caption("The emotion curve needs a sentiment column (−1 to 1) on the interactions.")


# lazy tabs: only the open tab computes, and the open tab lives in the URL (?tab=Loops), so a
# copied link opens the same view
tabs = st.tabs(["Funnel", "Loops", "Paths", "Journey map"], key="tab", bind="query-params")
for tab, draw in zip(tabs, (funnel_tab, loops_tab, paths_tab, map_tab)):
    with tab:
        if tab.open is not False:  # None: state not tracked (then every tab draws)
            draw()
