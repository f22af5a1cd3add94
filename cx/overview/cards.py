"""The KPI cards: each card's value per full period, the aggregates its test needs, the change
between the last two full periods tested against chance (cx.stats), and how a card reads."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import polars as pl

from .. import lifecycle, loyalty, profile, stats
from ..data import Data, uses_data
from ..filters import Filters
from ..fmt import MISSING, money
from ..store import CXError


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
    Card("revenue", "Revenue", "money", "up", "value", "an amount column (revenue on purchases)", "customers"),
    Card("retention", "Retention", "pct", "up", "lifecycle",
         "two full periods of activity", "customers"),
    Card("repeat_rate", "Repeat purchases", "pct", "up", "value",
         "purchases: an amount > 0 or a purchase touchpoint", "buyers"),
    Card("nps", "NPS", "score", "up", "loyalty", "feedback answers with metric = nps (0–10)"),
    Card("csat", "CSAT", "pct", "up", "loyalty", "feedback answers with metric = csat (1–5)"),
    Card("ces", "CES", "ces", "up", "loyalty", "feedback answers with metric = ces (1–7, 7 = easy)"),
    Card("avg_clv", "Average CLV", "money", "up", "value",
         "purchases with amounts (> 0) by repeat buyers, for the lifetime-value model", "buyers"),
    Card("health", "Health score", "score", "up", "loyalty",
         "interactions with direction, value_given or department/channel", "customers"),
)
CARD_BY_KEY = {c.key: c for c in CARDS}


def _check(period: str) -> None:
    if period not in PERIODS:
        raise CXError(f"The overview compares weeks or months, not '{period}'.")


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
            tr = loyalty.score_trend(d, m, period=period)
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


HEALTH_PARTS = {"dialogue": "two-way dialogue", "responsiveness": "responsiveness", "exchange": "exchange of value",
                "recognition": "recognition"}


def health_basis(summary: dict) -> str:
    """What a relationship-health value is made of: the components the data measures, and those it
    cannot (left out of the score, never counted as zero). `summary`: a row of
    loyalty.relationship_summary."""
    have = [w for k, w in HEALTH_PARTS.items() if summary.get(k) is not None]
    lack = [w for k, w in HEALTH_PARTS.items() if summary.get(k) is None]
    return ("From " + ", ".join(have) + (f"; no data for {', '.join(lack)} (left out)" if lack else "")
            if have else "No component has data")


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
        basis = None
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
                    from .. import clv

                    vm = clv.customer_value(d)
                    df = vm.customers
                    level_est = (stats.bootstrap_mean(df["predicted_clv"].to_list(), level)
                                 if df.height and vm.money else None)
                else:
                    h = loyalty.relationship_summary(d)
                    r = h.row(0, named=True) if h.height else {}
                    if r.get("health") is not None and r.get("health_n"):
                        nn = int(r["health_n"])
                        level_est = stats.mean(nn, r["health"] * nn, r["health_sq"] * nn, level)
                        basis = health_basis(r)
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
                     "note": (basis if c.key == "health" else _note(c, ch, status)) if value is not None else None})
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
