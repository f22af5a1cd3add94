"""Journeys: the ordered funnel (:mod:`.funnel`), transitions, the transition graph and the step
Sankey (:mod:`.flows`), loops, paths and channel switching (:mod:`.loops`), the journey map and
the emotion curve (:mod:`.maps`); the funnel's intervals, group tests and period comparison
(:mod:`.compare`); what a node of a journey is (:mod:`.nodes`); their glossary
terms (:mod:`.glossary`).

Every function is one Ibis expression (or a few) over the filtered interactions of a data handle
(:mod:`cx.data`), run by the store's backend, returning a small polars frame: the data twin of a
chart on the Journey page.
"""
from .compare import compare_periods, last_two_months, with_intervals
from .flows import BACK_COLOUR, EDGE_COLOUR, SELF_COLOUR, step_sankey, transition_dot, transitions, transitions_expr
from .funnel import ENTRY_ONLY, breakdown_options, default_steps, dropoff_members, funnel, funnel_report, funnel_trend, parse_window
from .glossary import GLOSSARY
from .loops import DEFAULT_CHURN_DAYS, channel_switching, loop_metrics, loop_metrics_expr, paths
from .maps import emotion_curve, journey_map

__all__ = ["funnel", "funnel_report", "funnel_trend", "dropoff_members", "parse_window", "transitions",
           "transitions_expr", "transition_dot", "step_sankey", "loop_metrics", "loop_metrics_expr", "paths",
           "channel_switching", "journey_map", "emotion_curve", "GLOSSARY", "BACK_COLOUR", "SELF_COLOUR",
           "EDGE_COLOUR", "DEFAULT_CHURN_DAYS", "ENTRY_ONLY", "breakdown_options", "default_steps", "with_intervals", "compare_periods", "last_two_months"]
