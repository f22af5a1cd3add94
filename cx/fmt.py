"""Numbers, money and dates formatted for people, once for the app, the story, the overview's
sentences and the HTML report. A missing value is a dash, never 0 or "None"."""
from __future__ import annotations

from datetime import date

MISSING = "–"


def integer(v) -> str:
    """1234 -> "1,234"."""
    return MISSING if v is None else f"{int(v):,}"


def money(v) -> str:
    """Compact amounts: 950 -> "950", 12_340 -> "12.3k", 2_500_000 -> "2.5M" (no currency: the data
    does not say which)."""
    if v is None:
        return MISSING
    for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:,.1f}{suf}"
    return f"{v:,.0f}"


def day(v) -> str:
    """A date as "07 Dec 2026"."""
    return v.strftime("%d %b %Y") if isinstance(v, date) else MISSING
