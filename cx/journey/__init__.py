"""Journeys: ordered funnels, transitions and loops, paths, and the journey map (DESIGN.md §3).

Every function is one Ibis expression (or a few) over the filtered interactions, run by the
store's backend, returning a small polars frame: the data twin of a chart on the Journey page.
"""
from .flows import (channel_switching, emotion_curve, journey_map, loop_metrics, paths, step_sankey,
                    transition_dot, transitions)
from .funnel import funnel, funnel_dropoffs, funnel_report, funnel_trend, parse_window

__all__ = ["funnel", "funnel_report", "funnel_trend", "funnel_dropoffs", "parse_window", "transitions", "transition_dot",
           "step_sankey", "loop_metrics", "paths", "channel_switching", "journey_map", "emotion_curve"]
