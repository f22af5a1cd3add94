"""Cases: the closed loop. An inbox of cases opened by rules (by owner, status, reason and age), each
case followed until it is done; did it work; action plans; alerts and targets; rules and channels; the
leadership digest."""
from datetime import date, datetime

import polars as pl
import streamlit as st

from cx import cases, overview
from cx.cases import alerts, channels, digest, outcomes
from cx.cases import plans as cplans
from cx.charts import cases as cc
from ui import chart, current_dataset, duckdb_only, figures, get_store, md_escape, page_frame, page_link, table
from ui.loop import actor_box, current_team, current_user, loop_call, saw, seen

cc = figures(cc)
f = page_frame("Cases", "The closed loop: every detractor, low score, incident without follow-up, valuable customer "
               "at risk and negative comment becomes a case with an owner and a due date, followed until it is "
               "done; and whether doing so worked.")
if duckdb_only("The closed loop"):
    st.stop()
store, ds = get_store(), current_dataset()
if st.session_state.pop("cs_flash", None):
    st.toast("Saved.", icon=":material/check:")
now = datetime.utcnow().replace(second=0, microsecond=0)
allc = loop_call(cases.cases, now=now)
actor_box(sorted({*allc["owner"].drop_nulls().unique().to_list(), cases.DEFAULT_OWNER}))
me, team = current_user(), current_team()
REASON_LABELS = cases.REASON_LABELS


def _guarded(fn, *a, seen_key: str | None = None, **k):
    """Run a change; a stale version or a bad input becomes its message (nothing else happens). With
    `seen_key`, the version this session holds is renewed after the save, or offered for reload."""
    try:
        out = fn(*a, **k)
        if seen_key is not None and isinstance(out, int):
            saw(seen_key, out)
            st.session_state["cs_flash"] = "Saved."
            st.rerun()  # show what is saved now
        return out
    except cases.StaleVersion as e:
        st.error(md_escape(e), icon=":material/sync_problem:")
        if seen_key is not None:
            saw(seen_key, None)  # the next run shows (and holds) what is saved now
    except Exception as e:  # noqa: BLE001 - a CXError says what to fix
        st.warning(md_escape(e))
    return None


def inbox_tab():
    if allc.height == 0:  # say why, rather than an empty table
        skipped = loop_call(cases.last_run).get("skipped") or {}
        st.info("No case yet: the rules open one when the data brings a detractor, a low CSAT, high effort, an "
                "incident without follow-up, a valuable customer at risk or a negative comment."
                + (" On this dataset these rules cannot run: " + "; ".join(
                    f"{cases.reason_label(k)} needs {why}" for k, why in skipped.items()) + "." if skipped else ""))
        return
    n = allc.filter(pl.col("open"))
    st.caption(f"{n.height:,} open cases, {int(n['overdue'].sum()):,} overdue (past their SLA: escalated to "
               f"{md_escape(loop_call(cases.owners)[0]['escalation_owner'])}); {allc.height:,} cases in all.")
    c1, c2, c3, c4 = st.columns([1, 1.4, 1.2, 0.8])  # two status chips fit uncut
    owners = sorted(allc["owner"].drop_nulls().unique().to_list())
    who = c1.multiselect("Owner", owners, key="cs_owner", bind="query-params", placeholder="all")
    status = c2.multiselect("Status", list(cases.STATUSES), default=list(cases.OPEN), key="cs_status", bind="query-params",
                            format_func=cases.STATUS_LABELS.get)
    reason = c3.multiselect("Reason", list(cases.REASONS), key="cs_reason", bind="query-params", placeholder="all",
                            format_func=lambda k: cases.REASONS[k].label)
    age = c4.selectbox("Age", list(cases.AGES), key="cs_age", bind="query-params")
    t1, t2, t3 = st.columns(3)
    mine = t1.toggle("My cases", key="cs_mine", bind="query-params", disabled=not me, help="Cases assigned to you (your name in the sidebar).")
    ours = t2.toggle("My team's cases", key="cs_team", bind="query-params", disabled=not team, help="Cases owned by your team.")
    late = t3.toggle("Overdue only", key="cs_late", bind="query-params")
    v, by = cases.inbox(allc, who, status, reason, age, assignee=me if mine else None, team=team if ours else None,
                        overdue_only=late)
    with st.expander(f"By owner ({by.height})"):
        table(by, "cs_by_owner", title="Cases by owner", file_name="cases_by_owner.csv")
    shown = v.head(1000).select("id", "customer_id", "reason", "status", "owner", "assignee", "priority", "overdue",
                                "age_days", "due_at", "detail", "version")
    ev = st.dataframe(shown.drop("version").with_columns(
        pl.col("reason").replace_strict(REASON_LABELS, default=pl.col("reason")),
        pl.col("status").replace_strict(cases.STATUS_LABELS, default=pl.col("status"))), hide_index=True, height=320,
        key="cs_table", on_select="rerun", selection_mode="multi-row", placeholder="–",
        column_config={"id": st.column_config.NumberColumn("case", format="%d"), "customer_id": "customer",
                       "age_days": st.column_config.NumberColumn("age (days)", format="%.1f"),
                       "due_at": st.column_config.DatetimeColumn("due (UTC)", format="YYYY-MM-DD HH:mm"),
                       "detail": st.column_config.TextColumn(width="large")})
    st.caption(f"{v.height:,} cases match" + (" (the first 1,000 shown; the CSV has them all)" if v.height > 1000 else "")
               + ". Tick rows to assign them together; pick one below to work on it.")
    picked = [shown["id"][i] for i in (ev.selection.rows if ev else [])]
    from cx.export import to_csv_bytes

    st.download_button("Export these cases (CSV)", lambda: to_csv_bytes(v.drop("open")), file_name="cases.csv",
                       mime="text/csv", key="cs_csv", icon=":material/download:", on_click="ignore")
    if picked:
        with st.form("cs_bulk"):
            st.markdown(f"**Assign {len(picked)} case(s)**")
            b1, b2 = st.columns(2)
            to = b1.text_input("Assignee", key="cs_bulk_to")
            own = b2.selectbox("Owner", ["(keep)", *owners], key="cs_bulk_owner")
            if st.form_submit_button("Assign", type="primary"):
                sel = shown.filter(pl.col("id").is_in(picked))
                vers = {i: seen(f"case{i}", v) for i, v in zip(sel["id"].to_list(), sel["version"].to_list())}
                r = _guarded(cases.bulk_update, store, ds, vers, me or "", assignee=to,
                             owner=None if own == "(keep)" else own)
                if r:
                    for i in r[0] + [i for i, _ in r[1]]:
                        saw(f"case{i}", None)  # read again: saved ones moved on, refused ones are shown as they are
                    st.success(f"{len(r[0])} case(s) saved." + (f" {len(r[1])} refused: {md_escape(r[1][0][1])}"
                                                               if r[1] else ""))
    case_panel(v)


def case_panel(v):
    ids = v["id"].head(1000).to_list()
    want = st.query_params.get("case")
    if want and want.isdigit() and int(want) not in ids and int(want) in allc["id"].to_list():
        ids = [int(want), *ids]
    if not ids:
        st.info("No case matches these filters.")
        return
    default = int(want) if want and want.isdigit() and int(want) in ids else ids[0]
    about = {r["id"]: f"{r['id']} · {REASON_LABELS.get(r['reason'], r['reason'])} · customer {r['customer_id']} · "
             f"{cases.STATUS_LABELS[r['status']]}" for r in allc.filter(pl.col("id").is_in(ids))
             .select("id", "reason", "customer_id", "status").iter_rows(named=True)}
    cid = st.selectbox("Case", ids, index=ids.index(default), key=f"cs_pick_{want}", format_func=about.get)
    if str(cid) != want:
        st.query_params["case"] = str(cid)
    c = allc.filter(pl.col("id") == cid).row(0, named=True)
    with st.container(border=True):
        st.markdown(f"**Case {c['id']} · {md_escape(cases.REASONS[c['reason']].label)}** · customer "
                    f"{md_escape(c['customer_id'])} · {cases.STATUS_LABELS[c['status']]}"
                    + (" · **overdue**" if c["overdue"] else ""))
        page_link("views/customer.py", label="Open the customer view", icon=":material/person_search:",
                  query_params={"customer": c["customer_id"]})
        st.caption(f"{md_escape(c['detail'] or '')} — happened {c['event_at']:%Y-%m-%d}; opened "
                   f"{c['opened_at']:%Y-%m-%d %H:%M}; due {c['due_at']:%Y-%m-%d %H:%M} UTC; owner "
                   f"{md_escape(c['owner'] or '–')}; assignee {md_escape(c['assignee'] or '–')}; priority {c['priority']}"
                   + (f"; escalated to {md_escape(c['escalated_to'])}" if c["escalated_to"] else "") + ".")
        with st.form(f"cs_edit_{cid}"):
            e1, e2, e3 = st.columns(3)
            moves = [c["status"], *cases.MOVES[c["status"]]]
            status = e1.selectbox("Status", moves, format_func=cases.STATUS_LABELS.get, key=f"cs_st_{cid}")
            assignee = e2.text_input("Assignee", value=c["assignee"] or "", key=f"cs_as_{cid}")
            prio = e3.selectbox("Priority", list(cases.PRIORITIES), index=list(cases.PRIORITIES).index(c["priority"]),
                                key=f"cs_pr_{cid}")
            note = st.text_area("Note", key=f"cs_note_{cid}", height=68)
            ver = seen(f"case{cid}", c["version"])
            if st.form_submit_button("Save", type="primary"):
                _guarded(cases.update_case, store, ds, cid, ver, me or "", status=status, assignee=assignee,
                         priority=prio, note=note, seen_key=f"case{cid}")
        h = loop_call(cases.history, obj="case", object_id=cid)
        lab = lambda c: pl.when(pl.col("field") == "status").then(  # noqa: E731
            pl.col(c).replace_strict(cases.STATUS_LABELS, default=pl.col(c))).otherwise(pl.col(c))
        h = h.with_columns(lab("old"), lab("new"), pl.col("field").str.replace_all("_", " "))
        table(h.drop("object_id"), f"cs_hist_{cid}", title=f"History of case {cid}", file_name=f"case_{cid}.csv",
              caption="Every change: who, when, what.")


def worked_tab():
    r = loop_call(outcomes.did_it_work, now=now)
    sp = r["speed"]
    if not sp.height:
        st.info("No case yet: the rules open them when data arrives (Rules & channels).")
        return
    pct = lambda v: "–" if v is None else f"{100 * v:.0f}%"  # noqa: E731
    speed_shown = pl.DataFrame([{
        "reason": r["label"], "cases": f"{r['cases']:,}", "open (overdue)": f"{r['open']:,} ({r['overdue']:,})",
        "resolved": f"{r['resolved']:,}", "won't fix": f"{r['wont_fix']:,}",
        "first action (median hours)": "–" if r["hours_to_first_action"] is None else f"{r['hours_to_first_action']:.1f}",
        "closed within SLA (95% interval)": (f"{r['closed_in_sla']:,} of {r['due']:,}: {pct(r['share_in_sla'])} "
                                             f"({pct(r['sla_low'])}–{pct(r['sla_high'])})" if r["due"] else "none due yet")}
        for r in sp.iter_rows(named=True)])
    table(sp.drop("reason"), "cs_speed", title="Speed per reason", file_name="case_speed.csv", shown_as=speed_shown,
          caption="Time to first action: median hours from opening to the first change by a person. Closed within "
                  "SLA: of the cases due by now (or closed), those closed by their due time, with a 95% interval.")
    st.markdown(f"**Resolved against not resolved** ({r['cases_compared']:,} cases whose {r['window_days']} days "
                "after opening lie within the data)")
    o = r["outcomes"].with_columns(label=pl.col("reason").replace_strict(REASON_LABELS, default=pl.col("reason")))
    strong = o.filter(pl.col("significant").fill_null(False))
    for s in strong["sentence"].to_list():
        st.markdown(f"- {md_escape(s)}")
    st.caption(("No difference is beyond chance. " if not strong.height else "The other comparisons could be chance "
                "or have too few cases: ") + "every comparison is in the table below. Who gets resolved is not random "
               "(a reachable, still-engaged customer is easier to resolve), so a difference is an association, not "
               "proof that resolving caused it.")
    chart(cc.outcome_bars(o.with_columns(reason=pl.col("label"))), key="cs_outcomes",
          caption="Each bar: the difference resolved − not resolved, in percentage points, with its 95% interval; a "
                  "whisker across zero could be chance.")
    num = lambda v, d=0: "–" if v is None else f"{v:.{d}f}".replace("-", "−")  # noqa: E731
    shown = pl.DataFrame([{
        "reason": x["label"], "outcome": outcomes.OUTCOME_LABELS[x["outcome"]] + ("" if x["outcome"] == "next_score"
                                                                                  else " (%)"),
        "resolved": f"{num(x['resolved_value'], 1 if x['outcome'] == 'next_score' else 0)} (n = {x['resolved_n']:,})",
        "not resolved": f"{num(x['other_value'], 1 if x['outcome'] == 'next_score' else 0)} (n = {x['other_n']:,})",
        "difference (95% interval)": "–" if x["difference"] is None else (
            f"{'+' if x['difference'] >= 0 else ''}{num(x['difference'], 1)} ({num(x['low'], 1)} to {num(x['high'], 1)})"),
        "p": "–" if x["p_value"] is None else ("< 0.001" if x["p_value"] < 0.001 else f"{x['p_value']:.3f}"),
        "verdict": _verdict(x)} for x in o.iter_rows(named=True)])
    table(o.drop("label"), "cs_outcome_table", title="Outcomes, resolved against not resolved",
          file_name="case_outcomes.csv", shown_as=shown)


def _verdict(x: dict) -> str:
    if x["difference"] is None:
        return "not enough cases"
    if x["significant"]:
        return "beyond chance (an association)"
    return "too few cases to tell" if "Too few" in x["sentence"] else "could be chance"


def plans_tab():
    p = loop_call(cplans.plans)
    if not p.height:
        st.info("No action plan yet. Create one from “fix first” on Key drivers, the inconsistent department on Teams, "
                "a declining card on the Overview, or below.")
    else:
        titles = dict(zip(p["id"].to_list(), p["title"].to_list()))
        pid = st.selectbox("Plan", p["id"].to_list(), key="cs_plan", bind="query-params",
                           format_func=titles.get)  # plain text, not Markdown
        row = p.filter(pl.col("id") == pid).row(0, named=True)
        pr = loop_call(cplans.progress_of, plan_id=pid)
        st.markdown(f"**{md_escape(row['title'])}** · owner {md_escape(row['owner'])} · due {row['due_date']} · "
                    f"{row['status']}" + (" · **overdue**" if row["overdue"] else ""))
        st.markdown(md_escape(pr["sentence"]))
        chart(cc.plan_chart(pr["series"], row, pr["baseline"].value, pr["current"].value), key="cs_plan_chart",
              caption="The plan's metric per month (bars: 95% intervals); the dotted line is the target; the shaded "
                      "area is the time since the plan started.")
        with st.form(f"cs_plan_edit_{pid}"):
            a1, a2 = st.columns(2)
            stt = a1.selectbox("Status", list(cplans.PLAN_STATUSES), index=list(cplans.PLAN_STATUSES).index(row["status"]))
            note = a2.text_input("Note")
            ver = seen(f"plan{pid}", row["version"])
            if st.form_submit_button("Save"):
                _guarded(cplans.update_plan, store, ds, pid, ver, me or "", status=stt, note=note, seen_key=f"plan{pid}")
    two = st.column_config.NumberColumn(format="%.2f")
    first = ["id", "title", "owner", "due_date", "status", "overdue", "metric", "baseline", "target"]
    table(p.drop("version").select(*first, pl.exclude(first)).with_columns(pl.col("metric").replace_strict(
              {k: v[0] for k, v in cplans.METRICS.items()}, default=pl.col("metric"))), "cs_plans",
          title="Action plans", file_name="plans.csv", baseline=two, target=two, id=st.column_config.NumberColumn(
              "plan", format="%d"))


def alerts_tab():
    ev = loop_call(alerts.inbox)
    if st.button("Check the alerts now", key="cs_run_alerts", icon=":material/notifications:"):
        r = _guarded(alerts.run_alerts, store, ds)
        if r:
            st.success(f"{r['fired']} firing, {len(r['new'])} new; delivery: {channels.describe(r['delivery'])}.")
    if ev.height:
        table(ev, "cs_inbox", title="Alerts", file_name="alerts.csv", caption="The in-app inbox: each alert once.")
    else:
        st.info("No alert has fired yet. The rules below are checked after every import, by `python -m cx alerts` "
                "(cron) and by the button above.")
    dl = loop_call(channels.deliveries)
    if dl.height:
        table(dl, "cs_deliveries", title="Deliveries", file_name="deliveries.csv",
              caption="One row per alert and channel: sent, failed (retried on the next run), unknown.")
    tgt, tv = loop_call(alerts.targets)
    st.markdown("**Targets** (a goal line on each KPI's chart)")
    tdf = pl.DataFrame({"kpi": [c.key for c in overview.CARDS], "label": [c.label for c in overview.CARDS],
                        "target": [tgt.get(c.key) for c in overview.CARDS]}, schema_overrides={"target": pl.Float64})
    ed = st.data_editor(tdf, key=f"cs_tgt_{tv}", hide_index=True, disabled=["kpi", "label"])
    if st.button("Save targets", key="cs_tgt_save"):
        _guarded(alerts.save_targets, store, ds, dict(zip(ed["kpi"].to_list(), ed["target"].to_list())),
                 seen("targets", tv), me or "", seen_key="targets")
    rules, rv = loop_call(alerts.alert_rules)
    st.markdown("**Alert rules**")
    rdf = pl.DataFrame(rules or [], schema={"kind": pl.Utf8, "kpi": pl.Utf8, "period": pl.Utf8, "value": pl.Utf8})
    red = st.data_editor(rdf.cast(pl.Utf8), key=f"cs_rules_{rv}", hide_index=True, num_rows="dynamic", column_config={
        "kind": st.column_config.SelectboxColumn(options=list(alerts.KINDS), required=True),
        "kpi": st.column_config.SelectboxColumn(options=[c.key for c in overview.CARDS], required=True),
        "period": st.column_config.SelectboxColumn(options=list(overview.PERIODS))})
    if st.button("Save alert rules", key="cs_rules_save"):
        _guarded(alerts.save_alert_rules, store, ds, [r for r in red.to_dicts() if r.get("kind")],
                 seen("alert_rules", rv), me or "", seen_key="alert_rules")


def rules_tab():
    rs, rv = loop_call(cases.rules)
    st.markdown("**Case rules** (per dataset): SLA in days, priority, how far back a run looks, and each rule's own "
                "parameter (the score at or below which it opens a case, the follow-up window, the cool-down).")
    rdf = pl.DataFrame([{"rule": k, "label": cases.REASONS[k].label, **{x: v.get(x) for x in
                                                                       ("enabled", "sla_days", "priority", "lookback_days")},
                         "parameter": ", ".join(f"{p}={v[p]:g}" for p in cases.REASONS[k].params)} for k, v in rs.items()])
    ed = st.data_editor(rdf, key=f"cs_crules_{rv}", hide_index=True, disabled=["rule", "label", "parameter"],
                        column_config={"priority": st.column_config.SelectboxColumn(options=list(cases.PRIORITIES))})
    if st.button("Save the rules", key="cs_crules_save"):
        new = {r["rule"]: {k: r[k] for k in ("enabled", "sla_days", "priority", "lookback_days")} for r in ed.to_dicts()}
        _guarded(cases.save_setting, store, ds, "rules", new, seen("rules", rv), me or "", seen_key="rules")
    if st.button("Run the rules now", key="cs_evaluate", icon=":material/play_arrow:"):
        r = _guarded(cases.evaluate, store, ds)
        if r:
            st.success(md_escape(r.summary()))
    own, ov = loop_call(cases.owners)
    with st.form("cs_owners"):
        o1, o2 = st.columns(2)
        d_own = o1.text_input("Default owner (no department known)", value=own["default_owner"])
        e_own = o2.text_input("Overdue cases escalate to", value=own["escalation_owner"])
        if st.form_submit_button("Save owners"):
            _guarded(cases.save_setting, store, ds, "owners", {**own, "default_owner": d_own, "escalation_owner": e_own},
                     seen("owners", ov), me or "", seen_key="owners")
    cfg, cv = loop_call(channels.config)
    with st.form("cs_channels"):
        st.markdown("**Channels** (for every dataset; the SMTP password comes from $CX_SMTP_PASSWORD)")
        url = st.text_input("Webhook URL (Slack or Teams incoming webhook)", value=(cfg.get("webhook") or {}).get("url", ""))
        em = cfg.get("email") or {}
        h1, h2, h3 = st.columns([3, 1, 1])
        host = h1.text_input("SMTP host", value=em.get("host", ""))
        port = h2.number_input("Port", value=int(em.get("port", 25)), step=1)
        tls = h3.checkbox("STARTTLS", value=bool(em.get("starttls")))
        s1, s2, s3 = st.columns(3)
        sender = s1.text_input("From", value=em.get("sender", ""))
        to = s2.text_input("To (comma-separated)", value=", ".join(em.get("to", [])))
        user = s3.text_input("SMTP user (optional)", value=em.get("user") or "")
        if st.form_submit_button("Save channels"):
            _guarded(channels.save_config, store, {"webhook": {"url": url}, "email": {
                "host": host, "port": port, "starttls": tls, "sender": sender, "to": to, "user": user}},
                seen("channels", cv), me or "", seen_key="channels")


def digest_tab():
    period = st.segmented_control("Period", ["week", "month"], default="week", key="cs_dg_period", bind="query-params") or "week"
    g = loop_call(digest.build, period=period, now=now)
    d1, d2, d3 = st.columns(3)
    d1.download_button("Digest (HTML)", digest.html_page(g), file_name=f"digest_{period}.html", mime="text/html",
                       key="cs_dg_html", icon=":material/download:", on_click="ignore")
    d2.download_button("Digest (text)", digest.text(g), file_name=f"digest_{period}.txt", mime="text/plain",
                       key="cs_dg_txt", icon=":material/download:", on_click="ignore")
    if d3.button("Send it now", key="cs_dg_send", icon=":material/send:"):
        r = _guarded(digest.send, store, g)
        if r:
            st.success(f"Digest: {channels.describe(r)}.")
    st.code(digest.text(g), language=None, wrap_lines=True)


tabs = st.tabs(["Inbox", "Did it work?", "Plans", "Alerts & targets", "Rules & channels", "Digest"], key="tab",
               bind="query-params")
for tab, draw in zip(tabs, (inbox_tab, worked_tab, plans_tab, alerts_tab, rules_tab, digest_tab)):
    with tab:
        if tab.open is not False:
            draw()
st.caption(f"Today is {date.today():%d %b %Y}; times are UTC.")
