"""Did closing the loop work? Per reason: how fast someone acted, how many cases closed within their
SLA, and the later behaviour of customers whose case was resolved against customers whose case
was not (left open or closed as won't fix), with intervals and tests from cx.stats.

Outcomes of a case are measured in the `window_days` after it opened (data time): retained = the
customer did something themselves (cx.expr.initiated) in that window; repurchased = a purchase
(cx.expr.is_purchase) in it; next score = the customer's next answer of the reason's metric (NPS
for detractors and the other reasons, CSAT for low CSAT, CES for high effort) in it. Only cases
whose whole window lies within the data are compared. Who gets resolved is not random (a reachable,
still-engaged customer is easier to resolve), so a difference is an association, not proof that
resolving caused it.
"""
from __future__ import annotations

from datetime import datetime

import ibis
import polars as pl

from .. import stats
from ..data import Data
from ..expr import initiated, is_purchase
from ..filters import Filters
from ..store import _now
from . import storage
from .rules import REASON_LABELS, data_end, reason_label

WINDOW_DAYS = 90
NEXT_METRIC = {"low_csat": "csat", "high_effort": "ces"}  # else nps
OUTCOMES = ("retained", "repurchased", "next_score")
OUTCOME_LABELS = {"retained": "active again", "repurchased": "bought again", "next_score": "next score"}
SPEED_COLUMNS = {"reason": pl.Utf8, "label": pl.Utf8, "cases": pl.Int64, "open": pl.Int64, "overdue": pl.Int64,
                 "resolved": pl.Int64, "wont_fix": pl.Int64, "acted": pl.Int64, "hours_to_first_action": pl.Float64,
                 "due": pl.Int64, "closed_in_sla": pl.Int64, "share_in_sla": pl.Float64, "sla_low": pl.Float64,
                 "sla_high": pl.Float64}


def speed(cases: pl.DataFrame, now: datetime | None = None) -> pl.DataFrame:
    """Per reason: cases, open, overdue, resolved, wont_fix, acted (with a first action),
    hours_to_first_action (median), due (cases whose due time has passed, or that closed), closed_in_sla
    (closed at or before their due time) and share_in_sla = closed_in_sla ÷ due with its Wilson interval."""
    now = now or _now()
    if not cases.height:
        return pl.DataFrame(schema=SPEED_COLUMNS)
    c = cases.with_columns(
        _due=(pl.col("due_at") <= pl.lit(now)) | pl.col("closed_at").is_not_null(),
        _in=pl.col("closed_at").is_not_null() & (pl.col("closed_at") <= pl.col("due_at")),
        _h=(pl.col("first_action_at") - pl.col("opened_at")).dt.total_seconds() / 3600.0)
    g = (c.group_by("reason").agg(
        cases=pl.len(), open=pl.col("open").sum(), overdue=pl.col("overdue").sum(),
        resolved=(pl.col("status") == "resolved").sum(), wont_fix=(pl.col("status") == "wont_fix").sum(),
        acted=pl.col("_h").is_not_null().sum(), hours_to_first_action=pl.col("_h").median(),
        due=pl.col("_due").sum(), closed_in_sla=(pl.col("_in") & pl.col("_due")).sum())
        .with_columns(share_in_sla=pl.when(pl.col("due") > 0).then(pl.col("closed_in_sla") / pl.col("due")),
                      label=pl.col("reason").replace_strict(REASON_LABELS,
                                                            default=pl.col("reason")))
        .sort("reason"))
    g = stats.with_rate_interval(g, "closed_in_sla", "due", names=("sla_low", "sla_high"))
    return g.select(list(SPEED_COLUMNS)).cast({k: v for k, v in SPEED_COLUMNS.items()})


def case_outcomes(d: Data, cases: pl.DataFrame, window_days: int = WINDOW_DAYS) -> pl.DataFrame:
    """One row per case whose window lies within the data: id, reason, resolved, retained,
    repurchased, next_score (null when the customer answered nothing in the window)."""
    end = data_end(d)
    schema = {"id": pl.Int64, "reason": pl.Utf8, "resolved": pl.Boolean, "retained": pl.Boolean,
              "repurchased": pl.Boolean, "next_score": pl.Float64}
    if end is None or not cases.height or not d.has("interactions"):
        return pl.DataFrame(schema=schema)
    c = cases.filter(pl.col("opened_at") + pl.duration(days=window_days) <= pl.lit(end))
    if not c.height:
        return pl.DataFrame(schema=schema)
    c = c.select(pl.col("id").cast(pl.Int64), "customer_id", "reason", pl.col("opened_at").cast(pl.Datetime("us")),
                 resolved=pl.col("status") == "resolved",
                 metric=pl.col("reason").replace_strict(NEXT_METRIC, default="nps", return_dtype=pl.Utf8))
    m = ibis.memtable(c.to_arrow())
    m = m.mutate(_stop=m.opened_at + ibis.interval(days=window_days))
    t = d.table("interactions")
    t = t.mutate(_own=initiated(t), _buy=is_purchase(d, t)).select("customer_id", "timestamp", "_own", "_buy")
    j = m.inner_join(t, [m.customer_id == t.customer_id, t.timestamp > m.opened_at, t.timestamp <= m._stop])
    act = j.group_by("id").aggregate(retained=j._own.any(), repurchased=j._buy.any())
    out = m.left_join(act, m.id == act.id).select(m.id, m.reason, m.resolved, act.retained, act.repurchased)
    df = out.to_polars()
    scores = pl.DataFrame(schema={"id": pl.Int64, "next_score": pl.Float64})
    if d.has("feedback", "score"):
        f = d.table("feedback")
        f = f.filter(f.customer_id.notnull() & f.score.notnull()).select("customer_id", "metric", "timestamp", "score")
        k = m.inner_join(f, [m.customer_id == f.customer_id, m.metric == f.metric, f.timestamp > m.opened_at,
                             f.timestamp <= m._stop])
        scores = k.group_by("id").aggregate(next_score=k.score.cast("float64").argmin(k.timestamp)).to_polars()
    df = df.join(scores.cast({"id": pl.Int64}), on="id", how="left")
    return df.with_columns(pl.col("retained").fill_null(False), pl.col("repurchased").fill_null(False)).cast(schema)


COMPARE_COLUMNS = {"reason": pl.Utf8, "outcome": pl.Utf8, "resolved_n": pl.Int64, "resolved_value": pl.Float64,
                   "other_n": pl.Int64, "other_value": pl.Float64, "difference": pl.Float64, "low": pl.Float64,
                   "high": pl.Float64, "p_value": pl.Float64, "significant": pl.Boolean, "sentence": pl.Utf8}


def compare(per_case: pl.DataFrame, window_days: int = WINDOW_DAYS) -> pl.DataFrame:
    """Per reason and outcome: resolved vs not resolved, the difference with its 95% interval and test
    (shares: Newcombe / two-proportion z-test; the next score: Welch's t), and a sentence that says it
    is an association."""
    rows = []
    for (reason,), g in per_case.group_by(["reason"], maintain_order=True):
        a, b = g.filter(~pl.col("resolved")), g.filter(pl.col("resolved"))
        label = reason_label(reason)
        for o in OUTCOMES:
            if o == "next_score":
                xa, xb = a["next_score"].drop_nulls(), b["next_score"].drop_nulls()
                ch = stats.mean_change(xa.len(), float(xa.sum()), float((xa * xa).sum()), xb.len(),
                                       float(xb.sum()), float((xb * xb).sum()))
                fmt = lambda v: f"{v:.1f}"  # noqa: E731
                unit = ""
            else:
                ch = stats.rate_change(int(a[o].sum()), a.height, int(b[o].sum()), b.height)
                ch = _pct(ch)
                fmt = lambda v: f"{v:.0f}"  # noqa: E731
                unit = "%"
            rows.append({"reason": reason, "outcome": o, "resolved_n": ch.n_b, "resolved_value": ch.b, "other_n": ch.n_a,
                         "other_value": ch.a, "difference": ch.diff, "low": ch.low, "high": ch.high,
                         "p_value": ch.p_value, "significant": ch.significant,
                         "sentence": _sentence(label, o, ch, fmt, unit, window_days)})
    return pl.DataFrame(rows, schema=COMPARE_COLUMNS)


def _pct(ch: stats.Change) -> stats.Change:
    from dataclasses import replace

    m = lambda v: None if v is None else 100.0 * v  # noqa: E731
    return replace(ch, a=m(ch.a), b=m(ch.b), diff=m(ch.diff), low=m(ch.low), high=m(ch.high))


def _sentence(label, o, ch, fmt, unit, window_days) -> str:
    what = {"retained": f"were active again within {window_days} days",
            "repurchased": f"bought again within {window_days} days",
            "next_score": f"gave a next answer of (mean, within {window_days} days)"}[o]
    if ch.b is None or ch.a is None or ch.diff is None:
        return f"{label}: not enough cases on both sides to compare ({ch.n_b} resolved, {ch.n_a} not)."
    pts = " pts" if unit == "%" else ""
    neg = lambda v: fmt(v).replace("-", "−")  # noqa: E731 - one minus sign throughout the sentence
    band = (f", 95% interval {neg(ch.low)} to {neg(ch.high)}{pts}" if ch.low is not None and ch.high is not None
            else "")
    head = (f"{label}: customers whose case was resolved {what} {fmt(ch.b)}{unit} (n = {ch.n_b:,}) vs "
            f"{fmt(ch.a)}{unit} (n = {ch.n_a:,}) when it was not: {'+' if ch.diff >= 0 else '−'}"
            f"{fmt(abs(ch.diff))}{pts}{band}.")
    if not ch.enough:
        return head + " Too few cases to tell."
    if not ch.significant:
        return head + " Could be chance."
    return head + " Beyond chance, but an association, not proof: who gets resolved is not random."


def did_it_work(store, dataset: str | None = None, window_days: int = WINDOW_DAYS, now: datetime | None = None) -> dict:
    """{"speed": :func:`speed`, "outcomes": :func:`compare` over the dataset's cases, "cases_compared": n}."""
    d = Data.open(store, dataset, Filters())
    cs = storage.cases(store, d.name, now=now)
    per = case_outcomes(d, cs, window_days)
    return {"speed": speed(cs, now), "outcomes": compare(per, window_days), "cases_compared": per.height,
            "window_days": window_days}

