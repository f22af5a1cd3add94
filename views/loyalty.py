"""Loyalty & trust: NPS/CSAT/CES, key drivers, trust, forgiveness and relationship quality."""
from contextlib import contextmanager

import polars as pl
import streamlit as st

from cx import CXError, glossary, loyalty
from cx.charts import loyalty as ch
from cx.export import to_csv_bytes
from ui import call, chart, clicked_points, current_dataset, figures, get_store, md_escape, on_duckdb, page_frame, table
from ui.drilldown import kpi_focus
from ui.loop import plan_form

ch = figures(ch)  # figures memoised per input (ui.cache.figure)

f = page_frame("Loyalty & trust", "How likely customers are to recommend you, how satisfied they are and how easy "
               "you make things; which touchpoints drive that; whether trust pays; who forgives an incident; and how "
               "healthy each relationship is.")
kpi_focus(("nps", "csat", "ces"), f)  # opened from an overview card: that period first
METRIC_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
BY_LABELS = {"touchpoint": "touchpoint", "channel": "channel", "solicited": "solicited or not",
             "stage": "stage (of the rated interaction)", "department": "department (of the rated interaction)",
             "employee_id": "employee (of the rated interaction)", "segment": "saved segment"}
help_text = glossary.help_text


@contextmanager
def _guard():
    """One tab's missing data (e.g. no trust question) is a message in that tab, not the end of the page."""
    try:
        yield
    except CXError as e:
        st.warning(md_escape(e))


def _clicked(ev, field: str = "x", custom: int | None = None):
    """The label of the first clicked point (its `field`, or customdata[custom])."""
    pts = clicked_points(ev)
    if not pts:
        return None
    p = pts[0]
    if custom is not None and p.get("customdata") is not None:
        cd = p["customdata"]
        return cd[custom] if isinstance(cd, (list, tuple)) else cd
    return p.get(field)


def _drill_select(label: str, options: list, key: str, clicked) -> object:
    """A selectbox and a "list" switch under a chart; a click on the chart selects its bar and turns the
    list on. Returns the selected value when the list is on (None otherwise: nothing is fetched)."""
    if clicked is not None and clicked in options:
        st.session_state[key] = clicked
        st.session_state[f"{key}_show"] = True
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    value = c1.selectbox(label, options, key=key, bind="query-params")
    show = c2.toggle("List its customers", key=f"{key}_show", bind="query-params")
    return value if show else None


def _customers(df: pl.DataFrame, file_name: str, key: str, title: str, caption: str | None = None) -> None:
    """A table of customers (first 1,000 shown), each linked to the customer view, with a CSV of all."""
    table(df, key, title=title, file_name=file_name, links=True, height=260,
          caption=caption or (f"{df.height:,} customers" + (" (first 1,000 shown)" if df.height > 1000 else "")))


# -- scores -----------------------------------------------------------------------------------------
def scores_tab():
    ov = call(loyalty.score_overview, filters=f)
    if ov.height == 0:
        st.info("There are no NPS, CSAT or CES answers in this data (a feedback table with metric nps, csat or ces "
                "and a score). Import one on the Data page.")
        return
    cards = {r["metric"]: r for r in ov.iter_rows(named=True)}
    cols = st.columns(4)
    if "nps" in cards:
        r = cards["nps"]
        cols[0].metric("NPS", f"{r['value']:+.0f}", help=f"{help_text('nps')} Here: {r['n']:,} answers, "
                       f"{r['share_good']:.0%} promoters, {r['share_bad']:.0%} detractors.")
    if "csat" in cards:
        r = cards["csat"]
        cols[1].metric("CSAT", f"{r['value']:.0f}%", help=f"{help_text('csat')} Here: {r['n']:,} answers, "
                       f"mean {r['mean_score']:.2f}.")
    if "ces" in cards:
        r = cards["ces"]
        cols[2].metric("CES (mean effort score)", f"{r['value']:.2f} / 7",
                       help=f"{help_text('ces')} Here: {r['n']:,} answers.")
        cols[3].metric("Easy (CES 5–7)", f"{r['share_good']:.0%}", help="Share of CES answers 5–7.")
    low = [METRIC_NAMES[m] for m, r in cards.items() if r["low_n"]]
    if low:
        st.warning(f"Fewer than 30 answers for {', '.join(low)}: read these numbers with care.")

    c1, c2 = st.columns(2)
    metric = c1.radio("Score", [m for m in ("nps", "csat", "ces") if m in cards], horizontal=True,
                      format_func=METRIC_NAMES.get, key="ly_metric", bind="query-params")
    period = c2.radio("Trend by", ["quarter", "month", "week"], horizontal=True, key="ly_period",
                      bind="query-params")
    left, right = st.columns(2)
    with left:
        chart(ch.score_trend(call(loyalty.score_trend, metric, period=period, filters=f), metric), key="ly_trend",
              caption=f"{METRIC_NAMES[metric]} per {period} of the answer; hollow grey points have fewer than 30 "
                      "answers.")
    with right:
        chart(ch.score_distribution(call(loyalty.score_distribution, metric, filters=f), metric), key="ly_dist",
              caption="Share of answers per score; colours show the groups the score counts in (e.g. promoters, "
                      "passives, detractors).")

    st.subheader("Breakdown", help=help_text("score_breakdown"))
    opts = list(call(loyalty.breakdown_options))
    default_by = "touchpoint" if metric != "nps" else ("persona" if "persona" in opts else "channel")
    by = st.selectbox("Break down by", opts, index=opts.index(default_by), key=f"ly_by_{metric}",
                      format_func=lambda b: BY_LABELS.get(b, b), bind="query-params")
    bd = call(loyalty.score_summary, metric, by=by, filters=f)
    ev = chart(ch.breakdown_bars(bd, metric, BY_LABELS.get(by, by)), key="ly_breakdown", on_select="rerun",
               selection_mode="points",
               caption="One bar per group, best first, with its 95% interval and number of answers. Green or red: the "
                       "group differs from the rest of the answers beyond chance (tested against the rest, "
                       "Benjamini-Hochberg across the groups); ⚠ grey = fewer than 30 answers, shown but not ranked. "
                       "Stage and department come from the interaction each answer rates. Click a bar to list its "
                       "customers.", help=help_text("breakdown_intervals"))
    groups = loyalty.worst_first(bd)
    with st.expander("Customers of a bar", expanded=bool(clicked_points(ev))):
        g = _drill_select("Group", groups, "ly_by_pick", _clicked(ev, custom=0))
        if g is not None:
            _customers(call(loyalty.score_members, metric, by, g, filters=f), f"{metric}_{by}_{g}.csv", "ly_sc",
                       title=f"{METRIC_NAMES[metric]} answers of {g}")

    sp = call(loyalty.solicited_split, filters=f)
    left, right = st.columns([3, 2])
    with left:
        chart(ch.solicited_bars(sp), key="ly_solicited")
    with right:
        table(sp.rename({"value": "score"}), "ly_solicited_table", title="Solicited vs unsolicited",
              caption="Solicited = surveys; unsolicited = reviews, posts and complaints. Bars put each metric's "
                      "mean on a common 0–100% of its scale; score is the metric's own (NPS, top-2-box %, mean CES).",
              score=st.column_config.NumberColumn(format="%.1f"),
              mean_score=st.column_config.NumberColumn(format="%.2f"))


# -- key drivers ------------------------------------------------------------------------------------
def drivers_tab():
    outcome = st.radio("Outcome", ["nps", "repurchase"], horizontal=True, key="ly_outcome", bind="query-params",
                       format_func={"nps": "Recommendation (latest NPS)",
                                    "repurchase": "Repurchase within 90 days"}.get,
                       help=help_text("key_drivers"))
    kd = call(loyalty.key_drivers, outcome=outcome, filters=f)
    d, s = kd["drivers"], kd["summary"].row(0, named=True)
    (st.success if s["fix_first"] else st.info)(md_escape(s["verdict"]), icon=":material/build:")
    if s["fix_first"] and on_duckdb():  # the closed loop: an owned action on the touchpoint to fix first
        perf = d.filter(pl.col("touchpoint") == s["fix_first"])["performance"]
        plan_form("ly_plan", f"Fix {s['fix_first']} first", "driver", s["fix_first"],
                  (perf[0] + 0.3) if perf.len() else None, "key drivers")
    ev = chart(ch.driver_quadrant(d), key="ly_quadrant", on_select="rerun", selection_mode="points",
               caption=f"Each dot is a touchpoint. Importance: its share of the explained variance (Johnson's "
                       f"relative weights of customers' mean CSAT per touchpoint on the outcome; R² = {s['r2']:.2f}, "
                       f"95% {s['r2_low']:.2f} to {s['r2_high']:.2f}, over {s['customers']:,} customers), with a "
                       f"bootstrap interval; hollow = cannot be told from a random predictor. Performance: its mean "
                       f"CSAT. Top left (red) = it matters and scores below average. Customers who did not rate a "
                       f"touchpoint count at its mean ({s['imputed_share']:.0%} of the values were filled this way)"
                       + (f"; left out for too few ratings: {md_escape(s['dropped'])}." if s["dropped"] else "."),
               help=help_text("driver_honesty"))
    table(d, "ly_drivers", title="Key drivers", file_name=f"key_drivers_{outcome}.csv",
          importance=st.column_config.NumberColumn(format="%.3f"),
          importance_share=st.column_config.NumberColumn("share of R²", format="percent"),
          performance=st.column_config.NumberColumn(format="%.2f"),
          correlation=st.column_config.NumberColumn(format="%.2f"),
          coverage=st.column_config.NumberColumn(format="percent"))
    with st.expander("Customers who rated a touchpoint", expanded=bool(clicked_points(ev))):
        tp = _drill_select("Touchpoint", d["touchpoint"].to_list(), "ly_kd_pick", _clicked(ev, custom=0))
        if tp is not None:
            _customers(call(loyalty.driver_members, tp, filters=f), f"rated_{tp}.csv", "ly_kd",
                       title=f"Customers who rated {tp}")


# -- trust ------------------------------------------------------------------------------------------
def trust_tab():
    tl = call(loyalty.trust_levels, filters=f)
    tl = tl.with_columns(pl.col("trust").cast(pl.Utf8).alias("trust level"))
    left, right = st.columns(2)
    with left:
        ev1 = chart(ch.level_bars(tl, "trust level", "nps", "Recommendation (NPS) by trust level", "NPS",
                                  n_col="n_nps", x_title="trust level (latest answer, 1–5)"),
                    key="ly_trust_nps", on_select="rerun", selection_mode="points")
    with right:
        ev2 = chart(ch.level_bars(tl, "trust level", "repurchase_rate", "Repurchase rate by trust level",
                                  "buyers with 2+ purchases", percent=True, n_col="buyers",
                                  x_title="trust level (latest answer, 1–5)"),
                    key="ly_trust_rep", on_select="rerun", selection_mode="points")
    st.caption("Each customer counts once, at the level of their latest trust answer. Left: NPS of their latest NPS "
               "answers. Right: share of buyers who bought again (2+ purchases). Grey = fewer than 30 customers. "
               "Click a bar to list its customers.", help=help_text("trust_levels"))
    with st.expander("Customers of a trust level", expanded=bool(clicked_points(ev1) or clicked_points(ev2))):
        levels = tl["trust level"].to_list()
        lv = _drill_select("Trust level", levels, "ly_trust_pick", _clicked(ev1) or _clicked(ev2))
        if lv is not None:
            _customers(call(loyalty.trust_members, int(lv), filters=f), f"trust_{lv}.csv", "ly_tr",
                       title=f"Customers at trust level {lv}")


# -- forgiveness ------------------------------------------------------------------------------------
def forgiveness_tab():
    fg = call(loyalty.forgiveness, filters=f)
    ev = chart(ch.forgiveness_bars(fg), key="ly_forgive", on_select="rerun", selection_mode="points",
               caption="Customers with an incident (late delivery, outage, wrong charge ...), by how long they had "
                       "been customers when the first one happened: the share who were still active (any "
                       "interaction) 90 days later. Diamonds: customers without any incident observed at the same "
                       "tenure; grey bar: customers without incidents, 90 days after their first purchase. "
                       "Incidents in the last 90 days of the data are left out.")
    table(fg, "ly_forgive_table", title="Forgiveness", share=st.column_config.NumberColumn(format="percent"),
          baseline=st.column_config.NumberColumn(format="percent"))
    with st.expander("Customers of a bar", expanded=bool(clicked_points(ev))):
        grp = _drill_select("Group", fg["group"].to_list(), "ly_fg_pick", _clicked(ev))
        if grp is not None:
            _customers(call(loyalty.forgiveness_members, grp, filters=f), "forgiveness.csv", "ly_fg",
                       title=f"Forgiveness: {grp}")


# -- relationship quality ---------------------------------------------------------------------------
def relationship_tab():
    cands = call(loyalty.answer_touchpoint_options, filters=f)["touchpoint"].to_list()
    choices = ["(any outbound touchpoint)", *cands]
    default = next((i for i, c in enumerate(choices) if "reply" in c or "answer" in c), 0)
    ans = st.selectbox("An inbound contact is answered by", choices, index=default, key="ly_answer", bind="query-params",
                       help="The answer is the next touchpoint of this kind with the same customer, channel and "
                            "department, within 7 days.")
    answer_tps = None if ans == choices[0] else (ans,)
    sm = call(loyalty.relationship_summary, answer_touchpoints=answer_tps, filters=f).row(0, named=True)
    c = st.columns(5)
    c[0].metric("Inbound share", f"{sm['inbound_share']:.0%}" if sm["inbound_share"] is not None else "–",
                help=help_text("dialogue"))
    mins = sm["median_answer_minutes"]
    shown = "–" if mins is None else (f"{mins:.0f} min" if mins < 120 else f"{mins / 60:.1f} h")
    c[1].metric("Time to answer", shown,
                help=help_text("answer_time") + " The card: the median over customers of each customer's median.")
    gpp = sm["gives_per_purchase"]
    c[2].metric("Gives per purchase", "–" if gpp is None else f"{gpp:.2f}", help=help_text("exchange_of_value"))
    pct = lambda v: "–" if v is None else f"{v:.0%}"  # noqa: E731 - a share without a base is a dash
    c[3].metric("On 2+ channels", pct(sm["multichannel_share"]),
                help=f"{help_text('recognition')} Here: on average {pct(sm['identified_share'])} of a customer's "
                     "touchpoints are on channels where they are identified.")
    c[4].metric("Health", "–" if sm["health"] is None else f"{sm['health']:.0f} / 100", help=help_text("health"))
    if sm["health"] is None:
        st.info("Relationship health needs at least one of its components: directions (inbound / outbound) for "
                "two-way dialogue and answer times, a value_given column for the exchange of value, or channels "
                "for recognition.")
        return
    left, right = st.columns(2)
    with left:
        chart(ch.health_components(sm), key="ly_components",
              caption="Components (0–100): dialogue = 100 when inbound and outbound are balanced; answer speed "
                      "halves for every day of median answer time; exchange = gives vs purchases balance; "
                      "recognition = half identified share, half seen on 2+ channels. Health = their mean (a "
                      "missing component is left out).")
    with right:
        chart(ch.answer_time_bars(call(loyalty.answer_times, by="channel", answer_touchpoints=answer_tps,
                                       filters=f)), key="ly_answers",
              caption="Median time from an inbound contact to its answer, per channel (answered contacts).")
    hr = call(loyalty.health_retention, answer_touchpoints=answer_tps, filters=f)
    if hr.height == 0:
        st.info("Health against retention needs more than 90 days of data (health is measured up to 90 days "
                "before the end, retention in those last 90 days).")
        return
    ev = chart(ch.health_retention(hr), key="ly_health", on_select="rerun", selection_mode="points",
               caption="No look-ahead: health is computed on the data up to 90 days before its end, for customers "
                       "active in the year before; the line is the share of each decile active again (a touchpoint "
                       "they started) in the last 90 days. Click a decile to list its customers.")
    with st.expander("Customers of a decile", expanded=bool(clicked_points(ev))):
        dec = _drill_select("Decile", [str(x) for x in hr["decile"].to_list()], "ly_hr_pick", _clicked(ev))
        if dec is not None:
            _customers(call(loyalty.health_members, int(dec), answer_touchpoints=answer_tps, filters=f),
                       f"health_decile_{dec}.csv", "ly_hr", title=f"Health decile {dec}")
    with st.expander("Every customer's relationship"):
        ds = current_dataset()
        _customers(call(loyalty.relationship, answer_touchpoints=answer_tps, filters=f, weakest=500),
                   "weakest_relationships.csv", "ly_rel", title="The 500 weakest relationships",
                   caption="The 500 weakest relationships (the CSV beside has them; the button below every "
                           "customer).")
        st.download_button("Export every customer's relationship (CSV)", lambda: to_csv_bytes(readable=True, df=
            loyalty.relationship(get_store(), answer_touchpoints=answer_tps, filters=f, dataset=ds)),
            file_name="relationships.csv", mime="text/csv", key="ly_rel_all", icon=":material/download:",
            on_click="ignore")


# lazy tabs bound to the URL (?tab=Trust): only the open tab computes, a copied link opens it
tabs = st.tabs(["Scores", "Key drivers", "Trust", "Forgiveness", "Relationship quality"], key="tab",
               bind="query-params")
for tab, draw in zip(tabs, (scores_tab, drivers_tab, trust_tab, forgiveness_tab, relationship_tab)):
    with tab:
        if tab.open is not False:  # None: state not tracked (then every tab draws)
            with _guard():
                draw()
