"""The four core elements of a CX programme, from the KPI cards."""
from __future__ import annotations

import polars as pl

from .cards import fmt


ELEMENTS = {
    "Engagement": ("active_customers", "revenue"),
    "Success": ("csat", "ces"),
    "Life cycle": ("retention", "active_customers"),
    "Loyalty": ("nps", "repeat_rate", "retention"),
}


def core_elements(card: pl.DataFrame) -> pl.DataFrame:
    """The four core elements of a CX program from the scorecard: element, status, metrics (the
    cards behind it), sentence. Only changes beyond chance count: declining if any of its metrics
    declines significantly, improving if one improves and none declines, steady otherwise
    (including metrics with too few answers to compare), unknown when none has data."""
    by = {r["key"]: r for r in card.iter_rows(named=True)}
    out = []
    for element, keys in ELEMENTS.items():
        st = [by[k]["status"] for k in keys if k in by]
        known = [x for x in st if x != "unknown"]
        status = ("unknown" if not known else "declining" if "declining" in known
                  else "improving" if "improving" in known else "steady")
        parts = [_phrase(by[k]) for k in keys if k in by and by[k]["status"] != "unknown"]
        out.append({"element": element, "status": status, "metrics": list(keys),
                    "sentence": "; ".join(parts) if parts else "No data for this element yet."})
    return pl.DataFrame(out)


def _phrase(r: dict) -> str:
    verb = {"improving": "up", "declining": "down"}.get(r["status"])
    now = fmt(r["unit"], r["value"])
    if r["previous"] is None:
        return f"{r['label']} {now}"
    if verb:
        return f"{r['label']} {verb} ({fmt(r['unit'], r['previous'])} → {now})"
    if r["status"] == "few":
        return f"{r['label']} {now} ({r['note']})" if r.get("note") else f"{r['label']} {now}"
    return f"{r['label']} steady at {now}" + (" (the change could be chance)" if r.get("delta") else "")
