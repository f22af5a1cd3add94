"""Overview: the state of customer relationships in one screen, for leadership."""
import polars as pl
import streamlit as st

from cx import glossary, overview, profile
from cx.charts import overview as oc
from ui import call, chart, figures, fmt_date, md_escape, on_duckdb, page_frame, page_link
from ui.drilldown import card_link_params
from ui.loop import plan_form

oc = figures(oc)  # figures memoised per input (ui.cache.figure)

f = page_frame("Overview", "The health of your customer relationships at a glance: each card compares the "
               "last two full periods and links to its details.")
k = call(profile.kpis, f).row(0, named=True)
if not k["touchpoints"]:
    st.info("No touchpoint matches the filters: widen the date range or clear a filter in the sidebar.")
    st.stop()

period = st.segmented_control("Compare", ["month", "week"], default="month", key="period",
                              bind="query-params", help="Each card compares the last two full periods.") or "month"
sc = call(overview.scorecard, period=period, filters=f)
shown = sc["period"][0]
when = (f"{shown:%B %Y}" if period == "month" else f"week of {shown:%d %b %Y}") if shown else "–"
st.caption(f"Last full {period}: **{when}**, compared with the {period} before. Data from {fmt_date(k['first'])} "
           f"to {fmt_date(k['last'])}; {k['customers']:,} customers, {k['touchpoints']:,} touchpoints.")

STATUS = {"improving": ("green", ":material/trending_up:"), "declining": ("red", ":material/trending_down:"),
          "steady": ("gray", ":material/trending_flat:"), "few": ("gray", ":material/more_horiz:"),
          "unknown": ("gray", ":material/help:")}
rows = list(sc.iter_rows(named=True))
for chunk in (rows[:4], rows[4:]):  # the loop (activity, retention, repeat) then what customers say and are worth
    cols = st.columns(len(chunk))
    for col, r in zip(cols, chunk):
        with col:
            hint = glossary.help_text(r["key"]) or glossary.help_text("scorecard")
            if r["needs"]:
                st.metric(r["label"], "–", help=hint, border=True)
                st.caption(f"Needs {r['needs']}.")
                continue
            real = r["status"] in ("improving", "declining")  # coloured only when beyond chance
            delta = overview.fmt_delta(r["unit"], r["delta"], r["margin"]) if r["status"] != "few" else None
            spark = [v for v in r["spark"] if v is not None]
            st.metric(r["label"], overview.fmt(r["unit"], r["value"]), delta=delta,
                      delta_color="normal" if real else "off", delta_arrow="auto" if real else "off",
                      help=hint, border=True, chart_data=spark if len(spark) > 1 else None, chart_type="line")
            if r["note"]:
                st.caption(md_escape(r["note"]), help=glossary.help_text("change_test"))
            page_link(f"views/{r['page']}.py", label="Details", icon=":material/arrow_forward:",
                      query_params=card_link_params(r["key"], period, r["period"]) if r["period"] else None)
            if r["status"] == "declining" and r["key"] in ("nps", "csat", "ces") and on_duckdb():  # closed loop
                plan_form(f"ov_plan_{r['key']}", f"Bring {r['label']} back up", "kpi", r["key"], r["previous"],
                          "overview")

st.subheader("The four core elements")
el = overview.core_elements(sc)
cols = st.columns(4)
for col, r in zip(cols, el.iter_rows(named=True)):
    with col:
        color, icon = STATUS[r["status"]]
        st.markdown(f"**{r['element']}**")
        st.badge(r["status"], color=color, icon=icon, help=glossary.help_text("core_elements"))
        st.caption(r["sentence"])

st.subheader("What changed")
mv = call(overview.movers, period=period, filters=f)
sig = mv.filter(mv["significant"]) if mv.height else mv
if sig.height:
    st.markdown("\n".join(f"- {md_escape(s)}" for s in sig["sentence"].to_list()), help=glossary.help_text("movers"))
elif mv.height:
    st.markdown(md_escape(overview.nothing_changed(period, shown)), help=glossary.help_text("movers"))
else:
    st.caption("Not enough full periods to compare yet.")

st.subheader("Activity")
left, right = st.columns(2)
with left:
    chart(oc.activity_lines(call(profile.activity, f, period=period), period=period), key="ov_activity",
          caption="Active customers: customers who did something themselves that period (touchpoints not marked "
                  "outbound). Revenue: sum of amounts, refunds negative. Hollow points: partial periods.",
          help=glossary.help_text("active_customers"))
with right:
    chart(oc.stage_bars(call(profile.by_stage, f)), key="ov_stages",
          caption="Customers with at least one touchpoint in each stage of the loop "
                  "(discover → consider → evaluate → purchase → use). Reaching the purchase stage (a cart, a "
                  f"checkout step) is not buying: {k['purchasers']:,} customers made a purchase.",
          help=glossary.help_text("stage_reach"))

# -- the closed loop (cx.cases): who owns what is being done ------------------------------------------------
if on_duckdb():
    from cx import cases
    from cx.cases import plans as cplans
    from ui.loop import loop_call

    st.subheader("What is being done")
    allc = loop_call(cases.cases)
    urgent = allc.filter(pl.col("open")).sort(["overdue", "due_at"], descending=[True, False])
    st.caption(f"{urgent.height:,} open cases, {int(urgent['overdue'].sum()) if urgent.height else 0:,} overdue "
               "(opened by rules: detractors, low scores, incidents without follow-up, valuable customers at risk).")
    for r in urgent.head(5).iter_rows(named=True):  # five links
        page_link("views/cases.py", label=f"Case {r['id']}: {md_escape(cases.REASONS[r['reason']].label)}, "
                  f"{md_escape(r['owner'] or '–')}" + (" · overdue" if r["overdue"] else ""),
                  icon=":material/task_alt:", query_params={"case": str(r["id"])})
    op = loop_call(cplans.plans, status="open")
    if op.height:
        st.markdown("**Open action plans**")
        st.dataframe(op.select("title", "owner", "due_date", "overdue", "link_kind", "link_value", "target")
                     .with_columns(pl.col("link_kind").replace_strict(cplans.LINKS, default=pl.col("link_kind"))),
                     hide_index=True, placeholder="–", column_config={
                         "title": st.column_config.TextColumn("plan", width="large"),
                         "due_date": st.column_config.DateColumn("due", format="YYYY-MM-DD"),
                         "link_kind": "moves a", "link_value": "which",
                         "target": st.column_config.NumberColumn(format="%.2f")})
