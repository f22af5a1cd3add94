"""Feedback scores: NPS, CSAT, CES and ratings as a summary per group, a trend, a distribution,
the headline cards, solicited vs unsolicited, and the customers behind one bar.

Each metric is one Ibis expression over the filtered feedback (see :mod:`cx.loyalty` for the
scales) returning a small polars frame.
"""
from __future__ import annotations

import ibis
import polars as pl
from ibis import _

from .. import stats
from ..data import Data, uses_data
from ..expr import period_start
from ..filters import Filters
from ..saved_segments import saved
from ..store import CXError
from .base import MIN_N, SCALES, answers

PERIODS = {"week": "W", "month": "M", "quarter": "Q"}
FEEDBACK_DIMENSIONS = ("touchpoint", "channel", "solicited")
LINKED_DIMENSIONS = ("stage", "department", "employee_id")  # from the interaction an answer rates
UNKNOWN = "(unknown)"
SEGMENT = "segment"  # breakdown by the saved segments (Data.membership)
NO_SEGMENT = "(no segment)"


def _classified(f: ibis.Table, metric: str) -> ibis.Table:
    """Adds _good (promoter / top-2 / easy), _bad (detractor / bottom-2 / hard) as 0/1 floats and _s
    (the score as float)."""
    s = f.score.cast("float64")
    if metric == "nps":
        good, bad = s >= 9, s <= 6
    elif metric == "ces":
        good, bad = s >= 5, s <= 3
    else:
        good, bad = s >= 4, s <= 2
    return f.mutate(_s=s, _good=ibis.ifelse(good, 1.0, 0.0), _bad=ibis.ifelse(bad, 1.0, 0.0))


def _score_aggs(metric: str) -> dict:
    """The aggregates of one metric (over a _classified table), as deferred expressions."""
    aggs = dict(n=_.count(), share_good=_._good.mean(), share_bad=_._bad.mean(), mean_score=_._s.mean())
    if metric == "nps":
        aggs["value"] = 100.0 * (_._good.mean() - _._bad.mean())
    elif metric == "ces":
        aggs["value"] = _._s.mean()
    else:
        aggs["value"] = 100.0 * _._good.mean()
    return aggs


def _finish_scores(t: ibis.Table) -> ibis.Table:
    return t.mutate(low_n=t.n < MIN_N)


def _grouped(d: Data, f: ibis.Table, by: str | None) -> ibis.Table:
    """Adds `group` (text): the breakdown value of each answer. Feedback's own touchpoint, channel,
    solicited; stage/department/employee_id of the interaction the answer rates (same customer and
    touchpoint, the latest such interaction at or before the answer; "(not linked)" without one); a
    column the survey export brought; any customer attribute (persona, region, an event log's
    acquisition_channel ...: Data.customer_attributes); "segment": the saved
    segments (an answer of a customer in several saved segments counts in each, one in none counts
    in "(no segment)")."""
    if by is None:
        return f.mutate(group=ibis.literal("all"))
    if by in FEEDBACK_DIMENSIONS:
        if by == "solicited":
            return f.mutate(group=ibis.cases((f.solicited, "solicited"), (~f.solicited, "unsolicited"),
                                             else_=UNKNOWN))
        return f.mutate(group=f[by].cast("string").fill_null(UNKNOWN))
    if by in LINKED_DIMENSIONS:
        i = d.table("interactions")
        i = i.select(_cid=i.customer_id, _tp=i.touchpoint, _its=i.timestamp, _iseq=i._seq, _g=i[by].cast("string"))
        j = f.left_join(i, [f.customer_id == i._cid, f.touchpoint == i._tp, i._its <= f.timestamp])
        j = j.mutate(_r=ibis.row_number().over(group_by=j._seq, order_by=[ibis.desc(j._its), ibis.desc(j._iseq)]))
        j = j.filter(j._r == 0)
        grp = ibis.cases((j._its.isnull(), "(not linked)"), else_=j._g.fill_null(UNKNOWN))
        return j.mutate(group=grp).drop("_cid", "_tp", "_its", "_iseq", "_g", "_r")
    if by == SEGMENT:
        m = d.membership()
        m = m.select(_cid=m.customer_id, _g=m.segment)
        j = f.left_join(m, f.customer_id == m._cid)
        return j.mutate(group=j._g.fill_null(NO_SEGMENT)).drop("_cid", "_g")
    if by in d.attributes("feedback"):  # a column the survey export brought
        return f.mutate(group=f[by].cast("string").fill_null(UNKNOWN))
    if by not in d.customer_attributes():
        opts = ", ".join(breakdown_options(d))
        raise CXError(f"Cannot break scores down by '{by}' (possible: {opts}).")
    c = d.customer_attribute(by)
    c = c.select(_cid=c.customer_id, _g=c[by])
    j = f.left_join(c, f.customer_id == c._cid)
    return j.mutate(group=j._g.fill_null(UNKNOWN)).drop("_cid", "_g")


@uses_data
def score_summary(d: Data, metric: str = "nps", by: str | None = None, filters: Filters | None = None,
                  dataset: str | None = None, top: int = 20, level: float = stats.LEVEL) -> pl.DataFrame:
    """One row per group (one row "all" without `by`): n answers, value (NPS = % promoters 9–10 −
    % detractors 0–6; CSAT/rating = top-2-box % (4–5 of 1–5); CES = mean on 1–7), share_good
    (promoters / top-2 / easy 5–7), share_bad (detractors / bottom-2 / hard 1–3), mean_score, low_n
    (n < 30). Groups: see `_grouped`; the `top` largest groups, largest first.

    With its uncertainty (cx.stats): low / high (the value's interval at `level`: the NPS
    multinomial interval, Wilson for top-2-box, t for CES), vs_rest (the group minus all other
    answers), p_value (that difference's test), and differs: "above" / "below" when the group
    differs from the rest beyond chance after Benjamini–Hochberg across the groups, "" otherwise
    (always "" for groups under 30 answers: shown, never ranked)."""
    f = _classified(answers(d, metric), metric)
    g = _grouped(d, f, by).group_by("group").aggregate(**_score_aggs(metric), mean_score_sq=(_._s * _._s).mean())
    all_groups = _finish_scores(g).order_by([ibis.desc("n"), "group"]).to_polars()
    return _with_uncertainty(all_groups, metric, level).head(top).select(
        "group", "n", "value", "share_good", "share_bad", "mean_score", "low_n", "low", "high", "vs_rest", "p_value",
        "differs")


def worst_first(bd: pl.DataFrame) -> list:
    """The groups of a score breakdown in the order a drill-down offers them: the groups
    significantly below the rest first (worst first), then the others by score, small groups last
    (the group that explains a weak number is the one a leader opens)."""
    rank = pl.when(pl.col("differs") == "below").then(0).when(pl.col("low_n")).then(2).otherwise(1)
    return bd.sort([rank, "value"], descending=[False, False])["group"].to_list()


def _with_uncertainty(g: pl.DataFrame, metric: str, level: float) -> pl.DataFrame:
    """Intervals per group and each group tested against the rest of the answers (see
    score_summary); one pass over the (few) groups of the result."""
    rows = g.to_dicts()
    N = sum(r["n"] for r in rows)
    good = {id(r): round(r["share_good"] * r["n"]) for r in rows}
    bad = {id(r): round(r["share_bad"] * r["n"]) for r in rows}
    tg, tb = sum(good.values()), sum(bad.values())
    ts, tq = sum(r["mean_score"] * r["n"] for r in rows), sum(r["mean_score_sq"] * r["n"] for r in rows)
    est, tests = [], []
    for r in rows:
        n, k, b = r["n"], good[id(r)], bad[id(r)]
        s, q = r["mean_score"] * n, r["mean_score_sq"] * n
        if metric == "nps":
            e = stats.nps(k, b, n, level)
            ch = stats.nps_change(tg - k, tb - b, N - n, k, b, n, level)
        elif metric == "ces":
            e = stats.mean(n, s, q, level)
            ch = stats.mean_change(N - n, ts - s, tq - q, n, s, q, level)
        else:
            e = stats.rate(k, n, level)
            e = stats.Estimate(None if e.value is None else 100 * e.value, None if e.low is None else 100 * e.low,
                               None if e.high is None else 100 * e.high, e.n)
            ch = stats.rate_change(tg - k, N - n, k, n, level)
            ch = stats.Change(*(None if v is None else 100 * v for v in (ch.a, ch.b, ch.diff, ch.low, ch.high)),
                              ch.p_value, ch.n_a, ch.n_b, ch.level)
        est.append(e)
        tests.append(ch if len(rows) > 1 and ch.enough else None)
    reject, _ = stats.fdr([t.p_value if t else None for t in tests], 1 - level)
    differs = ["" if t is None or not ok else ("above" if t.diff > 0 else "below") for t, ok in zip(tests, reject)]
    return g.with_columns(
        pl.Series("low", [e.low for e in est], dtype=pl.Float64), pl.Series("high", [e.high for e in est], dtype=pl.Float64),
        pl.Series("vs_rest", [t.diff if t else None for t in tests], dtype=pl.Float64),
        pl.Series("p_value", [t.p_value if t else None for t in tests], dtype=pl.Float64),
        pl.Series("differs", differs, dtype=pl.Utf8))


@uses_data
def score_trend(d: Data, metric: str = "nps", period: str = "month", filters: Filters | None = None,
                dataset: str | None = None) -> pl.DataFrame:
    """Per period (week from Monday, month, quarter) of the answer time: the same columns as
    `score_summary` with `period` (date) instead of group, and mean_score_sq (the mean of the
    squared scores: with n and mean_score, what a test of a change needs)."""
    if period not in PERIODS:
        raise ValueError(f"period is one of {', '.join(PERIODS)}")
    f = _classified(answers(d, metric), metric)
    f = f.mutate(period=period_start(f.timestamp, period))
    g = _finish_scores(f.group_by("period").aggregate(**_score_aggs(metric), mean_score_sq=(_._s * _._s).mean()))
    return g.order_by("period").select("period", "n", "value", "share_good", "share_bad", "mean_score",
                                       "mean_score_sq", "low_n").to_polars()


@uses_data
def score_distribution(d: Data, metric: str = "nps", filters: Filters | None = None,
                       dataset: str | None = None) -> pl.DataFrame:
    """Answers per score: score, n, share (of all answers), category (promoter/passive/detractor for
    NPS; good/neutral/bad otherwise, by the same cut-offs as `score_summary`)."""
    f = _classified(answers(d, metric), metric)
    g = f.group_by("_s").aggregate(n=_.count(), _good=_._good.max(), _bad=_._bad.max())
    names = ("promoter", "passive", "detractor") if metric == "nps" else \
        (("easy", "neutral", "hard") if metric == "ces" else ("satisfied", "neutral", "dissatisfied"))
    g = g.mutate(share=g.n / g.n.sum().over(),
                 category=ibis.cases((g._good > 0, names[0]), (g._bad > 0, names[2]), else_=names[1]))
    df = g.select(score="_s", n="n", share="share", category="category").order_by("score").to_polars()
    # -0.0 (a "-0" in a file) reads as 0
    return df.with_columns(pl.when(pl.col("score") == 0).then(0.0).otherwise(pl.col("score")).alias("score"))


@uses_data
def score_overview(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """The headline card of each metric the data has (nps, csat, ces; none when there is no feedback
    table): metric, n, value, share_good, share_bad, mean_score, low_n."""
    if not d.has("feedback"):
        return pl.DataFrame(schema={"metric": pl.Utf8, "n": pl.Int64, "value": pl.Float64})
    parts = []
    for m in ("nps", "csat", "ces"):
        f = _classified(answers(d, m), m)
        parts.append(_finish_scores(f.aggregate(**_score_aggs(m))).mutate(metric=ibis.literal(m)))
    u = ibis.union(*parts)
    return u.filter(u.n > 0).select("metric", "n", "value", "share_good", "share_bad", "mean_score",
                                    "low_n").to_polars()


@uses_data
def solicited_split(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Solicited (surveys) vs unsolicited (reviews, posts, complaints) feedback side by side: per
    metric with a known scale (nps, csat, ces, rating) and kind: n, value, mean_score, low_n;
    kinds without answers are omitted."""
    parts = []
    for m in SCALES:
        f = _grouped(d, _classified(answers(d, m), m), "solicited")
        parts.append(_finish_scores(f.group_by("group").aggregate(**_score_aggs(m))).mutate(metric=ibis.literal(m)))
    u = ibis.union(*parts)
    return u.select("metric", kind="group", n="n", value="value", mean_score="mean_score",
                    low_n="low_n").order_by(["metric", "kind"]).to_polars()


@uses_data
def score_members(d: Data, metric: str, by: str | None, group: str, filters: Filters | None = None,
                  dataset: str | None = None) -> pl.DataFrame:
    """The customers behind one bar of `score_summary`: customer_id, answers, mean_score, last_answer."""
    f = _classified(answers(d, metric), metric)
    g = _grouped(d, f, by)
    g = g.filter((g.group == group) & g.customer_id.notnull())
    g = g.group_by("customer_id").aggregate(answers=_.count(), mean_score=_._s.mean(), last_answer=_.timestamp.max())
    return g.order_by(["mean_score", "customer_id"]).to_polars()


@uses_data
def breakdown_options(d: Data, dataset: str | None = None) -> tuple[str, ...]:
    """The breakdowns `score_summary` accepts on this dataset: feedback's touchpoint, channel and
    solicited, the rated interaction's stage, department and employee, the survey export's own
    columns (attributes), every customer attribute (Data.customer_attributes), and "segment" when the
    dataset has saved segments."""
    cols = [c for c in (*d.attributes("feedback"), *d.customer_attributes())
            if c not in (*FEEDBACK_DIMENSIONS, *LINKED_DIMENSIONS)]
    seg = (SEGMENT,) if SEGMENT not in cols and saved(d).height else ()
    return (*FEEDBACK_DIMENSIONS, *LINKED_DIMENSIONS, *dict.fromkeys(cols), *seg)
