"""A KPI over time, for its drill-down: each full period's value with its interval, and control
limits from the history (cx.stats: a p-chart for shares, an NPS chart, an x̄ chart for CES, an XmR
chart for counts and revenue) that say whether a period is unusual for the process, in words."""
from __future__ import annotations

import polars as pl

from .. import stats
from ..data import Data, uses_data
from ..filters import Filters
from .cards import CARD_BY_KEY, _level, _n, period_stats

# shares are charted as p-charts of k out of n; the rest as individuals (XmR)
RATE_PARTS = {"retention": ("retention_k", "retention_n"), "repeat_rate": ("repeat_k", "repeat_n"),
              "csat": ("csat_k", "csat_n")}


@uses_data
def kpi_history(d: Data, key: str, period: str = "month", filters: Filters | None = None,
                dataset: str | None = None, level: float = stats.LEVEL) -> pl.DataFrame:
    """One row per full period (the last SPARK) of a KPI card: period, value, n, low / high (the
    value's interval), center, upper, lower (control limits: a p-chart for retention, repeat rate
    and CSAT, whose limits follow each period's n; an XmR chart for the others) and signal (why the
    period is unusual, in words, or empty). Limits from each period's own n where the figure is a
    survey score: an NPS chart (pooled NPS ± 3 multinomial standard errors) and an x̄ chart for
    CES. Cards without a per-period series (average CLV, health) have no history: an empty frame."""
    card = CARD_BY_KEY.get(key)
    schema = {"period": pl.Date, "value": pl.Float64, "n": pl.Int64, "low": pl.Float64, "high": pl.Float64,
              "center": pl.Float64, "upper": pl.Float64, "lower": pl.Float64, "signal": pl.Utf8}
    s = period_stats(d, period)
    if card is None or key not in s.columns:
        return pl.DataFrame(schema=schema)
    rows = [r for r in s.to_dicts() if r.get(key) is not None]
    if not rows:
        return pl.DataFrame(schema=schema)
    scale = 1.0
    if key in RATE_PARTS:
        k, n = RATE_PARTS[key]
        cc = stats.p_chart([r[k] for r in rows], [r[n] for r in rows])
        scale = 100.0  # the card shows percentages
    elif key == "nps":
        cc = stats.nps_chart([r["nps_prom"] for r in rows], [r["nps_det"] for r in rows], [r["nps_n"] for r in rows])
    elif key == "ces":
        cc = stats.mean_chart([r["ces_n"] for r in rows], [r["ces_sum"] for r in rows], [r["ces_sumsq"] for r in rows])
    else:
        cc = stats.xmr([r[key] for r in rows])
    est = [_level(key, r, level) for r in rows]

    def sc(v):
        return None if v is None else v * scale

    return pl.DataFrame({
        "period": [r["period"] for r in rows], "value": [r[key] for r in rows], "n": [_n(key, r) for r in rows],
        "low": [e.low if e else None for e in est], "high": [e.high if e else None for e in est],
        "center": [sc(cc.center)] * len(rows), "upper": [sc(v) for v in cc.upper], "lower": [sc(v) for v in cc.lower],
        "signal": cc.signals}, schema=schema)
