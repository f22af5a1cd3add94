"""The top of a drill-down page opened from an overview card: the card's metric and period travel
in the link (?kpi=nps&kpi_per=month&kpi_at=2025-10-01); the page says what that period's figure
was, how it relates to the whole history under the filters, and shows the KPI's control chart."""
from __future__ import annotations

from datetime import date

import streamlit as st

from cx import loyalty, overview
from cx.charts import overview as oc

from .cache import call, figures
from .widgets import chart

oc = figures(oc)
PARAMS = ("kpi", "kpi_per", "kpi_at")
_UNIT = {"pct": "%", "score": "", "ces": "", "int": "", "money": ""}


def card_link_params(key: str, period: str, at) -> dict[str, str]:
    """The query parameters a card's Details link carries."""
    return {"kpi": key, "kpi_per": period, "kpi_at": at.isoformat() if at else ""}


def _when(at: date, period: str) -> str:
    return f"{at:%B %Y}" if period == "month" else f"the week of {at:%d %b %Y}"


def kpi_focus(keys: tuple[str, ...], f) -> None:
    """Draw the banner and control chart when the page was opened from one of these cards."""
    qp = st.query_params
    key = qp.get("kpi")
    if key not in keys:
        return
    card = overview.CARD_BY_KEY[key]
    per = qp.get("kpi_per") if qp.get("kpi_per") in overview.PERIODS else "month"
    try:
        at = date.fromisoformat(qp.get("kpi_at") or "")
    except ValueError:
        at = None
    hist = call(overview.kpi_history, key, period=per, filters=f)
    with st.container(border=True):
        if not hist.height:
            st.caption(f"{card.label}: no full {per} to show.")
            return
        row = next((r for r in hist.iter_rows(named=True) if r["period"] == at), None) if at else None
        unit = _UNIT.get(card.unit, "")
        fmt = lambda v: overview.fmt(card.unit, v)  # noqa: E731
        lines = []
        if row is not None:
            band = (f", 95% interval {fmt(row['low'])} to {fmt(row['high'])}" if row["low"] is not None
                    and row["high"] is not None else "")
            n = f" from {row['n']:,} {card.counts}" if row["n"] is not None else ""
            lines.append(f"**{card.label} in {_when(at, per)}: {fmt(row['value'])}**{n}{band}.")
            lines.append(f"Against its history ({hist.height} full {per}s): "
                         + (row["signal"] + "." if row["signal"] else
                            "within the control limits, ordinary variation for this process."))
        elif at is not None:
            lines.append(f"{_when(at, per).capitalize()} is not a full {per} of this data under the current filters.")
        lines.append(_whole_history(key, card, hist, per, f))
        st.markdown(" ".join(lines))
        goal = _target(key)
        if goal is not None:
            lines.append(f"Target: {fmt(goal)} (the dotted line; set on the Cases page).")
            st.markdown(lines[-1])
        chart(oc.control_chart(hist, card.label, unit, focus=at, target=goal), key=f"kpi_focus_{key}",
              caption="Dashed: control limits from the history (a p-chart for shares, an individuals chart "
                      "otherwise). Red points are unusual for the process (outside the limits, or the end of a run "
                      "of 8 on one side or a trend of 6); bars are each period's 95% interval.")
        if st.button("Show the whole history only", key="kpi_focus_close", icon=":material/close:"):
            for p in PARAMS:
                if p in st.query_params:
                    del st.query_params[p]
            st.rerun()


def _target(key: str):
    """The KPI's target (the closed loop's targets), or None."""
    from .loop import loop_call
    from cx.cases import alerts

    try:
        return loop_call(alerts.targets)[0].get(key)
    except Exception:  # noqa: BLE001 - a database without the loop's tables (read-only, Spark): no goal line
        return None


def _whole_history(key: str, card, hist, per: str, f) -> str:
    """The all-history figure the page shows below, and how the period relates to it."""
    if key in ("nps", "csat", "ces"):
        s = call(loyalty.score_summary, key, filters=f)
        if s.height:
            r = s.row(0, named=True)
            return (f"The page below covers the whole history under your filters: {card.label} "
                    f"{overview.fmt(card.unit, r['value'])} from {r['n']:,} answers.")
    center = hist["center"][0]
    return (f"The page below covers the whole history under your filters; the average {per} "
            f"(the centre line) is {overview.fmt(card.unit, center)}.")
