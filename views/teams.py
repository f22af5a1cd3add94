"""Teams: departments and employees — satisfaction, effort, resolution, incidents and consistency."""
import polars as pl
import streamlit as st

from cx import coverage, glossary, teams
from cx.charts import teams as charts
from ui import call, chart, clicked_points, figures, md_escape, on_duckdb, page_frame, table
from ui.loop import plan_form

charts = figures(charts)  # figures memoised per input (ui.cache.figure)

f = page_frame("Teams", "The people who deliver the experience: satisfaction (CSAT), effort (CES), first-contact "
               "resolution and incidents per department and per employee, and how consistent service is.")


min_n = st.number_input("Minimum answers to rank an employee", 5, 200, teams.MIN_N, step=5, key="tm_min_n",
                        bind="query-params", help="Employees with fewer CSAT answers are shown but not ranked: small samples "
                             "would otherwise rank first by luck.")
rep = call(teams.report, min_n=int(min_n), filters=f)
d, cons, e = rep["departments"], rep["consistency"], rep["employees"]
links = call(teams.link_summary, filters=f)
if d.height == 0:  # no department anywhere (or none under the filters): say what is needed, show no "none" or 0%
    need = call(coverage.capabilities).filter(pl.col("figure") == "Departments")["needs"][0]
    st.info(f"Teams needs {need} (who handled each contact): this dataset's touchpoints have none. Map one on the "
            "Data page." if need else "No touchpoint with a department matches the filters: widen them in the sidebar.")
    st.stop()

c1, c2, c3 = st.columns(3)
flagged = cons["inconsistent"]
c1.metric("Inconsistent department", md_escape(flagged) if flagged else "none",
          help=glossary.help_text("consistency_flag"))
if flagged:
    c1.caption(f"employee CSAT sd {cons['inconsistent_employee_sd']:.2f} vs "
               f"{cons['others_median_employee_sd']:.2f} (median of the others)")
    if on_duckdb():  # the closed loop: an owned action on the inconsistent department
        with c1:
            plan_form("tm_plan", f"Bring {flagged} to one standard", "department", flagged,
                      cons["others_median_employee_sd"], "teams", metric="employee_sd", owner=flagged)
sd = cons["csat_sd_across_departments"]
c2.metric("CSAT spread across departments", f"{sd:.2f}" if sd is not None else "–",
          help=glossary.help_text("csat_spread"))
tot = links.select(pl.col("answers").sum(), pl.col("with_department").sum())
share = tot["with_department"][0] / tot["answers"][0] if tot["answers"][0] else None
c3.metric("CSAT/CES answers linked to a team", f"{share:.0%}" if share is not None else "–",
          help=glossary.help_text("linked_feedback") + " Answers about a touchpoint no department handles (e.g. "
               "checkout) stay out.")

st.subheader("Departments")
sel = {}
cols = st.columns(2)
for i, (value, kind) in enumerate([("csat_mean", "feedback"), ("employee_sd", "feedback"),
                                   ("resolution_rate", "unresolved"), ("incident_rate", "incidents")]):
    with cols[i % 2]:
        ev = chart(charts.department_bars(d, value), key=f"tm_{value}", on_select="rerun",
                   selection_mode="points")
        pts = clicked_points(ev)
        if pts and st.session_state.get(f"tm_{value}_last") != repr(pts):  # a new click (once per click)
            st.session_state[f"tm_{value}_last"] = repr(pts)
            sel = {"department": pts[0].get("x"), "kind": kind}
st.caption("Bars: the departments' mean CSAT with its 95% interval; the spread of CSAT between a department's "
           "employees (red = flagged inconsistent); first-contact resolution (inbound contacts not followed by "
           f"another contact with the same department within {teams.RESOLUTION_DAYS} days); incident rate (share "
           "of the department's touchpoints with an incident). Click a bar to list its customers.",
           help=" ".join(glossary.help_text(k) for k in ("team_csat", "employee_sd", "resolution_rate",
                                                         "incident_rate")))
with st.expander("All department numbers"):
    table(d, "tm_departments", title="Departments", file_name="departments.csv", **{
        c: st.column_config.NumberColumn(format="percent")
        for c in ("incident_rate", "resolution_rate", "csat_top2", "ces_easy") if c in d.columns})

st.subheader("Employees")
chart(charts.employee_dots(e, flagged=flagged), key="tm_employees",
      caption="One dot per employee: mean CSAT with its 95% interval (the whisker); filled = ranked (enough "
              f"answers), hollow = fewer than {int(min_n)} answers; the black dash is the shrunk mean (pulled "
              "towards the department mean the more, the fewer the answers). A wide column means inconsistent "
              "service.", help=glossary.help_text("employee_shrunk_mean"))
deps = ["all", *sorted(e["department"].unique().to_list())]
dep_pick = st.selectbox("Department", deps, key="tm_dep", bind="query-params")
show = e if dep_pick == "all" else e.filter(pl.col("department") == dep_pick)
table(show.select("rank", "employee_id", "department", "csat_n", "csat_mean", "csat_ci_low", "csat_ci_high",
                  "csat_shrunk", "ces_n", "ces_mean", "contacts", "resolution_rate", "touchpoints",
                  "incident_rate", "ranked"), "tm_employee_table", title="Employees",
      caption="Ranked by the shrunk (empirical-Bayes) mean CSAT among employees with enough answers; the rest are "
              "listed after them, unranked.", file_name="employees.csv", height=300,
      csat_mean=st.column_config.NumberColumn(format="%.2f"),
      csat_ci_low=st.column_config.NumberColumn("95% low", format="%.2f"),
      csat_ci_high=st.column_config.NumberColumn("95% high", format="%.2f"),
      csat_shrunk=st.column_config.NumberColumn("shrunk CSAT", format="%.2f",
                                                help=glossary.help_text("employee_shrunk_mean")),
      ces_mean=st.column_config.NumberColumn(format="%.2f"),
      resolution_rate=st.column_config.NumberColumn(format="percent"),
      incident_rate=st.column_config.NumberColumn(format="percent"))

st.subheader("Customers behind a bar")
if sel.get("department") in d["department"].to_list():
    st.session_state["tm_drill_dep"] = sel["department"]
    st.session_state["tm_drill_kind"] = sel["kind"]
k1, k2, k3 = st.columns(3)
dep = k1.selectbox("Department", d["department"].drop_nulls().to_list(), key="tm_drill_dep", bind="query-params")
emps = ["all", *e.filter(pl.col("department").eq_missing(dep))["employee_id"].drop_nulls().sort().to_list()]
if st.session_state.get("tm_drill_emp") not in emps:
    st.session_state.pop("tm_drill_emp", None)
emp = k2.selectbox("Employee", emps, key="tm_drill_emp", bind="query-params")
kind = k3.selectbox("Customers who", list(teams.KINDS), key="tm_drill_kind", bind="query-params",
                    format_func={"feedback": "rated it (CSAT/CES)", "contacts": "contacted it",
                                 "unresolved": "contacted it again within 7 days",
                                 "incidents": "had an incident there"}.get)
cust = call(teams.team_members, dep, None if emp == "all" else emp, kind=kind, filters=f)
st.metric("Customers", f"{cust.height:,}", help=glossary.help_text("team_customers"))
table(cust, "tm_customers", title=f"Customers of {dep} ({kind})", file_name=f"{dep}_{kind}.csv", links=True,
      height=300)
