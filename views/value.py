"""Value: lifetime value (historical and predicted), how far to trust the model, and who to call."""
import polars as pl
import streamlit as st

from cx import clv, glossary
from cx.charts import value as vc
from ui import call, chart, figures, fmt_money, md_escape, page_frame, table
from ui.drilldown import kpi_focus

vc = figures(vc)  # figures memoised per input (ui.cache.figure)

f = page_frame("Value", "What customers have brought so far, what they are likely to bring next (BG/NBD × "
               "Gamma-Gamma, fitted on your data), how far to trust that forecast, and which valuable "
               "customers to reach out to before they go.")
kpi_focus(("revenue", "repeat_rate"), f)  # opened from an overview card: that period first

# the main choices live in the URL (?vh=24&vd=5%25&vu=M): string options, so a copied link restores them
RATES = {"0%": 0.0, "5%": 0.05, "8%": 0.08, "10%": 0.10, "12%": 0.12, "15%": 0.15, "20%": 0.20}
c1, c2, c3 = st.columns(3)
horizon = int(c1.select_slider("Forecast horizon (months)", ["3", "6", "12", "24", "36"], value="12", key="vh",
                               bind="query-params",
                               help="Predicted CLV sums the expected spend over this many months."))
rate = RATES[c2.select_slider("Annual discount rate", list(RATES), value="10%", key="vd", bind="query-params",
                              help="Money next year is worth less than money today: each month's spend is divided "
                                   "by (1 + rate)^(months/12).")]
unit = c3.radio("Model time unit", ["W", "D", "M"], horizontal=True, key="vu", bind="query-params",
                format_func=lambda u: {"D": "day", "W": "week", "M": "month"}[u],
                help="The unit of recency and T in the model; the forecast is the same up to rounding.")
kw = dict(horizon_months=horizon, discount_rate=rate, time_unit=unit, filters=f)

MONEY = st.column_config.NumberColumn(format="%.0f")
PCT = st.column_config.NumberColumn(format="percent")

vm = call(clv.customer_value, **kw)
df = vm.customers
for note in vm.notes:
    st.warning(note)


def purchases_only() -> None:
    """Transactions without amounts: the purchase side of the model (expected purchases, P(alive))."""
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Buyers", f"{df.height:,}", help=glossary.help_text("purchases"))
    m2.metric("Repeat buyers", f"{(df['frequency'] > 0).mean():.0%}", help="Buyers with purchases on 2+ days.")
    m3.metric(f"Expected purchases, {horizon} mo", f"{df['expected_purchases'].sum():,.0f}",
              help="Sum over the buyers (BG/NBD). " + glossary.help_text("p_alive"))
    m4.metric("Mean P(alive)", f"{df['p_alive'].mean():.0%}", help=glossary.help_text("p_alive"))
    chart(vc.purchases_histogram(df, horizon), key="val_purchases",
          caption="Each bar counts buyers by the purchases the model expects from them over the horizon. Money "
                  "needs amounts: import an amount column to see lifetime value.")
    table(df.sort("expected_purchases", descending=True).select(
        "customer_id", "expected_purchases", "p_alive", "frequency", "recency", "T", "last_purchase"),
        "val_purchases_top", title="Buyers by expected purchases", file_name="expected_purchases.csv", links=True,
        height=300, p_alive=PCT, expected_purchases=st.column_config.NumberColumn(format="%.2f"))


def value_tab():
    if not vm.money:
        purchases_only()
        return
    conc = call(clv.concentration, **kw)
    m1, m2, m3, m4, m5, m6 = st.columns(6)
    m1.metric("Buyers", f"{df.height:,}", help="Customers with at least one purchase (amount > 0).")
    m2.metric("Value to date", fmt_money(df["historical_value"].sum()),
              help="Sum over the buyers. " + glossary.help_text("historical_value"))
    m3.metric(f"Predicted, {horizon} mo", fmt_money(df["predicted_clv"].sum()),
              help="Sum over the buyers. " + glossary.help_text("predicted_clv"))
    m4.metric(f"Average CLV, {horizon} mo", fmt_money(df["predicted_clv"].mean()),
              help=f"Mean predicted CLV per buyer ({horizon} months, {rate:.0%} a year). "
                   + glossary.help_text("predicted_clv"))
    m5.metric("Top 10% hold", f"{conc['value_share'][9]:.0%}",
              help="The share of all predicted CLV held by the 10% most valuable customers. "
                   + glossary.help_text("value_concentration"))
    m6.metric("Mean P(alive)", f"{df['p_alive'].mean():.0%}",
              help="Average over the buyers. " + glossary.help_text("p_alive"))
    try:
        chk = call(clv.holdout, holdout_weeks=26, time_unit=unit, filters=f)["total"].row(0, named=True)
        st.caption(f"Holdout check (fit before the last 26 weeks, predict them): {chk['predicted']:,.0f} repeat "
                   f"purchases predicted vs {chk['actual']:,.0f} actual"
                   + ("" if chk["error"] is None else f" ({chk['error']:+.1%})")
                   + ". Details in **Trust the forecast**.", help=glossary.help_text("holdout_check"))
    except Exception as e:  # noqa: BLE001 - a short history: the check says why in its tab
        st.caption(f"Holdout check not available: {md_escape(e)}")
    left, right = st.columns(2)
    with left:
        chart(vc.clv_histogram(df, horizon), key="val_hist",
              caption="Each bar counts customers by predicted CLV over the horizon. Most customers are worth "
                      "little; a long tail is worth a lot.", help=glossary.help_text("predicted_clv"))
    with right:
        chart(vc.concentration_curve(conc), key="val_conc",
              caption="Customers sorted from most to least valuable: the curve shows the share of all predicted "
                      "value the top x% hold. The dotted line is value spread evenly.",
              help=glossary.help_text("value_concentration"))

    by = st.selectbox("Break value down by", ["persona", "acquisition_channel", "purchase_channel", "cohort",
                                              "segment"], key="vby", bind="query-params",
                      format_func=lambda b: {"purchase_channel": "channel of first purchase",
                                             "cohort": "acquisition cohort (quarter of first purchase)",
                                             "acquisition_channel": "acquisition channel"}.get(b, b))
    try:
        vb = call(clv.value_by, by, **kw)
    except Exception as e:  # noqa: BLE001 - a missing breakdown must not hide the rest of the page
        st.info(md_escape(e) if "CXError" in type(e).__name__ else f"This breakdown is not available ({md_escape(e)}).")
        vb = None
    if vb is not None:
        chart(vc.value_by_bars(vb, by), key="val_by_chart",
              caption="Mean value per customer in each group: historical (to date) and predicted (over the "
                      "horizon). The % above a bar is the group's share of all predicted value.",
              help=glossary.help_text("value_by"))
        pick = st.selectbox("Show the customers of", vb["group"].to_list(), key="val_by_pick", bind="query-params")
        col = by if by in df.columns else None
        if col:
            members = (df.with_columns(pl.col(col).cast(pl.Utf8).fill_null("(unknown)").alias("_g"))
                       .filter(pl.col("_g") == pick).sort("predicted_clv", descending=True)
                       .select("customer_id", "historical_value", "predicted_clv", "p_alive", "frequency",
                               "last_purchase"))
            table(members, "val_by_members", title=f"Customers of {pick}", file_name=f"value_{by}_{pick}.csv",
                  links=True, height=240, historical_value=MONEY, predicted_clv=MONEY, p_alive=PCT)

    left, right = st.columns(2)
    with left:
        chart(vc.historical_vs_predicted(df), key="val_hist_pred",
              caption="Each dot is a customer. Right = spent a lot so far; up = expected to spend a lot next. "
                      "Red dots (low P(alive)) spent in the past but are probably gone.",
              help=glossary.help_text("historical_value") + " " + glossary.help_text("predicted_clv"))
    with right:
        chart(vc.p_alive_vs_clv(df), key="val_alive",
              caption="Left = probably gone; up = worth a lot if still active. The top-left corner is value at "
                      "risk.", help=glossary.help_text("p_alive"))

    st.subheader("Most valuable customers")
    top = df.sort("predicted_clv", descending=True).select(
        "customer_id", "predicted_clv", "historical_value", "p_alive", "expected_purchases", "expected_spend",
        "frequency", "recency", "T", "monetary_value", "last_purchase",
        *[c for c in ("revenue", "refunds", "persona", "acquisition_channel", "purchase_channel", "cohort")
          if c in df.columns])
    table(top, "val_top", title="Most valuable customers", file_name="customer_value.csv", links=True, height=300,
          caption="Every buyer, most valuable first (the CSV holds them all).",
          predicted_clv=MONEY, historical_value=MONEY, p_alive=PCT, revenue=MONEY, refunds=MONEY,
          monetary_value=MONEY, expected_purchases=st.column_config.NumberColumn(format="%.2f"),
          expected_spend=MONEY)


def trust_tab():
    hw = int(st.select_slider("Hold out the last … weeks", ["8", "13", "26", "39", "52"], value="26", key="hw",
                              bind="query-params",
                              help="The model is fitted on the data before this period, then asked to predict it."))
    h = call(clv.holdout, holdout_weeks=hw, time_unit=unit, filters=f)
    tot = h["total"].row(0, named=True)
    t1, t2, t3 = st.columns(3)
    t1.metric("Actual repeat purchases in the holdout", f"{tot['actual']:,.0f}",
              help=f"Purchase days between {h['calibration_end']} and {h['observation_end']} of the customers "
                   "who had bought before. " + glossary.help_text("holdout_check"))
    t2.metric("Predicted", f"{tot['predicted']:,.0f}",
              delta=None if tot["error"] is None else f"{tot['error']:+.1%} vs actual", delta_color="off",
              help="What the model fitted on the earlier data expected.")
    t3.metric("Customers checked", f"{tot['customers']:,}")
    left, right = st.columns(2)
    with left:
        chart(vc.holdout_bars(h["by_frequency"]), key="val_holdout_bars",
              caption="Customers grouped by how often they re-bought before the holdout: bars close together mean "
                      "the model ranks customers right, not only in total.", help=glossary.help_text("holdout_check"))
    with right:
        chart(vc.tracking_lines(h["tracking"]), key="val_tracking",
              caption="Cumulative repeat purchases week by week in the holdout: the dashed forecast should follow "
                      "the solid line.", help=glossary.help_text("holdout_check"))
    table(h["by_frequency"], "val_holdout_table", title=f"Holdout check, last {hw} weeks",
          file_name=f"holdout_{hw}w.csv", actual_mean=st.column_config.NumberColumn(format="%.2f"),
          predicted_mean=st.column_config.NumberColumn(format="%.2f"),
          predicted=st.column_config.NumberColumn(format="%.0f"))
    bg, gg = vm.bgnbd, vm.gamma_gamma
    st.markdown(
        f"**The fitted model** (all data, time unit {vm.time_unit}). Purchase rate while active ~ Gamma(r = "
        f"{bg['r']:.3g}, α = {bg['alpha']:.3g}): a typical customer buys {bg['r'] / bg['alpha']:.3g} times per "
        f"{vm.time_unit}. Chance of leaving after each repeat purchase ~ Beta(a = {bg['a']:.3g}, b = "
        f"{bg['b']:.3g}): {bg['a'] / (bg['a'] + bg['b']):.0%} on average. "
        + ("Spend per purchase: not modelled (no amounts)." if not vm.money else
           f"Spend per purchase ~ Gamma-Gamma(p = {gg['p']:.3g}, q = {gg['q']:.3g}, γ = {gg['gamma']:.3g})"
           + (f": {gg['p'] * gg['gamma'] / (gg['q'] - 1):,.2f} on average." if gg["q"] > 1 else ".")))


def outreach_tab():
    o1, o2 = st.columns(2)
    quant = o1.select_slider("Valuable = predicted CLV in the top", [0.5, 0.75, 0.9], value=0.75,
                             format_func=lambda q: f"{1 - q:.0%}", key="val_out_q", bind="query-params")
    low = o2.select_slider("P(alive) counts as low below", [0.3, 0.4, 0.5, 0.6, 0.7], value=0.5,
                           format_func=lambda v: f"{v:.0%}", key="val_out_low", bind="query-params")
    out = call(clv.outreach, value_quantile=quant, low_p_alive=low, **kw)
    st.metric("Valuable customers at risk", f"{out.height:,}", help=glossary.help_text("outreach"))
    st.caption("Sorted by value at risk = predicted CLV × (1 − P(alive)): customers worth a lot whose activity is "
               "in doubt come first. Open a customer to see their whole story before you call.",
               help=glossary.help_text("value_at_risk"))
    table(out, "val_outreach", title="Proactive outreach", file_name="outreach.csv", links=True, height=420,
          predicted_clv=MONEY, value_at_risk=MONEY, p_alive=PCT,
          p_alive_30d_ago=st.column_config.NumberColumn("P(alive) 30 days ago", format="percent"),
          reasons=st.column_config.TextColumn(width="large"))


# lazy tabs: only the open tab computes; the open tab is in the URL (?tab=Trust%20the%20forecast)
tabs = st.tabs(["Lifetime value", "Trust the forecast", "Proactive outreach"], key="tab", bind="query-params")
for tab, draw in zip(tabs, (value_tab, trust_tab, outreach_tab)):
    with tab:
        if tab.open is not False:  # None: state not tracked (then every tab draws)
            draw()
