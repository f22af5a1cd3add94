"""The Journey terms of the glossary (:mod:`cx.glossary` gathers them): each names the function
that computes it."""
from __future__ import annotations

from ..terms import Term

_T = Term
GLOSSARY: tuple[Term, ...] = (
    _T("funnel", "Ordered funnel", "Journey",
       "Steps are stages or touchpoints, a step may be an any-of group. Entry: any occurrence of step 1. Each "
       "next step is its first occurrence strictly after the previous step, ordered by (timestamp, file "
       "order), all within the conversion window measured from the entry (inclusive). Each customer (or "
       "session) counts once, at the furthest step any of its entries reached (a later entry that gets "
       "further wins; among equals the earliest). Per step: count, conversion from previous and from first, "
       "median and p90 time from the previous step of the winning entries. Breakdown: the entry's channel or "
       "any customers column, top N + Other + (unknown).", "cx.journey.funnel", "journey"),
    _T("funnel_intervals", "Funnel uncertainty", "Journey",
       "Each step's conversion carries its 95% Wilson interval. With a breakdown, each group's conversion to the last "
       "step is tested against the other groups' (two-proportion z-test), Benjamini-Hochberg across groups; groups "
       "with fewer than 30 entrants are not ranked. Two periods: the same funnel on each date range, each step's "
       "change with Newcombe's interval.", "cx.journey.with_intervals", "journey"),
    _T("funnel_trend", "Funnel trend", "Journey",
       "Per week or month of the winning entry: entries, completed (reached the last step), conversion = "
       "completed ÷ entries.", "cx.journey.funnel_trend", "journey"),
    _T("dropoffs", "Drop-offs", "Journey",
       "The customers whose furthest step is k (they never reached step k + 1 within the window), with entry "
       "and last-step times; exportable.", "cx.journey.dropoff_members", "journey"),
    _T("transitions", "Transitions", "Journey",
       "Consecutive touchpoints of a customer in (timestamp, file order), at stage level or for the top N "
       "touchpoints (rest = Other), repeats optionally collapsed: count, customers, probability = count ÷ "
       "transitions out of the source. A back-edge goes to an earlier stage (discover < consider < evaluate < "
       "purchase < use).", "cx.journey.transitions", "journey"),
    _T("step_sankey", "Step Sankey", "Journey",
       "The first N steps of every journey, step i → i+1, with (end) for journeys that stop: loops unrolled.",
       "cx.journey.step_sankey", "journey"),
    _T("loop_rate", "Loop rate", "Journey",
       "Share of customers with at least one return to an earlier stage (stage-collapsed consecutive "
       "touchpoints). Loops per customer: the mean number of returns.", "cx.journey.loop_metrics", "journey"),
    _T("reevaluation_rate", "Re-evaluation rate", "Journey",
       "Share of customers with a use → evaluate transition.", "cx.journey.loop_metrics", "journey"),
    _T("cycle_days", "Repeat-purchase cycle", "Journey",
       "Median days between consecutive purchase days (amount > 0) of the same customer.",
       "cx.journey.loop_metrics", "journey"),
    _T("loop_exit_rate", "Loop exit rate", "Journey",
       "Share of customers with no activity in the last N days before the data's last day; N = the 90th "
       "percentile of inter-purchase gaps in days unless given (90 when nobody bought twice).",
       "cx.journey.loop_metrics", "journey"),
    _T("paths", "Paths", "Journey",
       "Top N sequences of stages per customer (repeats collapsed, truncated to 8 with …): customers, share, "
       "purchase conversion.", "cx.journey.paths", "journey"),
    _T("channel_switching", "Channel switching", "Journey",
       "Share of customers seen on 2+ channels; the top hand-offs (consecutive touchpoints on different "
       "channels); purchase conversion of cross- vs single-channel customers.", "cx.journey.channel_switching",
       "journey"),
    _T("journey_map", "Journey map", "Journey",
       "Stage × touchpoint grid: volume, customers, mean sentiment; from feedback on the same touchpoint, CSAT "
       "(top-2-box %, 1–5) and CES (mean, 1–7).", "cx.journey.journey_map", "journey"),
    _T("emotion_curve", "Emotion curve", "Journey",
       "Mean interaction sentiment per stage, in journey order.", "cx.journey.emotion_curve", "journey"),
)
