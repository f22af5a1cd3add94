"""Overview: the state of the customer loop in one screen."""
import streamlit as st

from cx import charts, profile
from ui.core import call, fmt_date, fmt_int, fmt_money, page_frame

f = page_frame("Overview", "Who your customers are, where they are in the loop, and how activity moves — "
                   "for the dataset and filters chosen in the sidebar.")
k = call(profile.kpis, f).row(0, named=True)
if not k["touchpoints"]:
    st.info("No touchpoint matches the filters: widen the date range or clear a filter in the sidebar.")
    st.stop()

c = st.columns(5)
c[0].metric("Customers", fmt_int(k["customers"]), help="Distinct customers with at least one touchpoint.")
c[1].metric("Touchpoints", fmt_int(k["touchpoints"]), help="Rows of interactions: every recorded touchpoint.")
c[2].metric("Purchases", fmt_int(k["purchases"]), help="Touchpoints with a positive amount.")
share = k["purchasers"] / k["customers"] if k["customers"] else 0
c[3].metric("Buying customers", f"{share:.0%}", help=f"{fmt_int(k['purchasers'])} customers made at least "
            "one purchase (a touchpoint with a positive amount).")
c[4].metric("Revenue", fmt_money(k["revenue"]), help="Sum of amount over all touchpoints; refunds count "
            "negative.")
st.caption(f"From {fmt_date(k['first'])} to {fmt_date(k['last'])}.")

period = st.segmented_control("Period", ["day", "week", "month"], default="week", key="ov_period")
st.plotly_chart(charts.activity_lines(call(profile.activity, f, period=period or "week"),
                                      period=period or "week"), key="ov_activity")
st.caption("Active customers: customers who did something themselves that period (touchpoints not "
           "marked outbound). Revenue: sum of amounts, refunds negative.")
left, right = st.columns(2)
with left:
    st.plotly_chart(charts.stage_bars(call(profile.by_stage, f)), key="ov_stages")
    st.caption("Customers with at least one touchpoint in each stage of the loop "
               "(discover → consider → evaluate → purchase → use); hover for touchpoints.")
with right:
    st.plotly_chart(charts.channel_bars(call(profile.by_channel, f)), key="ov_channels")
    st.caption("Share of touchpoints per channel.")
