"""The leadership view: KPI cards with period-over-period deltas and sparklines, the four core
elements of a CX program, and what changed since the previous period, in words.

Nothing here defines a metric: every number comes from the one function that defines it
(profile, lifecycle, loyalty, clv), called with the same data handle (:mod:`cx.data`), and is
compared between the last two *full* periods (a period the data covers only partly is never
compared with a full one).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import ibis
import polars as pl
from ibis import _

from . import lifecycle, loyalty, profile, stats
from .data import Data, uses_data
from .expr import initiated, period_start
from .filters import Filters
from .fmt import MISSING, money
from .store import CXError
from .terms import Term

PERIODS = ("week", "month")
SPARK = 12  # periods in a sparkline


@dataclass(frozen=True)
class Card:
    key: str  # glossary key
    label: str
    unit: str  # int | money | pct | score | ces
    better: str  # up | down
    page: str  # url path of the drill-down
    needs: str  # what data the card needs, said when it is missing
    counts: str = "answers"  # what its n counts, in words


CARDS = (
    Card("active_customers", "Active customers", "int", "up", "lifecycle",
         "interactions with a timestamp", "customers"),
    Card("revenue", "Revenue", "money", "up", "value", "an amount column (purchases > 0)", "customers"),
    Card("retention", "Retention", "pct", "up", "lifecycle",
         "two full periods of activity", "customers"),
    Card("repeat_rate", "Repeat purchases", "pct", "up", "value",
         "purchases: an amount > 0 or a purchase touchpoint", "buyers"),
    Card("nps", "NPS", "score", "up", "loyalty", "feedback answers with metric = nps (0–10)"),
    Card("csat", "CSAT", "pct", "up", "loyalty", "feedback answers with metric = csat (1–5)"),
    Card("ces", "CES", "ces", "up", "loyalty", "feedback answers with metric = ces (1–7, 7 = easy)"),
    Card("avg_clv", "Average CLV", "money", "up", "value",
         "purchases (amount > 0) with repeat buyers, for the lifetime-value model", "buyers"),
    Card("health", "Health score", "score", "up", "loyalty",
         "interactions with direction, value_given or department/channel", "customers"),
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
def period_stats(d: Data, period: str = "month", filters: Filters | None = None,
                 dataset: str | None = None) -> pl.DataFrame:
    """One row per full period (the last `SPARK`): period, each card's value that period (null
    when the data has none, as :func:`period_series`), and the aggregates its test needs
    (cx.stats): revenue_sq (Σ of customers' squared revenue), retention_k / retention_n (returning /
    returning + dormant), repeat_k / repeat_n (repeat buyers / buyers), nps_n, nps_prom, nps_det,
    csat_n, csat_k, ces_n, ces_sum, ces_sumsq. Each comes from the query that gives the figure."""
    _check(period)
    full = _full_periods(d, period)
    periods = full["period"].to_list()[-SPARK:]
    cols = {"active_customers": _series(full, "active_customers", periods),
            "revenue": _series(full, "revenue", periods), "revenue_sq": _series(full, "revenue_sq", periods)}
    if d.has("feedback"):
        for m in ("nps", "csat", "ces"):
            tr = _on(d, loyalty.score_trend, m, period=period)
            tr = tr.with_columns(_good=(pl.col("share_good") * pl.col("n")).round(0),
                                 _bad=(pl.col("share_bad") * pl.col("n")).round(0),
                                 _sum=pl.col("mean_score") * pl.col("n"), _sq=pl.col("mean_score_sq") * pl.col("n"))
            cols[m] = _series(tr, "value", periods)
            cols[f"{m}_n"] = _series(tr, "n", periods)
            if m == "nps":
                cols["nps_prom"], cols["nps_det"] = _series(tr, "_good", periods), _series(tr, "_bad", periods)
            elif m == "csat":
                cols["csat_k"] = _series(tr, "_good", periods)
            else:
                cols["ces_sum"], cols["ces_sumsq"] = _series(tr, "_sum", periods), _series(tr, "_sq", periods)
    lc = lifecycle.lifecycle(d, period)
    lc = lc.with_columns(retention_k=pl.col("returning"), retention_n=pl.col("returning") + pl.col("dormant"))
    lc = lc.with_columns(retention=pl.when(pl.col("retention_n") > 0)
                         .then(100.0 * pl.col("retention_k") / pl.col("retention_n")))
    for c in ("retention", "retention_k", "retention_n"):
        cols[c] = _series(lc, c, periods)
    pa = profile.purchase_activity(d, period=period)
    cols["repeat_rate"] = _series(pa.with_columns(pl.col("repeat_rate") * 100), "repeat_rate", periods)
    cols["repeat_k"], cols["repeat_n"] = _series(pa, "repeat_buyers", periods), _series(pa, "buyers", periods)
    return pl.DataFrame({"period": periods, **cols}, schema_overrides={k: pl.Float64 for k in cols})


@uses_data
def period_series(d: Data, period: str = "month", filters: Filters | None = None,
                  dataset: str | None = None) -> pl.DataFrame:
    """One row per full period (the last `SPARK`): period and each card's value that period
    (null when the data has none): active_customers and revenue (profile.activity), nps / csat /
    ces (loyalty.score_trend), retention = returning ÷ (returning + dormant) of
    lifecycle.lifecycle (the share of last period's active customers active again), repeat_rate
    (profile.purchase_activity)."""
    s = period_stats(d, period)
    keep = [c.key for c in CARDS if c.key in s.columns]
    return s.select("period", *keep)


def _value(r: dict | None, col: str):
    return None if r is None else r.get(col)


def _change(key: str, a: dict | None, b: dict | None, level: float) -> stats.Change | None:
    """The test of a card's change from period a to period b (cx.stats), in the card's own unit
    (percentages and scores in points); None when a period is missing."""
    if a is None or b is None:
        return None
    g = lambda r, c: r.get(c) if r.get(c) is not None else 0.0  # noqa: E731
    if key == "active_customers":
        if a.get(key) is None or b.get(key) is None:
            return None
        return stats.count_change(int(g(a, key)), int(g(b, key)), level)
    if key == "revenue":
        if a.get(key) is None or b.get(key) is None:
            return None
        return stats.total_change(g(a, "revenue"), g(a, "revenue_sq"), int(g(a, "active_customers")),
                                  g(b, "revenue"), g(b, "revenue_sq"), int(g(b, "active_customers")), level)
    if key in ("retention", "repeat_rate", "csat"):
        k, n = {"retention": ("retention_k", "retention_n"), "repeat_rate": ("repeat_k", "repeat_n"),
                "csat": ("csat_k", "csat_n")}[key]
        if not a.get(n) or not b.get(n):
            return None
        ch = stats.rate_change(int(g(a, k)), int(g(a, n)), int(g(b, k)), int(g(b, n)), level)
        return _points(ch)
    if key == "nps":
        if not a.get("nps_n") or not b.get("nps_n"):
            return None
        return stats.nps_change(int(g(a, "nps_prom")), int(g(a, "nps_det")), int(g(a, "nps_n")),
                                int(g(b, "nps_prom")), int(g(b, "nps_det")), int(g(b, "nps_n")), level)
    if key == "ces":
        if not a.get("ces_n") or not b.get("ces_n"):
            return None
        return stats.mean_change(int(g(a, "ces_n")), g(a, "ces_sum"), g(a, "ces_sumsq"),
                                 int(g(b, "ces_n")), g(b, "ces_sum"), g(b, "ces_sumsq"), level)
    return None


def _points(ch: stats.Change) -> stats.Change:
    """A change of shares (0..1) in percentage points."""
    m = lambda v: None if v is None else 100.0 * v  # noqa: E731
    return replace(ch, a=m(ch.a), b=m(ch.b), diff=m(ch.diff), low=m(ch.low), high=m(ch.high))


def _status(key: str, ch: stats.Change | None) -> str:
    """improving / declining only when the test says the change is beyond chance; steady when it
    could be chance; few when a period has too few answers to compare; unknown without data."""
    if ch is None:
        return "unknown"
    way = ch.direction()
    if way in ("up", "down"):
        return "improving" if (way == "up") == (CARD_BY_KEY[key].better == "up") else "declining"
    return way  # steady | few | unknown


def _note(c: Card, ch: stats.Change | None, status: str) -> str | None:
    if ch is None or ch.diff is None:
        return None
    if status == "few":
        return stats.few(min(ch.n_a, ch.n_b), c.counts)
    shown = fmt_delta(c.unit, ch.diff, ch.margin)
    if status == "steady":
        return f"{shown}: could be chance (within normal variation)"
    return f"{shown}: beyond chance (p = {ch.p_value:.3f})" if ch.p_value >= 0.001 else f"{shown}: beyond chance (p < 0.001)"


@uses_data
def changes(d: Data, period: str = "month", filters: Filters | None = None, dataset: str | None = None,
            level: float = stats.LEVEL) -> pl.DataFrame:
    """Every card's change between each pair of consecutive full periods (the last SPARK), tested
    as the scorecard tests the last pair: period, key, value, previous, delta, margin, p_value,
    status. (The overview's history: what alerts and the simulation test read.)"""
    s = period_stats(d, period).to_dicts()
    out = []
    for a, b in zip(s, s[1:]):
        for c in CARDS:
            if c.key not in b:
                continue
            ch = _change(c.key, a, b, level)
            out.append({"period": b["period"], "key": c.key, "value": b.get(c.key), "previous": a.get(c.key),
                        "delta": ch.diff if ch else None, "margin": ch.margin if ch else None,
                        "p_value": ch.p_value if ch else None,
                        "status": _status(c.key, ch) if b.get(c.key) is not None else "unknown"})
    return pl.DataFrame(out, schema={"period": pl.Date, "key": pl.Utf8, "value": pl.Float64, "previous": pl.Float64,
                                     "delta": pl.Float64, "margin": pl.Float64, "p_value": pl.Float64,
                                     "status": pl.Utf8})


@uses_data
def scorecard(d: Data, period: str = "month", filters: Filters | None = None,
              dataset: str | None = None, with_model: bool = True, level: float = stats.LEVEL) -> pl.DataFrame:
    """One row per KPI card: key, label, unit, value (the last full period; for avg_clv and health
    the whole filtered history), previous (the full period before), delta, status, spark (the last
    SPARK full periods), period (the one shown), needs (what data is missing, or null), page
    (drill-down); and the statistics: n and n_previous (the answers or units behind the two
    periods), delta_low / delta_high (the interval of the change), margin (its half-width), p_value,
    value_low / value_high (the interval of the value) and note (the change in words).

    status: improving or declining only when the change is significant at `level` (cx.stats: the
    NPS multinomial z-test, Newcombe/z for rates, Welch's t for CES, the exact Poisson test for
    active customers, a compound-Poisson z-test for revenue); steady when it could be chance; few
    when either period has fewer than cx.stats.MIN_N answers (rates and scores); unknown without
    data. avg_clv = mean predicted CLV over buyers (clv.customer_value, 12 months, 10%/year, a
    bootstrap interval over buyers); health = mean relationship-health score
    (loyalty.relationship_summary, a t interval over customers)."""
    s = period_stats(d, period)
    last = s["period"][-1] if s.height else None
    short = None if s.height else f"a full {period} of data (the data covers only part of one)"
    rows_ = s.to_dicts()
    cur = rows_[-1] if rows_ else None
    prev = rows_[-2] if len(rows_) >= 2 else None
    rows = []
    for c in CARDS:
        value = previous = None
        spark: list = []
        needs = None
        ch = None
        level_est = None
        n = n_prev = None
        if c.key in s.columns:
            col = s[c.key].to_list()
            spark = list(col)
            value = col[-1] if col else None
            previous = col[-2] if len(col) >= 2 else None
            if all(v is None for v in col):
                needs = short or c.needs
            ch = _change(c.key, prev, cur, level)
            level_est = _level(c.key, cur, level)
            n, n_prev = _n(c.key, cur), _n(c.key, prev)
        elif c.key in ("avg_clv", "health") and with_model:
            try:
                if c.key == "avg_clv":
                    from . import clv

                    df = _on(d, clv.customer_value).customers
                    level_est = stats.bootstrap_mean(df["predicted_clv"].to_list(), level) if df.height else None
                else:
                    h = _on(d, loyalty.relationship_summary)
                    r = h.row(0, named=True) if h.height else {}
                    if r.get("health") is not None and r.get("health_n"):
                        nn = int(r["health_n"])
                        level_est = stats.mean(nn, r["health"] * nn, r["health_sq"] * nn, level)
            except CXError:
                level_est = None
            value = level_est.value if level_est is not None else None
            n = level_est.n if level_est is not None else None
            if value is None:
                needs = c.needs
        else:
            needs = c.needs
        if c.key == "revenue" and value == 0 and all(not v for v in spark):
            value, needs, ch = None, c.needs, None
        status = _status(c.key, ch) if value is not None else "unknown"
        rows.append({"key": c.key, "label": c.label, "unit": c.unit, "value": value, "previous": previous,
                     "delta": None if value is None or previous is None else value - previous,
                     "status": status, "spark": spark, "period": last, "needs": needs, "page": c.page,
                     "n": n, "n_previous": n_prev,
                     "delta_low": ch.low if ch is not None else None, "delta_high": ch.high if ch is not None else None,
                     "margin": ch.margin if ch is not None else None,
                     "p_value": ch.p_value if ch is not None else None,
                     "value_low": level_est.low if level_est is not None else None,
                     "value_high": level_est.high if level_est is not None else None,
                     "note": _note(c, ch, status) if value is not None else None})
    return pl.DataFrame(rows, schema={"key": pl.Utf8, "label": pl.Utf8, "unit": pl.Utf8, "value": pl.Float64,
                                      "previous": pl.Float64, "delta": pl.Float64, "status": pl.Utf8,
                                      "spark": pl.List(pl.Float64), "period": pl.Date, "needs": pl.Utf8,
                                      "page": pl.Utf8, "n": pl.Int64, "n_previous": pl.Int64,
                                      "delta_low": pl.Float64, "delta_high": pl.Float64, "margin": pl.Float64,
                                      "p_value": pl.Float64, "value_low": pl.Float64, "value_high": pl.Float64,
                                      "note": pl.Utf8})


def _n(key: str, r: dict | None) -> int | None:
    """The answers or units behind a card's value in one period."""
    if r is None:
        return None
    col = {"active_customers": "active_customers", "revenue": "active_customers", "retention": "retention_n",
           "repeat_rate": "repeat_n", "nps": "nps_n", "csat": "csat_n", "ces": "ces_n"}[key]
    v = r.get(col)
    return None if v is None else int(v)


def _level(key: str, r: dict | None, level: float) -> stats.Estimate | None:
    """The interval of a card's value in one period, in the card's unit."""
    if r is None or r.get(key) is None:
        return None
    g = lambda c: r.get(c) or 0  # noqa: E731
    if key == "active_customers":
        return stats.count(int(g(key)), level)
    if key == "revenue":
        return stats.total(g("revenue"), g("revenue_sq"), int(g("active_customers")), level)
    if key == "nps":
        return stats.nps(int(g("nps_prom")), int(g("nps_det")), int(g("nps_n")), level)
    if key == "ces":
        return stats.mean(int(g("ces_n")), g("ces_sum"), g("ces_sumsq"), level)
    k, n = {"retention": ("retention_k", "retention_n"), "repeat_rate": ("repeat_k", "repeat_n"),
            "csat": ("csat_k", "csat_n")}[key]
    e = stats.rate(int(g(k)), int(g(n)), level)
    pct = lambda v: None if v is None else 100.0 * v  # noqa: E731
    return stats.Estimate(pct(e.value), pct(e.low), pct(e.high), e.n)


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


def fmt_delta(unit: str, d, margin: float | None = None) -> str | None:
    """A card's change, signed: +85, -2.1k, +3 pts (percentages and scores move in points), with
    its margin when given: "-5 ± 19 pts" (the change's 95% interval is -24 to +14)."""
    if d is None:
        return None
    body = {"int": "int", "money": "money", "ces": "ces"}.get(unit)

    def one(v):
        return fmt(body, abs(v)) if body else f"{abs(v):.0f}"
    tail = "" if body else " pts"
    pm = f" ± {one(margin)}" if margin is not None else ""
    return ("+" if d >= 0 else "-") + one(d) + pm + tail


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


DIMENSIONS = ("channel", "persona")
MOVER_COLUMNS = {"metric": pl.Utf8, "dimension": pl.Utf8, "group": pl.Utf8, "previous": pl.Float64,
                 "value": pl.Float64, "change": pl.Float64, "margin": pl.Float64, "p_value": pl.Float64,
                 "p_adjusted": pl.Float64, "significant": pl.Boolean, "sentence": pl.Utf8}


def _no_movers() -> pl.DataFrame:
    return pl.DataFrame(schema=MOVER_COLUMNS)


@uses_data
def movers(d: Data, period: str = "month", filters: Filters | None = None, dataset: str | None = None,
           top: int = 5, level: float = stats.LEVEL) -> pl.DataFrame:
    """What changed between the last two full periods: active customers and revenue per channel
    and per persona (customers table). Every group is tested (exact Poisson test for active
    customers, compound-Poisson z-test for revenue: cx.stats) and, because many groups are
    scanned, the false-discovery rate is controlled across them (Benjamini–Hochberg at 1 − level).
    One row per group and metric: metric, dimension, group, previous, value, change, margin (of the
    change), p_value, p_adjusted, significant, sentence. The significant ones come first, largest
    change relative to the total first (at most `top` of them); then the others, which could be
    chance. Active customers as in profile.activity (not outbound)."""
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
        per = tt.group_by(["_g", "period", "customer_id"]).aggregate(_own=_._own.any(),
                                                                     _rev=_.amount.sum().fill_null(0))
        g = per.group_by(["_g", "period"]).aggregate(active_customers=_._own.cast("int64").sum(),
                                                     revenue=_._rev.sum(), revenue_sq=(_._rev * _._rev).sum())
        parts.append(g.mutate(dimension=ibis.literal(dim)))
    if not parts:
        return _no_movers()
    df = ibis.union(*parts).to_polars()
    p, c = str(prev), str(cur)
    rows = []
    for (dim, grp), g in df.group_by(["dimension", "_g"], maintain_order=True):
        by = {str(r["period"]): r for r in g.iter_rows(named=True)}
        a, b = by.get(p, {}), by.get(c, {})
        ac = stats.count_change(int(a.get("active_customers") or 0), int(b.get("active_customers") or 0), level)
        rv = stats.total_change(a.get("revenue") or 0.0, a.get("revenue_sq") or 0.0, int(a.get("active_customers") or 0),
                                b.get("revenue") or 0.0, b.get("revenue_sq") or 0.0,
                                int(b.get("active_customers") or 0), level)
        for metric, ch in (("active_customers", ac), ("revenue", rv)):
            rows.append({"metric": metric, "dimension": dim, "group": grp, "previous": ch.a or 0.0,
                         "value": ch.b or 0.0, "change": ch.diff or 0.0, "margin": ch.margin, "p_value": ch.p_value})
    out = pl.DataFrame(rows, schema={k: MOVER_COLUMNS[k] for k in ("metric", "dimension", "group", "previous",
                                                                    "value", "change", "margin", "p_value")})
    money_moved = out.filter((pl.col("metric") == "revenue") & ((pl.col("previous") != 0) | (pl.col("value") != 0)))
    if not money_moved.height:
        out = out.filter(pl.col("metric") != "revenue")  # no money in the data: nothing to say about it
    out = out.filter((pl.col("previous") != 0) | (pl.col("value") != 0))  # nothing to nothing is no change
    if not out.height:
        return _no_movers()
    reject, adjusted = stats.fdr(out["p_value"].to_list(), 1 - level)
    out = out.with_columns(pl.Series("p_adjusted", adjusted), pl.Series("significant", reject))
    total = {m: out.filter((pl.col("metric") == m) & (pl.col("dimension") == out["dimension"][0]))
             .select(pl.col("previous").sum()).item() or 1.0 for m in out["metric"].unique().to_list()}
    out = out.with_columns(_rel=pl.col("change").abs() / pl.col("metric").replace_strict(total, return_dtype=pl.Float64))
    out = out.sort(["significant", "_rel", "metric", "dimension", "group"], descending=[True, True, False, False, False])
    sig = out.filter(pl.col("significant")).head(top)
    out = pl.concat([sig, out.filter(~pl.col("significant"))])
    label = {"active_customers": "Active customers", "revenue": "Revenue"}
    when = f"in {cur:%B %Y}" if period == "month" else f"in the week of {cur:%d %b %Y}"
    unit = {"active_customers": "int", "revenue": "money"}

    def sentence(r):
        up = "rose" if r["change"] > 0 else "fell"
        u = unit[r["metric"]]
        pm = f" ± {fmt(u, r['margin'])}" if r["margin"] is not None else ""
        tail = "." if r["significant"] else ": could be chance."
        return (f"{label[r['metric']]} with {r['dimension']} {r['group']} {up} by {fmt(u, abs(r['change']))}{pm} "
                f"({fmt(u, r['previous'])} → {fmt(u, r['value'])}) {when}{tail}")

    return out.drop("_rel").with_columns(pl.Series("sentence", [sentence(r) for r in out.iter_rows(named=True)],
                                                   dtype=pl.Utf8)).select(list(MOVER_COLUMNS))


def nothing_changed(period: str, when: date | None) -> str:
    """The sentence for a scan in which no group passed the test."""
    shown = "" if when is None else (f" in {when:%B %Y}" if period == "month" else f" in the week of {when:%d %b %Y}")
    return (f"Nothing changed beyond normal variation{shown}: no channel or persona moved more than chance "
            f"would explain.")


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
