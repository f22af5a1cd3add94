"""Customer view (customer 360): one customer's whole story across channels."""
import polars as pl
import streamlit as st

import cx
from cx import clv, glossary, loyalty
from cx import customer as cu
from cx.charts import value as vc
from ui import call, chart, current_dataset, figures, fmt_date, fmt_money, md_escape, page_frame, table

vc = figures(vc)  # figures memoised per input (ui.cache.figure)

page_frame("Customer view", "One customer's whole story: every touchpoint across channels, their purchases, "
           "incidents and answers, and what they are worth. Open it from any customer list, or search below.")
st.caption("This view shows the customer's full history: the sidebar's date and channel filters do not apply.")

wanted = st.query_params.get("customer")
c1, c2 = st.columns([2, 3])
query = c1.text_input("Find a customer by id", value="", key="cu_query", placeholder="type part of an id…")
found = call(cu.search, query, 50)
options = found["customer_id"].to_list()
if wanted and wanted not in options:
    options = [wanted, *options]
if not options:
    st.info(f"No customer id contains “{md_escape(query)}”.")
    st.stop()
picked = c2.selectbox("Customer", options, index=options.index(wanted) if wanted in options else 0,
                      key=f"cu_pick_{wanted}",
                      help="The most active customers matching the search; the link keeps the one you pick.")
if picked != wanted:
    st.query_params["customer"] = picked  # a copied link opens this customer

if not call(cu.exists, picked):
    st.warning(f"There is no customer “{md_escape(picked)}” in this dataset.")
    st.stop()

prof = call(cu.profile, picked)
tl = call(cu.timeline, picked)
fb = call(cu.feedback, picked)
attrs = prof["attributes"]

st.subheader(f"Customer {md_escape(picked)}")


ONE_TIME = ("BG/NBD assumes a customer can drop out only right after a purchase that repeats an earlier one, so "
            "a customer with a single purchase has P(alive) = 100%: not a forecast that they will buy again.")


def card(col, label, value, help_text, needs=None):
    if value is None:
        col.metric(label, "–", help=needs or help_text)
        if needs:
            col.caption(needs)
    else:
        col.metric(label, md_escape(value), help=help_text)  # persona, segment: data


# value cards: CLV and P(alive) from the whole-dataset model (no filters)
value_row = None
value_needs = money_needs = None
try:
    vm = call(clv.customer_value)
    hit = vm.customers.filter(pl.col("customer_id") == picked)
    value_row = hit.row(0, named=True) if hit.height else None
    if value_row is None:
        value_needs = "No purchase yet: the purchase model needs at least one purchase."
    if not vm.money:
        money_needs = "Money needs amounts on purchases: this dataset's purchases have none."
except cx.CXError as e:
    value_needs = f"Needs purchases: {md_escape(e)}"
one_time = value_row is not None and value_row["frequency"] == 0

segment = None
segment_needs = "Not in a saved segment (save segments on the Segments page)."
try:
    seg = call(clv.segments_table)
    hit = seg.filter(pl.col("customer_id") == picked)
    segment = hit["segment"][0] if hit.height else None
except Exception:  # noqa: BLE001 - segments are optional
    segment = None

health = None
health_needs = "Needs directions (inbound/outbound) on the interactions."
try:
    rel = call(loyalty.relationship)
    hit = rel.filter(pl.col("customer_id") == picked)
    if hit.height and "health" in hit.columns and hit["health"][0] is not None:
        health = f"{hit['health'][0]:.0f} / 100"
except Exception:  # noqa: BLE001 - relationship health is optional
    health = None

k1, k2, k3 = st.columns(3)
k4, k5, k6 = st.columns(3)
card(k1, "Persona", attrs.get("persona"), "From the customers table.", "Needs a customers table with a persona.")
card(k2, "Segment", segment, "Behavioural segment (Segments page).", segment_needs)
card(k3, "Predicted CLV, 12 months",
     fmt_money(value_row["predicted_clv"]) if value_row and value_row["predicted_clv"] is not None else None,
     "12 months, 10% a year. " + glossary.help_text("predicted_clv"), money_needs or value_needs)
card(k4, "P(alive)", f"{value_row['p_alive']:.0%}" if value_row else None,
     glossary.help_text("p_alive") + (" " + ONE_TIME if one_time else ""), value_needs)
if one_time:
    k4.caption("One purchase so far: the model counts a customer as lost only after a repeat purchase, so "
               "P(alive) is 100% until then. Read it as “not known to have left”.", help=ONE_TIME)
nps = prof.get("nps")
card(k5, "Latest NPS answer", f"{nps['score']:.0f}" if nps else None,
     f"Their latest 'how likely to recommend' answer ({fmt_date(nps['timestamp'].date())})." if nps else "",
     "No NPS answer from this customer.")
card(k6, "Relationship health", health, glossary.help_text("health") or "Two-way dialogue, responsiveness, "
     "exchange of value and recognition, 0–100 (Loyalty & trust page).", health_needs)

f3, f4, f5 = st.columns(3)
f3.metric("Touchpoints", f"{prof['touchpoints']:,}", help=f"Across {prof['channels']} channels.")
f4.metric("Purchases", f"{prof.get('purchases') or 0:,}",
          help="Rows with amount > 0.")
f5.metric("Value to date", fmt_money(prof.get("revenue")), help=glossary.help_text("historical_value"))
st.caption(f"First seen {fmt_date(prof['first_seen'].date())} · last seen {fmt_date(prof['last_seen'].date())} · "
           f"{prof.get('incidents') or 0} incident(s).")

chart(vc.customer_timeline(tl, fb), key="cu_timeline",
      caption="Each dot is a touchpoint on its channel, coloured by journey stage. ◆ purchase, ◇ refund, "
              "✕ incident, ★ feedback answer. Hover for details; drag to zoom into a period.")

left, right = st.columns([3, 2])
with left:
    st.markdown("**Touchpoints** (newest first)")
    table(tl.reverse(), "cu_touchpoints", title=f"Touchpoints of {picked}", file_name=f"customer_{picked}.csv",
          height=320)
with right:
    st.markdown("**Their recent comments**")
    comments = fb.filter(pl.col("comment").is_not_null() & (pl.col("comment") != "")) if fb.height else fb
    if not comments.height:
        st.caption("No comments from this customer.")
    for r in comments.head(6).iter_rows(named=True):  # a handful of comments
        score = "" if r.get("score") is None else f" {r['score']:.0f}"
        st.markdown(f"> {md_escape(r['comment'])}")
        st.caption(f"{md_escape(r['metric'])}{score} · {md_escape(r.get('touchpoint') or '')} · "
                   f"{fmt_date(r['timestamp'].date())}")
    if attrs:
        st.markdown("**Attributes**")
        st.dataframe(pl.DataFrame({"attribute": list(attrs), "value": [str(v) for v in attrs.values()]}),
                     hide_index=True)

# -- the closed loop: this customer's cases (cx.cases) ------------------------------------------------------
st.markdown("**Cases**")
try:
    from cx import cases as _cases
    from ui.loop import loop_call

    mine = loop_call(_cases.cases, customer=picked)
except Exception:  # noqa: BLE001 - a database without the loop's tables (read-only, Spark)
    mine = None
if mine is None or not mine.height:
    st.caption("No case for this customer (cases open by rule: a detractor answer, a low score, an incident "
               "without follow-up ...).")
else:
    from urllib.parse import urlencode

    base = "cases?" + urlencode({"dataset": current_dataset() or ""}) + "&case="
    st.dataframe(mine.select(
        (pl.lit(base) + pl.col("id").cast(pl.Utf8)).alias("case"), "reason", "status", "owner", "assignee",
        "opened_at", "due_at", "overdue", "detail"), hide_index=True, placeholder="–",
        column_config={"case": st.column_config.LinkColumn("case", display_text=r"case=(\d+)"),
                       # the keys stay the values (and the CSV's); the table shows their labels
                       "reason": st.column_config.SelectboxColumn(
                           width="medium", options=list(_cases.REASONS),
                           format_func=lambda k: _cases.REASONS[k].label if k in _cases.REASONS else k),
                       "status": st.column_config.SelectboxColumn(options=list(_cases.STATUSES),
                                                                  format_func=_cases.STATUS_LABELS.get),
                       "opened_at": st.column_config.DatetimeColumn("opened (UTC)", format="YYYY-MM-DD HH:mm"),
                       "due_at": st.column_config.DatetimeColumn("due (UTC)", format="YYYY-MM-DD HH:mm")})
