"""The leadership view: KPI cards with period-over-period deltas and sparklines, the four core
elements of a CX program, and what changed since the previous period, in words.

Nothing here defines a metric: every number comes from the one function that defines it
(profile, lifecycle, loyalty, clv), called with the same data handle (:mod:`cx.data`), and is
compared between the last two *full* periods (a period the data covers only partly is never
compared with a full one).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis
import polars as pl
from ibis import _

from . import lifecycle, loyalty, profile
from .data import Data, uses_data
from .expr import initiated, period_start
from .filters import Filters
from .fmt import MISSING, money
from .store import CXError
from .terms import Term

PERIODS = ("week", "month")
SPARK = 12  # periods in a sparkline
# a change counts (improving / declining) beyond this share of the previous value, or beyond
# these points for scores on their own scale
THRESHOLD_REL = 0.02
THRESHOLD_ABS = {"nps": 2.0, "csat": 1.0, "ces": 0.05, "retention": 1.0, "repeat_rate": 1.0}


@dataclass(frozen=True)
class Card:
    key: str  # glossary key
    label: str
    unit: str  # int | money | pct | score | ces
    better: str  # up | down
    page: str  # url path of the drill-down
    needs: str  # what data the card needs, said when it is missing


CARDS = (
    Card("active_customers", "Active customers", "int", "up", "lifecycle",
         "interactions with a timestamp"),
    Card("revenue", "Revenue", "money", "up", "value", "an amount column (purchases > 0)"),
    Card("retention", "Retention", "pct", "up", "lifecycle",
         "two full periods of activity"),
    Card("repeat_rate", "Repeat purchases", "pct", "up", "value", "an amount column (purchases > 0)"),
    Card("nps", "NPS", "score", "up", "loyalty", "feedback answers with metric = nps (0–10)"),
    Card("csat", "CSAT", "pct", "up", "loyalty", "feedback answers with metric = csat (1–5)"),
    Card("ces", "CES", "ces", "up", "loyalty", "feedback answers with metric = ces (1–7, 7 = easy)"),
    Card("avg_clv", "Average CLV", "money", "up", "value",
         "purchases (amount > 0) with repeat buyers, for the lifetime-value model"),
    Card("health", "Health score", "score", "up", "loyalty",
         "interactions with direction, value_given or department/channel"),
)
CARD_BY_KEY = {c.key: c for c in CARDS}


def _check(period: str) -> None:
    if period not in PERIODS:
        raise CXError(f"The overview compares weeks or months, not '{period}'.")


def _on(d: Data, fn, *args, **kw):
    """`fn(d, ...)`: another area's metric on the same handle. (While an area still takes the older
    form, store with filters= and dataset=, it gets that instead.)"""
    if getattr(fn, "uses_data", False):
        return fn(d, *args, **kw)
    return fn(d.store, *args, filters=d.filters, dataset=d.name, **kw)


def _full_periods(d: Data, period) -> pl.DataFrame:
    """Activity per period with the partial periods dropped (the ones compared)."""
    a = profile.activity(d, period=period)
    return a.filter(~pl.col("partial"))


def _series(df: pl.DataFrame, col: str, periods: list[date]) -> list[float | None]:
    m = dict(zip(df["period"].to_list(), df[col].to_list())) if df.height else {}
    return [None if m.get(p) is None else float(m[p]) for p in periods]


@uses_data
def period_series(d: Data, period: str = "month", filters: Filters | None = None,
                  dataset: str | None = None) -> pl.DataFrame:
    """One row per full period (the last `SPARK`): period and each card's value that period
    (null when the data has none): active_customers and revenue (profile.activity), nps / csat /
    ces (loyalty.score_trend), retention = returning ÷ (returning + dormant) of
    lifecycle.lifecycle (the share of last period's active customers active again), repeat_rate
    (profile.purchase_activity)."""
    _check(period)
    full = _full_periods(d, period)
    periods = full["period"].to_list()[-SPARK:]
    cols = {"active_customers": _series(full, "active_customers", periods),
            "revenue": _series(full, "revenue", periods)}
    if d.has("feedback"):
        for m in ("nps", "csat", "ces"):
            tr = _on(d, loyalty.score_trend, m, period=period)
            cols[m] = _series(tr, "value", periods)
    lc = lifecycle.lifecycle(d, period)
    lc = lc.with_columns(retention=pl.when(pl.col("returning") + pl.col("dormant") > 0)
                         .then(100.0 * pl.col("returning") / (pl.col("returning") + pl.col("dormant"))))
    cols["retention"] = _series(lc, "retention", periods)
    pa = profile.purchase_activity(d, period=period)
    cols["repeat_rate"] = _series(pa.with_columns(pl.col("repeat_rate") * 100), "repeat_rate", periods)
    return pl.DataFrame({"period": periods, **cols}, schema_overrides={k: pl.Float64 for k in cols})


def _status(key: str, value, previous) -> str:
    if value is None or previous is None:
        return "unknown"
    d = value - previous
    if key in THRESHOLD_ABS:
        big = abs(d) >= THRESHOLD_ABS[key]
    else:
        big = previous != 0 and abs(d) / abs(previous) >= THRESHOLD_REL
    if not big:
        return "steady"
    up = d > 0
    return "improving" if up == (CARD_BY_KEY[key].better == "up") else "declining"


@uses_data
def scorecard(d: Data, period: str = "month", filters: Filters | None = None,
              dataset: str | None = None, with_model: bool = True) -> pl.DataFrame:
    """One row per KPI card: key, label, unit, value (the last full period; for avg_clv and health
    the whole filtered history), previous (the full period before), delta, status (improving /
    steady / declining / unknown, by THRESHOLD_REL or THRESHOLD_ABS), spark (the last SPARK full
    periods), period (the one shown), needs (what data is missing, or null), page (drill-down).
    avg_clv = mean predicted CLV over buyers (clv.customer_value, 12 months, 10%/year);
    health = mean relationship-health score (loyalty.relationship_summary)."""
    s = period_series(d, period)
    last = s["period"][-1] if s.height else None
    short = None if s.height else f"a full {period} of data (the data covers only part of one)"
    rows = []
    for c in CARDS:
        value = previous = None
        spark: list = []
        needs = None
        if c.key in s.columns:
            col = s[c.key].to_list()
            spark = [v for v in col]
            value = col[-1] if col else None
            previous = col[-2] if len(col) >= 2 else None
            if all(v is None for v in col):
                needs = short or c.needs
        elif c.key in ("avg_clv", "health") and with_model:
            try:
                if c.key == "avg_clv":
                    from . import clv

                    df = _on(d, clv.customer_value).customers
                    value = float(df["predicted_clv"].mean()) if df.height else None
                else:
                    h = _on(d, loyalty.relationship_summary)
                    value = float(h["health"][0]) if h.height and h["health"][0] is not None else None
            except CXError:
                value = None
            if value is None:
                needs = c.needs
        else:
            needs = c.needs
        if c.key == "revenue" and value == 0 and all(not v for v in spark):
            value, needs = None, c.needs
        rows.append({"key": c.key, "label": c.label, "unit": c.unit, "value": value, "previous": previous,
                     "delta": None if value is None or previous is None else value - previous,
                     "status": _status(c.key, value, previous), "spark": spark, "period": last,
                     "needs": needs, "page": c.page})
    return pl.DataFrame(rows, schema={"key": pl.Utf8, "label": pl.Utf8, "unit": pl.Utf8, "value": pl.Float64,
                                      "previous": pl.Float64, "delta": pl.Float64, "status": pl.Utf8,
                                      "spark": pl.List(pl.Float64), "period": pl.Date, "needs": pl.Utf8,
                                      "page": pl.Utf8})


ELEMENTS = {
    "Engagement": ("active_customers", "revenue"),
    "Success": ("csat", "ces"),
    "Life cycle": ("retention", "active_customers"),
    "Loyalty": ("nps", "repeat_rate", "retention"),
}


def core_elements(card: pl.DataFrame) -> pl.DataFrame:
    """The four core elements of a CX program from the scorecard: element, status, metrics (the
    cards behind it), sentence. Status: declining if any of its metrics declines, improving if one
    improves and none declines, steady otherwise, unknown when none has data."""
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


def fmt(unit: str, v) -> str:
    """A card's value in its unit (int, money, pct, ces, score); a dash when missing."""
    if v is None:
        return MISSING
    if unit == "int":
        return f"{v:,.0f}"
    if unit == "money":
        return money(v)
    if unit == "pct":
        return f"{v:.0f}%"
    if unit == "ces":
        return f"{v:.2f}"
    return f"{v:+.0f}" if unit == "score" and v < 0 else f"{v:.0f}"


def fmt_delta(unit: str, d) -> str | None:
    """A card's change, signed: +85, −2.1k, +3 pts (percentages and scores move in points)."""
    if d is None:
        return None
    body = {"int": "int", "money": "money", "ces": "ces"}.get(unit)
    text = fmt(body, abs(d)) if body else f"{abs(d):.0f} pts"
    return ("+" if d >= 0 else "-") + text


def _phrase(r: dict) -> str:
    verb = {"improving": "up", "declining": "down", "steady": "steady"}.get(r["status"], "")
    if r["previous"] is None:
        return f"{r['label']} {fmt(r['unit'], r['value'])}"
    return (f"{r['label']} {verb} ({fmt(r['unit'], r['previous'])} → {fmt(r['unit'], r['value'])})"
            if verb != "steady" else f"{r['label']} steady at {fmt(r['unit'], r['value'])}")


DIMENSIONS = ("channel", "persona")


def _no_movers() -> pl.DataFrame:
    return pl.DataFrame(schema={"metric": pl.Utf8, "dimension": pl.Utf8, "group": pl.Utf8, "previous": pl.Float64,
                                "value": pl.Float64, "change": pl.Float64, "sentence": pl.Utf8})


@uses_data
def movers(d: Data, period: str = "month", filters: Filters | None = None, dataset: str | None = None,
           top: int = 5) -> pl.DataFrame:
    """What changed between the last two full periods: for active customers and revenue per
    channel and per persona (customers table), the groups with the largest absolute change; one
    row each: metric, dimension, group, previous, value, change, sentence; largest first (at most
    `top`). Active customers as in profile.activity (not outbound)."""
    _check(period)
    full = _full_periods(d, period)
    if full.height < 2:
        return _no_movers()
    prev, cur = full["period"][-2], full["period"][-1]
    t = d.interactions
    t = t.mutate(period=period_start(t.timestamp, period), _own=initiated(t))
    t = t.filter(t.period.isin([prev, cur]))
    parts = []
    for dim in DIMENSIONS:
        if dim == "persona":
            if not d.has("customers", "persona"):
                continue
            c = d.table("customers").select(_cid="customer_id", _g="persona")
            tt = t.left_join(c, t.customer_id == c._cid)
        else:
            tt = t.mutate(_g=t[dim])
        tt = tt.mutate(_g=tt._g.cast("string").fill_null("(unknown)"))
        g = tt.group_by(["_g", "period"]).aggregate(active_customers=_.customer_id.nunique(where=_._own),
                                                   revenue=_.amount.sum().fill_null(0))
        parts.append(g.mutate(dimension=ibis.literal(dim)))
    if not parts:
        return _no_movers()
    df = ibis.union(*parts).to_polars()
    rows = []
    for metric in ("active_customers", "revenue"):
        w = df.pivot(on="period", index=["dimension", "_g"], values=metric)
        p, c = str(prev), str(cur)
        w = w.rename({col: str(col) for col in w.columns})
        for col in (p, c):
            if col not in w.columns:
                w = w.with_columns(pl.lit(0.0).alias(col))
        w = w.with_columns(pl.col(p).fill_null(0).cast(pl.Float64), pl.col(c).fill_null(0).cast(pl.Float64))
        w = w.with_columns((pl.col(c) - pl.col(p)).alias("change"), pl.lit(metric).alias("metric"))
        rows.append(w.select("metric", "dimension", pl.col("_g").alias("group"), pl.col(p).alias("previous"),
                             pl.col(c).alias("value"), "change"))
    out = pl.concat(rows)
    total = {m: out.filter((pl.col("metric") == m) & (pl.col("dimension") == out["dimension"][0]))
             .select(pl.col("previous").sum()).item() or 1.0 for m in ("active_customers", "revenue")}
    out = out.with_columns(_rel=pl.col("change").abs() / pl.col("metric").replace_strict(total, return_dtype=pl.Float64))
    out = out.sort(["_rel", "metric", "dimension", "group"], descending=[True, False, False, False]).head(top)
    label = {"active_customers": "Active customers", "revenue": "Revenue"}
    when = f"in {cur:%B %Y}" if period == "month" else f"in the week of {cur:%d %b %Y}"
    unit = {"active_customers": "int", "revenue": "money"}

    def sentence(r):
        up = "rose" if r["change"] > 0 else "fell"
        u = unit[r["metric"]]
        return (f"{label[r['metric']]} with {r['dimension']} {r['group']} {up} by {fmt(u, abs(r['change']))} "
                f"({fmt(u, r['previous'])} → {fmt(u, r['value'])}) {when}.")

    return out.drop("_rel").with_columns(pl.Series("sentence", [sentence(r) for r in out.iter_rows(named=True)],
                                                   dtype=pl.Utf8))


# ----------------------------------------------------------------------------- glossary
_T = Term
GLOSSARY: tuple[Term, ...] = (
    _T("repeat_rate", "Repeat-purchase rate", "Overview",
       "Per period: buyers whose first purchase (in the filtered data) was in an earlier period ÷ customers "
       "who bought in the period.", "cx.profile.purchase_activity", "overview"),
    _T("retention", "Retention", "Overview",
       "Per period: the share of the previous period's active customers who are active again = returning ÷ "
       "(returning + dormant) of the life-cycle states.", "cx.overview.period_series", "lifecycle"),
    _T("scorecard", "KPI cards", "Overview",
       "Each card compares the last two full periods (weeks or months; a period the data covers only partly "
       "is never compared) and draws the last 12 as a sparkline. Status: improving or declining when the "
       "change is at least 2% of the previous value (or 2 NPS points, 1 CSAT or retention point, 0.05 CES), "
       "steady otherwise. Average CLV and relationship health cover the whole filtered history.",
       "cx.overview.scorecard", "overview"),
    _T("core_elements", "Four core elements", "Overview",
       "Engagement (active customers, revenue), success (CSAT, CES), life cycle (retention, active "
       "customers) and loyalty (NPS, repeat-purchase rate, retention): declining if any of its metrics "
       "declines, improving if one improves and none declines, steady otherwise.",
       "cx.overview.core_elements", "overview"),
    _T("movers", "What changed", "Overview",
       "Active customers and revenue per channel and per persona in the last two full periods: the groups "
       "with the largest change relative to the total, in words.", "cx.overview.movers", "overview"),
)
