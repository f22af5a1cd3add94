"""Value: lifetime value (historical and predicted), how far to trust the model, and who to call."""
import polars as pl
import streamlit as st

from cx import clv
from cx.charts import value as vc
from cx.export import to_csv_bytes
from ui.core import call, customer_url, fmt_money, page_frame

f = page_frame("Value", "What customers have brought so far, what they are likely to bring next (BG/NBD × "
               "Gamma-Gamma, fitted on your data), how far to trust that forecast, and which valuable "
               "customers to reach out to before they go.")

c1, c2, c3 = st.columns(3)
horizon = c1.select_slider("Forecast horizon (months)", [3, 6, 12, 24, 36], value=12, key="val_horizon",
                           help="Predicted CLV sums the expected spend over this many months.")
rate = c2.select_slider("Annual discount rate", [0.0, 0.05, 0.08, 0.10, 0.12, 0.15, 0.20], value=0.10,
                        format_func=lambda v: f"{v:.0%}", key="val_rate",
                        help="Money next year is worth less than money today: each month's spend is divided "
                             "by (1 + rate)^(months/12).")
unit = c3.radio("Model time unit", ["W", "D", "M"], horizontal=True, key="val_unit",
                format_func=lambda u: {"D": "day", "W": "week", "M": "month"}[u],
                help="The unit of recency and T in the model; the forecast is the same up to rounding.")
kw = dict(horizon_months=horizon, discount_rate=rate, time_unit=unit, filters=f)


def linked(df: pl.DataFrame, n: int = 500) -> pl.DataFrame:
    head = df.head(n)
    return head.with_columns(pl.Series("open", [customer_url(c) for c in head["customer_id"].to_list()]))


LINK = {"open": st.column_config.LinkColumn("customer view", display_text="open ↗")}
MONEY = st.column_config.NumberColumn(format="%.0f")
PCT = st.column_config.NumberColumn(format="percent")

vm = call(clv.customer_value, **kw)
df = vm.customers
for note in vm.notes:
    st.warning(note)

tab_value, tab_trust, tab_outreach = st.tabs(["Lifetime value", "Trust the forecast", "Proactive outreach"])

with tab_value:
    conc = call(clv.concentration, **kw)
    m1, m2, m3, m4, m5 = st.columns(5)
    m1.metric("Buyers", f"{df.height:,}", help="Customers with at least one purchase (amount > 0).")
    m2.metric("Value to date", fmt_money(df["historical_value"].sum()),
              help="Historical value: net revenue to date (every amount, refunds included).")
    m3.metric(f"Predicted, {horizon} mo", fmt_money(df["predicted_clv"].sum()),
              help="Sum of the customers' predicted CLV: expected repeat purchases × expected spend, discounted.")
    m4.metric("Top 10% hold", f"{conc['value_share'][9]:.0%}",
              help="The share of all predicted CLV held by the 10% most valuable customers.")
    m5.metric("Mean P(alive)", f"{df['p_alive'].mean():.0%}",
              help="Average probability that a customer has not silently left (BG/NBD).")
    try:
        chk = call(clv.holdout, holdout_weeks=26, time_unit=unit, filters=f)["total"].row(0, named=True)
        st.caption(f"Holdout check (fit before the last 26 weeks, predict them): {chk['predicted']:,.0f} repeat "
                   f"purchases predicted vs {chk['actual']:,.0f} actual"
                   + ("" if chk["error"] is None else f" ({chk['error']:+.1%})")
                   + ". Details in **Trust the forecast**.")
    except Exception as e:  # noqa: BLE001 - a short history: the check says why in its tab
        st.caption(f"Holdout check not available: {e}")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(vc.clv_histogram(df, horizon), key="val_hist")
        st.caption("Each bar counts customers by predicted CLV over the horizon. Most customers are worth little; "
                   "a long tail is worth a lot.")
    with right:
        st.plotly_chart(vc.concentration_curve(conc), key="val_conc")
        st.caption("Customers sorted from most to least valuable: the curve shows the share of all predicted "
                   "value the top x% hold. The dotted line is value spread evenly.")

    by = st.selectbox("Break value down by", ["persona", "acquisition_channel", "purchase_channel", "cohort",
                                              "segment"], key="val_by",
                      format_func=lambda b: {"purchase_channel": "channel of first purchase",
                                             "cohort": "acquisition cohort (quarter of first purchase)",
                                             "acquisition_channel": "acquisition channel"}.get(b, b))
    try:
        vb = call(clv.value_by, by, **kw)
    except Exception as e:  # noqa: BLE001 - a missing breakdown must not hide the rest of the page
        st.info(str(e) if "CXError" in type(e).__name__ else f"This breakdown is not available ({e}).")
        vb = None
    if vb is not None:
        st.plotly_chart(vc.value_by_bars(vb, by), key="val_by_chart")
        st.caption("Mean value per customer in each group: historical (to date) and predicted (over the horizon). "
                   "The % above a bar is the group's share of all predicted value.")
        pick = st.selectbox("Show the customers of", vb["group"].to_list(), key="val_by_pick")
        col = by if by in df.columns else None
        if col:
            members = (df.with_columns(pl.col(col).cast(pl.Utf8).fill_null("(unknown)").alias("_g"))
                       .filter(pl.col("_g") == pick).sort("predicted_clv", descending=True)
                       .select("customer_id", "historical_value", "predicted_clv", "p_alive", "frequency",
                               "last_purchase"))
            st.dataframe(linked(members), hide_index=True, height=240,
                         column_config={**LINK, "historical_value": MONEY, "predicted_clv": MONEY, "p_alive": PCT})

    left, right = st.columns(2)
    with left:
        st.plotly_chart(vc.historical_vs_predicted(df), key="val_hist_pred")
        st.caption("Each dot is a customer. Right = spent a lot so far; up = expected to spend a lot next. "
                   "Red dots (low P(alive)) spent in the past but are probably gone.")
    with right:
        st.plotly_chart(vc.p_alive_vs_clv(df), key="val_alive")
        st.caption("Left = probably gone; up = worth a lot if still active. The top-left corner is value at risk.")

    st.subheader("Most valuable customers")
    top = df.sort("predicted_clv", descending=True).select(
        "customer_id", "predicted_clv", "historical_value", "p_alive", "expected_purchases", "expected_spend",
        "frequency", "last_purchase", *[c for c in ("persona",) if c in df.columns])
    st.dataframe(linked(top, 200), hide_index=True, height=300,
                 column_config={**LINK, "predicted_clv": MONEY, "historical_value": MONEY, "p_alive": PCT,
                                "expected_purchases": st.column_config.NumberColumn(format="%.2f"),
                                "expected_spend": MONEY})
    st.download_button("Export every customer's value (CSV)", to_csv_bytes(df), file_name="customer_value.csv",
                       mime="text/csv", key="val_export")

with tab_trust:
    hw = st.select_slider("Hold out the last … weeks", [8, 13, 26, 39, 52], value=26, key="val_holdout",
                          help="The model is fitted on the data before this period, then asked to predict it.")
    h = call(clv.holdout, holdout_weeks=hw, time_unit=unit, filters=f)
    tot = h["total"].row(0, named=True)
    t1, t2, t3 = st.columns(3)
    t1.metric("Actual repeat purchases in the holdout", f"{tot['actual']:,.0f}",
              help=f"Purchase days between {h['calibration_end']} and {h['observation_end']} of the customers "
                   "who had bought before.")
    t2.metric("Predicted", f"{tot['predicted']:,.0f}",
              delta=None if tot["error"] is None else f"{tot['error']:+.1%} vs actual", delta_color="off",
              help="What the model fitted on the earlier data expected.")
    t3.metric("Customers checked", f"{tot['customers']:,}")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(vc.holdout_bars(h["by_frequency"]), key="val_holdout_bars")
        st.caption("Customers grouped by how often they re-bought before the holdout: bars close together mean "
                   "the model ranks customers right, not only in total.")
    with right:
        st.plotly_chart(vc.tracking_lines(h["tracking"]), key="val_tracking")
        st.caption("Cumulative repeat purchases week by week in the holdout: the dashed forecast should follow "
                   "the solid line.")
    st.dataframe(h["by_frequency"], hide_index=True,
                 column_config={"actual_mean": st.column_config.NumberColumn(format="%.2f"),
                                "predicted_mean": st.column_config.NumberColumn(format="%.2f"),
                                "predicted": st.column_config.NumberColumn(format="%.0f")})
    bg, gg = vm.bgnbd, vm.gamma_gamma
    st.markdown(
        f"**The fitted model** (all data, time unit {vm.time_unit}). Purchase rate while active ~ Gamma(r = "
        f"{bg['r']:.3g}, α = {bg['alpha']:.3g}): a typical customer buys {bg['r'] / bg['alpha']:.3g} times per "
        f"{vm.time_unit}. Chance of leaving after each repeat purchase ~ Beta(a = {bg['a']:.3g}, b = "
        f"{bg['b']:.3g}): {bg['a'] / (bg['a'] + bg['b']):.0%} on average. Spend per purchase ~ Gamma-Gamma(p = "
        f"{gg['p']:.3g}, q = {gg['q']:.3g}, γ = {gg['gamma']:.3g})"
        + (f": {gg['p'] * gg['gamma'] / (gg['q'] - 1):,.2f} on average." if gg["q"] > 1 else "."))

with tab_outreach:
    o1, o2 = st.columns(2)
    quant = o1.select_slider("Valuable = predicted CLV in the top", [0.5, 0.75, 0.9], value=0.75,
                             format_func=lambda q: f"{1 - q:.0%}", key="val_out_q")
    low = o2.select_slider("P(alive) counts as low below", [0.3, 0.4, 0.5, 0.6, 0.7], value=0.5,
                           format_func=lambda v: f"{v:.0%}", key="val_out_low")
    out = call(clv.outreach, value_quantile=quant, low_p_alive=low, **kw)
    st.metric("Valuable customers at risk", f"{out.height:,}",
              help="Predicted CLV in the top group and: P(alive) low, or fell 10+ points in 30 days, or an "
                   "incident or a detractor answer (NPS 0–6) in the last 30 days.")
    st.caption("Sorted by value at risk = predicted CLV × (1 − P(alive)): customers worth a lot whose activity is "
               "in doubt come first. Open a customer to see their whole story before you call.")
    st.dataframe(linked(out), hide_index=True, height=420,
                 column_config={**LINK, "predicted_clv": MONEY, "value_at_risk": MONEY, "p_alive": PCT,
                                "p_alive_30d_ago": st.column_config.NumberColumn("P(alive) 30 days ago",
                                                                                 format="percent"),
                                "reasons": st.column_config.TextColumn(width="large")})
    st.download_button("Export the outreach list (CSV)", to_csv_bytes(out), file_name="outreach.csv",
                       mime="text/csv", key="val_out_export")
