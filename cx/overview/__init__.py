"""The leadership view: KPI cards with period-over-period changes tested against chance and
sparklines, the four core elements of a CX program, what changed since the previous period, in
words, and each KPI's history with control limits for its drill-down.

Nothing here defines a metric: every number comes from the one function that defines it
(profile, lifecycle, loyalty, clv), called with the same data handle (:mod:`cx.data`), and is
compared between the last two *full* periods (a period the data covers only partly is never
compared with a full one). Modules: cards (the cards and their tests), elements, movers,
history (a KPI over time, with control limits), glossary.
"""
from .cards import (CARD_BY_KEY, CARDS, PERIODS, SPARK, Card, changes, fmt, fmt_delta, period_series, period_stats,
                    scorecard)
from .elements import ELEMENTS, core_elements
from .glossary import GLOSSARY
from .history import kpi_history
from .movers import DIMENSIONS, MOVER_COLUMNS, movers, nothing_changed

__all__ = ["CARDS", "CARD_BY_KEY", "Card", "DIMENSIONS", "ELEMENTS", "GLOSSARY", "MOVER_COLUMNS", "PERIODS", "SPARK",
           "changes", "core_elements", "fmt", "fmt_delta", "kpi_history", "movers", "nothing_changed", "period_series",
           "period_stats", "scorecard"]
