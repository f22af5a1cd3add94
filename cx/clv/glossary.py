"""The Value terms (cx.glossary gathers them: hover help, the Glossary page, docs)."""
from __future__ import annotations

from ..terms import Term

AREA = "Value"

GLOSSARY: tuple[Term, ...] = (
    Term("historical_value", "Historical value", AREA,
         "Net revenue to date per customer: the sum of every amount, refunds included.",
         "cx.clv.customer_value", "value"),
    Term("rfm_summary", "Purchase summary (frequency, recency, T)", AREA,
         "Purchases (amount > 0) on the same UTC day merge into one purchase day. frequency = purchase days "
         "after the first; recency = first to last purchase day; T = first purchase day to the end of "
         "the data; monetary value = mean amount of the repeat purchase days.",
         "cx.clv.summary", "value"),
    Term("predicted_clv", "Predicted CLV", AREA,
         "Over a horizon of H months: Σ_k E[repeat purchases in month k | history] (BG/NBD) × E[spend per "
         "purchase | history] (Gamma-Gamma) ÷ (1 + annual discount rate)^(k/12).",
         "cx.clv.customer_value", "value"),
    Term("avg_clv", "Average predicted CLV", AREA,
         "Mean predicted CLV over the buyers (customers with at least one purchase): 12 months, 10% annual "
         "discount rate, BG/NBD × Gamma-Gamma fitted on the data.",
         "cx.clv.customer_value", "value"),
    Term("p_alive", "P(alive)", AREA,
         "BG/NBD probability that the customer has not silently dropped out, given their frequency, "
         "recency and T.",
         "cx.clv.customer_value", "value"),
    Term("value_by", "Value by group", AREA,
         "Per persona, acquisition channel, channel of first purchase, cohort (quarter of the first "
         "purchase) or saved segment: customers, historical value and predicted CLV (sum and mean), mean "
         "P(alive) and the group's share of all predicted CLV.",
         "cx.clv.value_by", "value"),
    Term("value_concentration", "Value concentration", AREA,
         "Customers sorted by predicted CLV, largest first: per percentile of customers the cumulative "
         "share of all predicted value (row 10 = the share held by the top 10%).",
         "cx.clv.concentration", "value"),
    Term("holdout_check", "Holdout check", AREA,
         "BG/NBD fitted on purchases before the last N weeks, then asked to predict each customer's repeat "
         "purchase days in those weeks; compared with what they did, in total (error = predicted ÷ "
         "actual − 1), by calibration frequency and week by week.",
         "cx.clv.holdout", "value"),
    Term("value_at_risk", "Value at risk", AREA,
         "Predicted CLV × (1 − P(alive)): large for customers worth a lot whose activity is in doubt.",
         "cx.clv.outreach", "value"),
    Term("outreach", "Proactive outreach list", AREA,
         "Buyers with predicted CLV in the top quarter (by default) and at risk: P(alive) below 50%, or "
         "fell by 10 points or more in the last 30 days, or an incident or a detractor answer (NPS 0–6) "
         "in the last 30 days; sorted by value at risk.",
         "cx.clv.outreach", "value"),
)
