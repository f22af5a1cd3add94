"""Customer lifetime value: historical (net revenue to date) and predicted (BG/NBD × Gamma-Gamma).

Definitions (one each):
- A *purchase* is an interaction with amount > 0. Purchases on the same calendar day (UTC) merge into
  one *purchase day* whose amount is their sum. Refunds (amount < 0) are not purchases: they do not
  reduce the monetary value the spend model sees (the model needs positive spend per transaction),
  but they do reduce the *historical value* (net revenue to date = sum of every amount, refunds
  included).
- Summary per customer who bought at least once (the RFM input of the models), in a time unit of
  a day (1 day), a week (7 days) or a month (30.4375 days):
  frequency = number of purchase days after the first purchase day (repeat purchase days);
  recency = time from the first to the last purchase day; T = time from the first purchase day to
  the end of the observation (the calibration end when one is given); monetary_value = mean amount
  of the repeat purchase days (0 for customers without a repeat purchase).
- BG/NBD (Fader, Hardie & Lee 2005): while alive a customer buys at rate λ ~ Gamma(r, α); after each
  repeat purchase they drop out with probability p ~ Beta(a, b). Gamma-Gamma: the amounts of a
  customer are Gamma(p, ν) with ν ~ Gamma(q, γ), independent of the purchase process. Both are
  fitted by maximum likelihood (scipy L-BFGS-B on log-parameters, analytic gradients) on the unique
  (frequency, recency, T) rows with weights, so that millions of customers fit in seconds.
- Predicted CLV over a horizon of H months = Σ_k E[repeat purchases in month k | history] ×
  E[spend per purchase | history] / (1 + d)^(k/12), with d the annual discount rate.
- P(alive) = the probability that the customer has not dropped out, given their history.

We ship our own maths because the usual library (`lifetimes`) is unmaintained and breaks on
pandas 3, and PyMC-Marketing takes about a minute to its first fit. Everything here is headless:

Where things are (the models take arrays and never read a dataset; the dataset functions take a
data handle first, see :mod:`cx.data`):
- bgnbd.py        BG/NBD: bgnbd_loglik, fit_bgnbd, p_alive, expected_purchases(_new), simulate_bgnbd
- gamma_gamma.py  Gamma-Gamma: gamma_gamma_loglik, fit_gamma_gamma, expected_spend, simulate_gamma_gamma
- fitting.py      the subset-then-Newton optimiser step both fits share (WARM_START_ROWS)
- formula.py      time units and the discounted CLV formula (clv)
- purchases.py    the purchase summary of a dataset: summary, summary_grouped
- value.py        customer_value (ValueModel), value_by, concentration, segments_table
- calibration.py  holdout (the calibration/holdout check)
- risk.py         outreach (valuable customers at risk)
- glossary.py     GLOSSARY (the definitions, as cx.terms.Term)
"""
from __future__ import annotations

from .bgnbd import bgnbd_loglik, expected_purchases, expected_purchases_new, fit_bgnbd, p_alive, simulate_bgnbd
from .calibration import holdout
from .fitting import WARM_START_ROWS, newton_polish
from .formula import MONTH_DAYS, UNIT_DAYS, UNIT_NAMES, clv, unit_days
from .gamma_gamma import expected_spend, fit_gamma_gamma, gamma_gamma_loglik, simulate_gamma_gamma
from .glossary import GLOSSARY
from .purchases import summary, summary_grouped
from .risk import outreach
from .value import ValueModel, concentration, customer_value, segments_table, value_by

__all__ = [
    "UNIT_DAYS", "UNIT_NAMES", "MONTH_DAYS", "WARM_START_ROWS", "GLOSSARY", "unit_days", "newton_polish",
    "bgnbd_loglik", "fit_bgnbd", "p_alive", "expected_purchases", "expected_purchases_new", "simulate_bgnbd",
    "gamma_gamma_loglik", "fit_gamma_gamma", "expected_spend", "simulate_gamma_gamma", "clv",
    "summary", "summary_grouped", "ValueModel", "customer_value", "value_by", "segments_table",
    "concentration", "holdout", "outreach",
]
