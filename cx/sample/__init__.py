"""Deterministic demo-data generator with planted, testable effects.

    from cx.sample import generate, write
    data = generate(n_customers=5000, seed=42)     # -> SampleData (polars frames + truth dict)
    write(data, "sample_data")                      # interactions/customers/feedback CSV + truth

Everything is vectorised over numpy arrays (Python loops only over session index, purchase index,
event kinds, groups): 333k customers (~10M interactions) generate in well under a minute.

Planted structure (all parameters and realised effects are written to ``truth``):
  * six latent behaviour groups with distinct journeys, channel mixes, loops, spend and support;
    the declared ``persona`` equals the group's display name for ~80% of customers;
  * purchases from an exact BG/NBD process per group (time unit: week; dropout only after a
    repeat purchase, Fader et al. 2005) with Gamma-Gamma spend;
  * a latent relationship ``bond`` (from lambda and 1-p quantiles) driving trust, NPS, gives
    (value_given) and answer speed;
  * incidents (late delivery, wrong charge, outage); forgiveness planted by putting an incident at
    the death purchase with a probability that falls with tenure; the dead go quiet after 30-45 days;
  * departments and employees, billing being inconsistent; inbound contacts answered later;
  * sentiment with an emotion curve and ``delivery`` as the worst touchpoint, which drives NPS;
  * feedback (CSAT, CES, NPS, trust, unsolicited ratings) and comments whose wording follows scores.

The package, in the order the generator uses it:
  constants   window, vocabularies, touchpoint catalogue, behaviour groups, coefficients
  themes      comment themes and wording
  rows        vectorised helpers (per-row categorical draws, opening hours, the row collector)
  state       the arrays the steps hand on (People, Journey, Purchases, Events, World)
  journeys    customers, pre-purchase journey, first and BG/NBD repeat purchases, purchase rows
  incidents   after each purchase: incidents, deliveries, contacts, returns, thank-yous, onboarding
  life        over the active life: use, support contacts and answers, newsletters, promos, surveys
  feedback    CSAT, CES, NPS, trust, ratings and their comments
  generator   generate(): the steps in their fixed order, then the final interaction rows
  frames      polars frames (SampleData);  truth  truth.json;  write  the CSV files

All draws come from one ``numpy.random.Generator`` in one fixed order: reordering any step or any
draw inside a step changes the generated data (and sample_data/ with its truth.json).
"""
from __future__ import annotations

from .constants import (ACQ_BY_TP, AGE_BANDS, AGE_P, ANSWER_SD, CES_BASE, CES_RESPONSE, CH, CHANNELS, COMMENT_P,
                        CSAT_BASE, CSAT_RESPONSE, DAY, DEATH_INCIDENT_P, DEATH_TAIL_DAYS, DEP, DEPARTMENTS,
                        DIRECTIONS, EMPLOYEE_SD, END, GROUP_NAMES, GROUPS, HOUR, INCIDENT_KINDS,
                        INCONSISTENT_DEPARTMENT, MIN, MONTH, N_EMPLOYEES, NPS_COEF, NPS_RESPONSE, PERSONA_MATCH,
                        PERSONAS, PURCHASE_TPS, REGION_P, REGIONS, STAKEHOLDER_P, STAKEHOLDERS, SUPPORT_TPS, TIERS,
                        TOUCHPOINTS, TP, TRUST_WITH_NPS, VALUES, VG, WEEK, WINDOW_END, WINDOW_START, YEAR)
from .frames import SampleData
from .generator import generate
from .themes import EFFORT_PHRASES, THEME_NAMES, THEMES
from .write import write

__all__ = [
    "ACQ_BY_TP", "AGE_BANDS", "AGE_P", "ANSWER_SD", "CES_BASE", "CES_RESPONSE", "CH", "CHANNELS", "COMMENT_P",
    "CSAT_BASE", "CSAT_RESPONSE", "DAY", "DEATH_INCIDENT_P", "DEATH_TAIL_DAYS", "DEP", "DEPARTMENTS", "DIRECTIONS",
    "EFFORT_PHRASES", "EMPLOYEE_SD", "END", "GROUPS", "GROUP_NAMES", "HOUR", "INCIDENT_KINDS",
    "INCONSISTENT_DEPARTMENT", "MIN", "MONTH", "NPS_COEF", "NPS_RESPONSE", "N_EMPLOYEES", "PERSONAS", "PERSONA_MATCH",
    "PURCHASE_TPS", "REGIONS", "REGION_P", "STAKEHOLDERS", "STAKEHOLDER_P", "SUPPORT_TPS", "THEMES", "THEME_NAMES",
    "TIERS", "TOUCHPOINTS", "TP", "TRUST_WITH_NPS", "VALUES", "VG", "WEEK", "WINDOW_END", "WINDOW_START", "YEAR",
    "SampleData", "generate", "write",
]
