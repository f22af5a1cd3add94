"""Loyalty and trust: NPS, CSAT, CES, key drivers, trust, forgiveness and relationship quality.

Every metric is one Ibis expression over the filtered tables (run by DuckDB, portable to the other
Ibis backends) returning a small polars frame; each takes a data handle first (:mod:`cx.data`; a
store with filters= and dataset= works too). Modelling (Johnson's relative weights) runs in numpy
on the per-customer frame an expression returns.

Scales (each metric keeps its own):
- NPS 0–10: promoters 9–10, passives 7–8, detractors 0–6; NPS = % promoters − % detractors.
- CSAT 1–5: top-2-box = share of answers 4–5 (in %); bottom-2 = 1–2.
- CES 1–7 (7 = easy): the mean score, and % easy = share of answers 5–7; hard = 1–3.
- rating 1–5 (reviews): like CSAT (top-2-box).
A group with fewer than 30 answers (customers, for per-customer metrics) is flagged `low_n`.

Where things are:
- base.py      the scales, MIN_N, the answers of one metric, a customer's latest row
- scores.py    score_summary, score_trend, score_distribution, score_overview, solicited_split,
               score_members, breakdown_options
- drivers.py   relative_weights, key_drivers, fit_drivers, driver_members
- trust.py     trust_levels, trust_members
- incidents.py forgiveness, forgiveness_table, forgiveness_members
- health.py    relationship, relationship_summary, answer_times, health_retention, health_members,
               answer_touchpoint_options
- glossary.py  GLOSSARY (the definitions, as cx.terms.Term)
"""
from __future__ import annotations

from .base import METRIC_LABELS, MIN_N, SCALES
from .drivers import driver_members, fit_drivers, key_drivers, relative_weights
from .glossary import GLOSSARY
from .health import (HEALTH_WEIGHTS, answer_times, answer_touchpoint_options, health_members, health_retention,
                     relationship, relationship_summary)
from .incidents import (BAND_MIDPOINT_DAYS, DAY_S, NO_INCIDENT, TENURE_BANDS, forgiveness, forgiveness_members,
                        forgiveness_table)
from .scores import (FEEDBACK_DIMENSIONS, LINKED_DIMENSIONS, NO_SEGMENT, PERIODS, SEGMENT, UNKNOWN, breakdown_options,
                     score_distribution, score_members, score_overview, score_summary, score_trend, solicited_split,
                     worst_first)
from .trust import trust_levels, trust_members

__all__ = [
    "MIN_N", "SCALES", "METRIC_LABELS", "PERIODS", "FEEDBACK_DIMENSIONS", "LINKED_DIMENSIONS", "UNKNOWN", "SEGMENT",
    "NO_SEGMENT", "DAY_S", "TENURE_BANDS", "BAND_MIDPOINT_DAYS", "NO_INCIDENT", "HEALTH_WEIGHTS", "GLOSSARY",
    "score_summary", "score_trend", "score_distribution", "score_overview", "solicited_split", "score_members",
    "breakdown_options", "relative_weights", "key_drivers", "fit_drivers", "driver_members", "trust_levels",
    "trust_members", "forgiveness", "forgiveness_table", "forgiveness_members", "answer_times", "relationship",
    "relationship_summary", "health_retention", "health_members", "answer_touchpoint_options", "worst_first",
]
