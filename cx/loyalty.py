"""Loyalty and trust: NPS, CSAT, CES, key drivers, trust, forgiveness and relationship quality.

Every metric is one Ibis expression over the filtered tables (run by DuckDB, portable to the other
Ibis backends) returning a small polars frame. Modelling (Johnson's relative weights) runs in numpy
on the per-customer frame an expression returns.

Scales (each metric keeps its own):
- NPS 0–10: promoters 9–10, passives 7–8, detractors 0–6; NPS = % promoters − % detractors.
- CSAT 1–5: top-2-box = share of answers 4–5 (in %); bottom-2 = 1–2.
- CES 1–7 (7 = easy): the mean score, and % easy = share of answers 5–7; hard = 1–3.
- rating 1–5 (reviews): like CSAT (top-2-box).
A group with fewer than 30 answers (customers, for per-customer metrics) is flagged `low_n`.
"""
from __future__ import annotations

import math

import ibis
import numpy as np
import polars as pl
from ibis import _

from . import filters as flt
from .store import CXError

MIN_N = 30
SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "rating": (1, 5)}
METRIC_LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "rating": "Rating"}
PERIODS = {"week": "W", "month": "M", "quarter": "Q"}
FEEDBACK_DIMENSIONS = ("touchpoint", "channel", "solicited")
LINKED_DIMENSIONS = ("stage", "department", "employee_id")  # from the interaction an answer rates
UNKNOWN = "(unknown)"
SEGMENT = "segment"  # breakdown by the saved segments (cx.segments.membership)
NO_SEGMENT = "(no segment)"
DAY_S = 86400.0
TENURE_BANDS = ("< 6 months", "6–24 months", "> 24 months")
BAND_MIDPOINT_DAYS = (90.0, 456.0, 1000.0)
NO_INCIDENT = "no incident"
HEALTH_WEIGHTS = {"dialogue": 0.25, "responsiveness": 0.25, "exchange": 0.25, "recognition": 0.25}


# -- feedback scores ----------------------------------------------------------------------------

def _check_metric(metric: str) -> None:
    if metric not in SCALES:
        raise ValueError(f"metric is one of {', '.join(SCALES)}")


def _answers(store, metric: str, filters, dataset) -> ibis.Table:
    """The filtered feedback rows of one metric with a score, or a CXError saying what is missing."""
    _check_metric(metric)
    if not store.has_table("feedback", dataset):
        raise CXError(f"{METRIC_LABELS[metric]} needs a feedback table (survey answers with a metric and a "
                      "score): import one on the Data page.")
    f = flt.feedback(store, filters, dataset)
    return f.filter((f.metric == metric) & f.score.notnull())


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


def _grouped(store, f: ibis.Table, by: str | None, dataset) -> ibis.Table:
    """Adds `group` (text): the breakdown value of each answer. Feedback's own touchpoint, channel,
    solicited; stage/department/employee_id of the interaction the answer rates (same customer and
    touchpoint, the latest such interaction at or before the answer; "(not linked)" without one); any
    column of the customers table (persona, region, segment columns ...); "segment": the saved
    segments of cx.segments (an answer of a customer in several saved segments counts in each,
    one in none counts in "(no segment)")."""
    if by is None:
        return f.mutate(group=ibis.literal("all"))
    if by in FEEDBACK_DIMENSIONS:
        if by == "solicited":
            return f.mutate(group=ibis.cases((f.solicited, "solicited"), (~f.solicited, "unsolicited"),
                                             else_=UNKNOWN))
        return f.mutate(group=f[by].cast("string").fill_null(UNKNOWN))
    if by in LINKED_DIMENSIONS:
        i = store.table("interactions", dataset)
        i = i.select(_cid=i.customer_id, _tp=i.touchpoint, _its=i.timestamp, _iseq=i._seq, _g=i[by].cast("string"))
        j = f.left_join(i, [f.customer_id == i._cid, f.touchpoint == i._tp, i._its <= f.timestamp])
        j = j.mutate(_r=ibis.row_number().over(group_by=j._seq, order_by=[ibis.desc(j._its), ibis.desc(j._iseq)]))
        j = j.filter(j._r == 0)
        grp = ibis.cases((j._its.isnull(), "(not linked)"), else_=j._g.fill_null(UNKNOWN))
        return j.mutate(group=grp).drop("_cid", "_tp", "_its", "_iseq", "_g", "_r")
    if by == SEGMENT:
        from cx import segments  # saved segments (cx.segments imports this module lazily too)

        m = segments.membership(store, dataset)
        m = m.select(_cid=m.customer_id, _g=m.segment)
        j = f.left_join(m, f.customer_id == m._cid)
        return j.mutate(group=j._g.fill_null(NO_SEGMENT)).drop("_cid", "_g")
    if not store.has_table("customers", dataset):
        raise CXError(f"A breakdown by '{by}' needs a customers table: import one on the Data page.")
    cols = store.table_columns("customers", dataset)
    if by == "customer_id" or by not in cols:
        opts = ", ".join([*FEEDBACK_DIMENSIONS, *LINKED_DIMENSIONS, *[c for c in cols if c != "customer_id"]])
        raise CXError(f"Cannot break scores down by '{by}' (possible: {opts}).")
    c = store.table("customers", dataset)
    c = c.select(_cid=c.customer_id, _g=c[by].cast("string"))
    j = f.left_join(c, f.customer_id == c._cid)
    return j.mutate(group=j._g.fill_null(UNKNOWN)).drop("_cid", "_g")


def score_summary(store, metric: str = "nps", by: str | None = None, filters: flt.Filters | None = None,
                  dataset: str | None = None, top: int = 20) -> pl.DataFrame:
    """One row per group (one row "all" without `by`): n answers, value (NPS = % promoters 9–10 −
    % detractors 0–6; CSAT/rating = top-2-box % (4–5 of 1–5); CES = mean on 1–7), share_good
    (promoters / top-2 / easy 5–7), share_bad (detractors / bottom-2 / hard 1–3), mean_score, low_n
    (n < 30). Groups: see `_grouped`; the `top` largest groups, largest first."""
    f = _classified(_answers(store, metric, filters, dataset), metric)
    g = _grouped(store, f, by, dataset).group_by("group").aggregate(**_score_aggs(metric))
    g = _finish_scores(g).order_by([ibis.desc("n"), "group"]).limit(top)
    return g.select("group", "n", "value", "share_good", "share_bad", "mean_score", "low_n").to_polars()


def score_trend(store, metric: str = "nps", period: str = "month", filters: flt.Filters | None = None,
                dataset: str | None = None) -> pl.DataFrame:
    """Per period (week from Monday, month, quarter) of the answer time: the same columns as
    `score_summary` with `period` (date) instead of group."""
    if period not in PERIODS:
        raise ValueError(f"period is one of {', '.join(PERIODS)}")
    f = _classified(_answers(store, metric, filters, dataset), metric)
    f = f.mutate(period=f.timestamp.truncate(PERIODS[period]).cast("date"))
    g = _finish_scores(f.group_by("period").aggregate(**_score_aggs(metric)))
    return g.order_by("period").select("period", "n", "value", "share_good", "share_bad", "mean_score",
                                       "low_n").to_polars()


def score_distribution(store, metric: str = "nps", filters: flt.Filters | None = None,
                       dataset: str | None = None) -> pl.DataFrame:
    """Answers per score: score, n, share (of all answers), category (promoter/passive/detractor for
    NPS; good/neutral/bad otherwise, by the same cut-offs as `score_summary`)."""
    f = _classified(_answers(store, metric, filters, dataset), metric)
    g = f.group_by("_s").aggregate(n=_.count(), _good=_._good.max(), _bad=_._bad.max())
    names = ("promoter", "passive", "detractor") if metric == "nps" else \
        (("easy", "neutral", "hard") if metric == "ces" else ("satisfied", "neutral", "dissatisfied"))
    g = g.mutate(share=g.n / g.n.sum().over(),
                 category=ibis.cases((g._good > 0, names[0]), (g._bad > 0, names[2]), else_=names[1]))
    df = g.select(score="_s", n="n", share="share", category="category").order_by("score").to_polars()
    # -0.0 (a "-0" in a file) reads as 0
    return df.with_columns(pl.when(pl.col("score") == 0).then(0.0).otherwise(pl.col("score")).alias("score"))


def score_overview(store, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """The headline card of each metric the data has (nps, csat, ces; none when there is no feedback
    table): metric, n, value, share_good, share_bad, mean_score, low_n."""
    if not store.has_table("feedback", dataset):
        return pl.DataFrame(schema={"metric": pl.Utf8, "n": pl.Int64, "value": pl.Float64})
    parts = []
    for m in ("nps", "csat", "ces"):
        f = _classified(_answers(store, m, filters, dataset), m)
        parts.append(_finish_scores(f.aggregate(**_score_aggs(m))).mutate(metric=ibis.literal(m)))
    u = ibis.union(*parts)
    return u.filter(u.n > 0).select("metric", "n", "value", "share_good", "share_bad", "mean_score",
                                    "low_n").to_polars()


def solicited_split(store, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Solicited (surveys) vs unsolicited (reviews, posts, complaints) feedback side by side: per
    metric with a known scale (nps, csat, ces, rating) and kind: n, value, mean_score, low_n;
    kinds without answers are omitted."""
    parts = []
    for m in SCALES:
        f = _grouped(store, _classified(_answers(store, m, filters, dataset), m), "solicited", dataset)
        parts.append(_finish_scores(f.group_by("group").aggregate(**_score_aggs(m))).mutate(metric=ibis.literal(m)))
    u = ibis.union(*parts)
    return u.select("metric", kind="group", n="n", value="value", mean_score="mean_score",
                    low_n="low_n").order_by(["metric", "kind"]).to_polars()


def score_members(store, metric: str, by: str | None, group: str, filters: flt.Filters | None = None,
                  dataset: str | None = None) -> pl.DataFrame:
    """The customers behind one bar of `score_summary`: customer_id, answers, mean_score, last_answer."""
    f = _classified(_answers(store, metric, filters, dataset), metric)
    g = _grouped(store, f, by, dataset)
    g = g.filter((g.group == group) & g.customer_id.notnull())
    g = g.group_by("customer_id").aggregate(answers=_.count(), mean_score=_._s.mean(), last_answer=_.timestamp.max())
    return g.order_by(["mean_score", "customer_id"]).to_polars()


# -- key drivers --------------------------------------------------------------------------------

def relative_weights(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Johnson's (2000) relative weights of the columns of X on y, from the correlation matrix:
    R_xx = V diag(e) V' ; Λ = V diag(√e) V' (the symmetric square root, the correlations between
    the predictors and their orthogonal counterparts); β = Λ⁻¹ r_xy; weight_j = Σ_k Λ_jk² β_k².
    The weights sum to R² of the OLS regression of y on X. Returns (weights, R²)."""
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    c = np.corrcoef(np.column_stack([X, y]), rowvar=False)
    rxx, rxy = c[:-1, :-1], c[:-1, -1]
    e, v = np.linalg.eigh(rxx)
    lam = v @ np.diag(np.sqrt(np.clip(e, 0, None))) @ v.T
    beta = np.linalg.pinv(lam) @ rxy
    w = (lam ** 2) @ (beta ** 2)
    return w, float(w.sum())


def _latest(t: ibis.Table, key: str = "customer_id") -> ibis.Table:
    t = t.mutate(_r=ibis.row_number().over(group_by=key, order_by=[ibis.desc("timestamp"), ibis.desc("_seq")]))
    return t.filter(t._r == 0).drop("_r")


def key_drivers(store, outcome: str = "nps", metric: str = "csat", min_coverage: float = 0.05,
                horizon_days: int = 90, filters: flt.Filters | None = None, dataset: str | None = None) -> dict:
    """Which touchpoint experiences move the outcome (Johnson's relative weights).

    Predictors: per customer, the mean `metric` score (CSAT by default) of each touchpoint.
    Outcome "nps": the customer's latest NPS answer (0–10). Outcome "repurchase": reference date =
    last interaction − `horizon_days`; predictors use answers before it; customers = those with a
    purchase before it; outcome = 1 when they purchase in the `horizon_days` after it, else 0.
    Customers need the outcome and at least one predictor. Touchpoints rated by fewer than
    `min_coverage` of them (or fewer than 30 customers) are left out; a customer who did not rate an
    included touchpoint gets that touchpoint's mean (mean imputation: it shrinks the weight of sparsely
    rated touchpoints; `imputed_share` says how much was filled).
    Returns {"drivers": touchpoint, importance (raw weight; they sum to R²), importance_share
    (weight / R²), performance (mean score of the touchpoint's answers), correlation (with the
    outcome), customers (who rated it), coverage, quadrant (Fix first = importance ≥ mean and
    performance < mean; Strength = ≥/≥; Maintain = </≥; Low priority = </<), negative_rank (1 = the
    most important "Fix first" touchpoint), ordered by importance; "summary": one row: outcome,
    metric, customers, predictors, r2, imputed_share, dropped (touchpoints left out)}."""
    if outcome not in ("nps", "repurchase"):
        raise ValueError("outcome is 'nps' or 'repurchase'")
    a = _answers(store, metric, filters, dataset)
    a = a.filter(a.customer_id.notnull() & a.touchpoint.notnull())
    if outcome == "nps":
        y = _latest(_answers(store, "nps", filters, dataset).filter(_.customer_id.notnull()))
        y = y.select(_cid="customer_id", y=y.score.cast("float64"))
    else:
        t = flt.interactions(store, filters, dataset)
        ref = t.aggregate(_ref=t.timestamp.max() - ibis.interval(days=horizon_days))
        tp = t.filter(t.amount > 0).cross_join(ref)
        y = tp.group_by("customer_id").aggregate(
            _before=(_.timestamp < _._ref).sum(),
            _after=((_.timestamp >= _._ref) & (_.timestamp < _._ref + ibis.interval(days=horizon_days))).sum())
        y = y.filter(y._before > 0).select(_cid="customer_id", y=ibis.ifelse(y._after > 0, 1.0, 0.0))
        a = a.cross_join(ref)
        a = a.filter(a.timestamp < a._ref)
    per = (a.group_by(["customer_id", "touchpoint"]).aggregate(m=_.score.cast("float64").mean(), k=_.count()))
    per = per.inner_join(y, per.customer_id == y._cid).drop("_cid")
    return fit_drivers(per.to_polars(), outcome, metric, min_coverage, horizon_days)


def fit_drivers(long: pl.DataFrame, outcome: str = "nps", metric: str = "csat", min_coverage: float = 0.05,
                horizon_days: int = 90) -> dict:
    """The modelling half of `key_drivers`, on its per-customer frame: customer_id, touchpoint, m (the
    customer's mean score of the touchpoint), k (answers), y (the outcome)."""
    if long.height == 0:
        raise CXError(f"Key drivers need customers with both {METRIC_LABELS[metric]} answers on touchpoints and "
                      f"{'an NPS answer' if outcome == 'nps' else 'a purchase before the last ' + str(horizon_days) + ' days'}.")
    n_cust = long["customer_id"].n_unique()
    tps = (long.group_by("touchpoint")
           .agg(customers=pl.len(), performance=(pl.col("m") * pl.col("k")).sum() / pl.col("k").sum())
           .with_columns(coverage=pl.col("customers") / n_cust))
    keep = tps.filter((pl.col("coverage") >= min_coverage) & (pl.col("customers") >= MIN_N)).sort("touchpoint")
    dropped = tps.filter(~pl.col("touchpoint").is_in(keep["touchpoint"].implode()))["touchpoint"].sort().to_list()
    names = keep["touchpoint"].to_list()
    wide = (long.filter(pl.col("touchpoint").is_in(names))
            .pivot(on="touchpoint", index=["customer_id", "y"], values="m"))
    if len(names) < 2 or wide.height < MIN_N or wide["y"].n_unique() < 2:
        raise CXError("Key drivers need at least two touchpoints rated by 30+ customers who also have the outcome "
                      f"(found {len(names)} touchpoint(s), {wide.height} customers).")
    X = wide.select(names)
    imputed = float(X.null_count().sum_horizontal()[0]) / (X.height * X.width)
    X = X.with_columns([pl.col(c).fill_null(pl.col(c).mean()) for c in names]).to_numpy()
    yv = wide["y"].to_numpy().astype(float)
    sd = X.std(axis=0)
    ok = sd > 0
    w = np.zeros(len(names))
    w[ok], r2 = relative_weights(X[:, ok], yv)
    corr = np.array([np.corrcoef(X[:, j], yv)[0, 1] if ok[j] else 0.0 for j in range(len(names))])
    d = keep.with_columns(importance=pl.Series(w), correlation=pl.Series(corr))
    d = d.with_columns(importance_share=pl.col("importance") / r2 if r2 > 0 else pl.lit(0.0))
    hi_imp = pl.col("importance") >= pl.col("importance").mean()
    hi_perf = pl.col("performance") >= pl.col("performance").mean()
    d = d.with_columns(quadrant=pl.when(hi_imp & ~hi_perf).then(pl.lit("Fix first"))
                       .when(hi_imp & hi_perf).then(pl.lit("Strength"))
                       .when(~hi_imp & hi_perf).then(pl.lit("Maintain")).otherwise(pl.lit("Low priority")))
    d = d.sort(["importance", "touchpoint"], descending=[True, False])
    fix = (pl.col("quadrant") == "Fix first")
    d = d.with_columns(negative_rank=pl.when(fix).then(fix.cast(pl.Int64).cum_sum()).otherwise(None))
    d = d.select("touchpoint", "importance", "importance_share", "performance", "correlation", "customers",
                 "coverage", "quadrant", "negative_rank")
    summary = pl.DataFrame({"outcome": [outcome], "metric": [metric], "customers": [wide.height],
                            "predictors": [len(names)], "r2": [r2], "imputed_share": [imputed],
                            "dropped": [", ".join(dropped)]})
    return {"drivers": d, "summary": summary}


def driver_members(store, touchpoint: str, metric: str = "csat", filters: flt.Filters | None = None,
                   dataset: str | None = None) -> pl.DataFrame:
    """The customers who rated one touchpoint (a point of the quadrant): customer_id, answers,
    mean_score (lowest first), last_answer."""
    a = _answers(store, metric, filters, dataset)
    a = a.filter((a.touchpoint == touchpoint) & a.customer_id.notnull())
    g = a.group_by("customer_id").aggregate(answers=_.count(), mean_score=_.score.cast("float64").mean(),
                                            last_answer=_.timestamp.max())
    return g.order_by(["mean_score", "customer_id"]).to_polars()


# -- trust --------------------------------------------------------------------------------------

def _trust_customers(store, filters, dataset) -> ibis.Table:
    """Per customer with a trust answer: trust (latest answer, rounded to a level), nps (latest NPS
    answer or null), purchases (rows with amount > 0), repurchased (2+ purchases; null for non-buyers)."""
    if not store.has_table("feedback", dataset):
        raise CXError("Trust needs a feedback table with a 'trust' metric (answers to a trust question).")
    f = flt.feedback(store, filters, dataset)
    tr = f.filter((f.metric == "trust") & f.score.notnull() & f.customer_id.notnull())
    tr = _latest(tr).select("customer_id", trust=_.score.round().cast("int64"))
    nps = _latest(f.filter((f.metric == "nps") & f.score.notnull() & f.customer_id.notnull()))
    nps = nps.select(_nc="customer_id", nps=nps.score.cast("float64"))
    t = flt.interactions(store, filters, dataset)
    p = t.filter(t.amount > 0).group_by("customer_id").aggregate(_np=_.count()).rename(_pc="customer_id")
    j = tr.left_join(nps, tr.customer_id == nps._nc).drop("_nc")
    j = j.left_join(p, j.customer_id == p._pc).drop("_pc")
    purchases = j._np.fill_null(0)
    return j.mutate(purchases=purchases, repurchased=ibis.cases((purchases >= 2, 1.0), (purchases == 1, 0.0),
                                                                else_=ibis.null("float64"))).drop("_np")


def trust_levels(store, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Per trust level (the customer's latest `trust` answer, rounded): customers, n_nps (of them with
    an NPS answer), nps (% promoters − % detractors of their latest NPS answers), buyers (1+
    purchases), repurchase_rate (share of buyers with 2+ purchases), purchases_per_customer,
    low_n (customers < 30)."""
    j = _trust_customers(store, filters, dataset)
    g = j.group_by("trust").aggregate(
        customers=_.count(), n_nps=_.nps.count(),
        nps=100.0 * (ibis.ifelse(_.nps >= 9, 1.0, 0.0).sum() - ibis.ifelse(_.nps <= 6, 1.0, 0.0).sum())
        / _.nps.count().nullif(0),
        buyers=(_.purchases > 0).sum(), repurchase_rate=_.repurchased.mean(),
        purchases_per_customer=_.purchases.cast("float64").mean())
    df = g.mutate(low_n=g.customers < MIN_N).order_by("trust").to_polars()
    if df.height == 0:
        raise CXError("There are no answers with metric 'trust' in this data: trust analysis needs a trust "
                      "question in the feedback (e.g. 'How much do you trust us?' on 1–5).")
    return df


def trust_members(store, level: int, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """The customers of one trust level: customer_id, trust, nps, purchases, repurchased."""
    j = _trust_customers(store, filters, dataset)
    return j.filter(j.trust == int(level)).order_by("customer_id").to_polars()


# -- forgiveness --------------------------------------------------------------------------------

def _first_seen(store, t: ibis.Table, dataset) -> ibis.Table:
    """customer_id, first_seen (the customers table's first_seen, else the first interaction),
    last_ts (last interaction), first_purchase."""
    per = t.group_by("customer_id").aggregate(_fi=_.timestamp.min(), last_ts=_.timestamp.max(),
                                              first_purchase=_.timestamp.min(where=_.amount > 0))
    if store.has_table("customers", dataset) and "first_seen" in store.table_columns("customers", dataset):
        c = store.table("customers", dataset)
        c = c.select(_cid=c.customer_id, _fs=c.first_seen.cast("timestamp"))
        per = per.left_join(c, per.customer_id == c._cid).drop("_cid")
        return per.mutate(first_seen=ibis.coalesce(per._fs, per._fi)).drop("_fs", "_fi")
    return per.mutate(first_seen=per._fi).drop("_fi")


def _band(days):
    return ibis.cases((days < 182.625, TENURE_BANDS[0]), (days < 730.5, TENURE_BANDS[1]), else_=TENURE_BANDS[2])


def _incident_customers(store, days: int, filters, dataset) -> ibis.Table:
    t = flt.interactions(store, filters, dataset)
    end = t.aggregate(_end=t.timestamp.max())
    inc = t.filter(t.incident.fill_null(False)).group_by("customer_id").aggregate(incident_at=_.timestamp.min())
    inc = inc.rename(_ic="customer_id")
    per = _first_seen(store, t, dataset)
    j = per.left_join(inc, per.customer_id == inc._ic).drop("_ic").cross_join(end)
    return j.mutate(_limit=j._end - ibis.interval(days=days))


def _seconds(a, b):
    return a.epoch_seconds().cast("float64") - b.epoch_seconds().cast("float64")


def forgiveness_customers(store, days: int = 90, filters: flt.Filters | None = None,
                          dataset: str | None = None) -> pl.DataFrame:
    """Customers with an incident (interaction with incident = true): incident_at (first incident),
    tenure_days (incident_at − first_seen; first_seen from the customers table, else the first
    interaction), band (< 6 months = tenure < 182.6 days, 6–24 months < 730.5 days, > 24 months),
    still_active (any interaction at or after incident_at + `days`). Only incidents at or before
    the last interaction − `days` (so that `days` can be observed)."""
    j = _incident_customers(store, days, filters, dataset)
    j = j.filter(j.incident_at.notnull() & (j.incident_at <= j._limit))
    ten = _seconds(j.incident_at, j.first_seen) / DAY_S
    j = j.mutate(tenure_days=ten, band=_band(ten),
                 still_active=j.last_ts >= j.incident_at + ibis.interval(days=days))
    return j.select("customer_id", "incident_at", "tenure_days", "band", "still_active").order_by(
        ["band", "customer_id"]).to_polars()


def forgiveness(store, days: int = 90, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Share of customers still active `days` after their first incident, by tenure band (see
    `forgiveness_customers`): group, customers, still_active, share, baseline (customers without any
    incident observed at the same tenure: buyers with no incident, reference = first_seen + the band's
    midpoint (90, 456, 1000 days), first purchase at or before it, still active at it (an interaction
    at or after it) and at or before the last interaction − `days`; share with an interaction at or
    after reference + `days`), baseline_customers, low_n. A last row "no incident": buyers without an
    incident, share active `days` after their first purchase (first purchase ≤ last interaction − days)."""
    j = _incident_customers(store, days, filters, dataset)
    inc = j.filter(j.incident_at.notnull() & (j.incident_at <= j._limit))
    ten = _seconds(inc.incident_at, inc.first_seen) / DAY_S
    inc = inc.mutate(group=_band(ten), _act=ibis.ifelse(inc.last_ts >= inc.incident_at + ibis.interval(days=days),
                                                        1, 0))
    g = inc.group_by("group").aggregate(customers=_.count(), still_active=_._act.sum())
    clean = j.filter(j.incident_at.isnull() & j.first_purchase.notnull())
    base_parts = []
    for band, mid in zip(TENURE_BANDS, BAND_MIDPOINT_DAYS):
        c = clean.mutate(_ref=clean.first_seen + ibis.interval(days=int(mid)))
        c = c.filter((c.first_purchase <= c._ref) & (c._ref <= c._limit) & (c.last_ts >= c._ref))
        base_parts.append(c.aggregate(baseline_customers=_.count(),
                                      _bact=ibis.ifelse(_.last_ts >= _._ref + ibis.interval(days=days), 1, 0).sum())
                          .mutate(_bg=ibis.literal(band)))
    base = ibis.union(*base_parts)
    out = g.left_join(base, g.group == base._bg).drop("_bg")
    out = out.mutate(share=out.still_active / out.customers, baseline=out._bact / out.baseline_customers.nullif(0))
    out = out.mutate(low_n=out.customers < MIN_N).drop("_bact")
    c0 = clean.filter(clean.first_purchase <= clean._limit)
    nores = c0.aggregate(customers=_.count(),
                         still_active=ibis.ifelse(_.last_ts >= _.first_purchase + ibis.interval(days=days), 1, 0).sum())
    nores = nores.mutate(group=ibis.literal(NO_INCIDENT), baseline_customers=ibis.null("int64"),
                         share=nores.still_active / nores.customers.nullif(0), baseline=ibis.null("float64"),
                         low_n=nores.customers < MIN_N)
    cols = ["group", "customers", "still_active", "share", "baseline", "baseline_customers", "low_n"]
    df = ibis.union(out.select(cols), nores.select(cols)).to_polars()
    if df.filter(pl.col("group") != NO_INCIDENT).height == 0:
        has = "incident" in store.table_columns("interactions", dataset)
        raise CXError("No incidents found (interactions with incident = true, at least "
                      f"{days} days before the end of the data): forgiveness needs the "
                      f"{'incident column filled in' if has else 'optional incident column'}.")
    order = {b: i for i, b in enumerate((*TENURE_BANDS, NO_INCIDENT))}
    return df.with_columns(pl.col("customers").cast(pl.Int64), pl.col("still_active").cast(pl.Int64)).sort(
        pl.col("group").replace_strict(order, default=99))


def forgiveness_members(store, group: str, days: int = 90, filters: flt.Filters | None = None,
                        dataset: str | None = None) -> pl.DataFrame:
    """The customers of one bar of `forgiveness`: a tenure band (customers with an incident) or
    "no incident" (buyers without one, with their first purchase)."""
    if group != NO_INCIDENT:
        df = forgiveness_customers(store, days, filters, dataset)
        return df.filter(pl.col("band") == group)
    j = _incident_customers(store, days, filters, dataset)
    c = j.filter(j.incident_at.isnull() & j.first_purchase.notnull() & (j.first_purchase <= j._limit))
    c = c.mutate(still_active=c.last_ts >= c.first_purchase + ibis.interval(days=days))
    return c.select("customer_id", "first_purchase", "last_ts", "still_active").order_by("customer_id").to_polars()


# -- relationship quality -----------------------------------------------------------------------

def _answered_contacts(t: ibis.Table, answer_touchpoints: tuple | None, max_answer_days: int) -> ibis.Table:
    """Inbound contacts with `_m`, the minutes to their answer (null when unanswered). An inbound
    contact is an inbound touchpoint handled by a department, on a channel where that department
    answers (has at least one answer there); its answer is the next outbound touchpoint (one of
    `answer_touchpoints` when given) of the same customer, channel and department, at or after it
    and within `max_answer_days`."""
    c = t.filter(t.direction.notnull() & t.department.notnull())
    is_answer = c.direction == "outbound"
    if answer_touchpoints:
        is_answer = is_answer & c.touchpoint.isin(list(answer_touchpoints))
    c = c.mutate(_ats=ibis.ifelse(is_answer, c.timestamp, ibis.null("timestamp")))
    pairs = c.filter(c._ats.notnull()).select(_pch="channel", _pdep="department").distinct()
    w = ibis.window(group_by=[c.customer_id, c.channel, c.department], order_by=[c.timestamp, c._seq],
                    preceding=0, following=None)
    c = c.mutate(_next=c._ats.min().over(w))
    c = c.filter(c.direction == "inbound")
    c = c.semi_join(pairs, [c.channel == pairs._pch, c.department == pairs._pdep])
    mins = _seconds(c._next, c.timestamp) / 60.0
    return c.mutate(_m=ibis.ifelse(c._next.notnull() & (mins <= max_answer_days * 1440.0), mins,
                                   ibis.null("float64")))


def answer_times(store, by: str = "channel", answer_touchpoints: tuple | None = None, max_answer_days: int = 7,
                 filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Time to answer an inbound contact (see `_answered_contacts`), per channel or department:
    group, contacts, answered, answered_share, median_minutes (over answered contacts), low_n
    (answered < 30)."""
    if by not in ("channel", "department"):
        raise ValueError("by is 'channel' or 'department'")
    t = flt.interactions(store, filters, dataset)
    c = _answered_contacts(t, answer_touchpoints, max_answer_days)
    g = c.group_by(group=c[by]).aggregate(contacts=_.count(), answered=_._m.count(), median_minutes=_._m.median())
    g = g.mutate(answered_share=g.answered / g.contacts, low_n=g.answered < MIN_N)
    return g.select("group", "contacts", "answered", "answered_share", "median_minutes", "low_n").order_by(
        [ibis.desc("contacts"), "group"]).to_polars()


def _relationship_expr(store, t: ibis.Table, answer_touchpoints: tuple | None = None,
                       max_answer_days: int = 7) -> ibis.Table:
    """Per customer (see `relationship`), over the interactions `t`."""
    d = t.mutate(_in=ibis.ifelse(t.direction == "inbound", 1, 0), _dir=ibis.ifelse(t.direction.notnull(), 1, 0),
                 _give=ibis.ifelse(t.value_given.notnull() & (t.direction.isnull() | (t.direction == "outbound")), 1, 0),
                 _buy=ibis.ifelse(t.amount > 0, 1, 0))
    base = d.group_by("customer_id").aggregate(touchpoints=_.count(), contacts=_._dir.sum(), inbound=_._in.sum(),
                                               gives=_._give.sum(), purchases=_._buy.sum())
    c = _answered_contacts(t, answer_touchpoints, max_answer_days)
    ans = c.group_by(_ac="customer_id").aggregate(inbound_contacts=_.count(), answered=_._m.count(),
                                                  median_answer_minutes=_._m.median())
    # recognition: channels where the customer is identified (a purchase, a contact handled by a
    # department or an employee there)
    ident = t.amount.notnull() | t.department.notnull() | t.employee_id.notnull()
    ch = t.filter(t.channel.notnull()).mutate(_id=ibis.ifelse(ident, 1, 0))
    ch = ch.group_by(["customer_id", "channel"]).aggregate(_n=_.count(), _idf=_._id.max())
    ch = ch.group_by(_rc="customer_id").aggregate(channels=_.count(), _tot=_._n.sum(),
                                                  _idn=(_._n * _._idf).sum())
    j = base.left_join(ans, base.customer_id == ans._ac).drop("_ac")
    j = j.left_join(ch, j.customer_id == ch._rc).drop("_rc")
    inbound_share = j.inbound / j.contacts.nullif(0)
    ident_share = j._idn / j._tot.nullif(0)
    channels = j.channels.fill_null(0)
    j = j.mutate(inbound_share=inbound_share, identified_share=ident_share, channels=channels,
                 multichannel=channels >= 2, inbound_contacts=j.inbound_contacts.fill_null(0),
                 answered=j.answered.fill_null(0))
    g, p = j.gives.cast("float64"), j.purchases.cast("float64")
    dialogue = 100.0 * (1.0 - (j.inbound_share - 0.5).abs() * 2.0)
    respons = 100.0 * (-math.log(2.0) * j.median_answer_minutes / 1440.0).exp()
    exchange = ibis.ifelse((g + p) > 0, 100.0 * ibis.least(g, p) / ibis.greatest(g, p), 0.0)
    recog = 100.0 * (0.5 * j.identified_share.fill_null(0.0) + 0.5 * ibis.ifelse(channels >= 2, 1.0, 0.0))
    j = j.mutate(dialogue=dialogue, responsiveness=respons, exchange=exchange, recognition=recog)
    num = sum(ibis.ifelse(j[k].notnull(), w * j[k], 0.0) for k, w in HEALTH_WEIGHTS.items())
    den = sum(ibis.ifelse(j[k].notnull(), w, 0.0) for k, w in HEALTH_WEIGHTS.items())
    j = j.mutate(health=num / den)
    return j.select("customer_id", "touchpoints", "contacts", "inbound", "inbound_share", "inbound_contacts",
                    "answered", "median_answer_minutes", "gives", "purchases", "identified_share", "channels",
                    "multichannel", *HEALTH_WEIGHTS, "health")


def relationship(store, answer_touchpoints: tuple | None = None, max_answer_days: int = 7,
                 filters: flt.Filters | None = None, dataset: str | None = None,
                 weakest: int | None = None) -> pl.DataFrame:
    """Relationship quality per customer (all their filtered interactions):
    - two-way dialogue: contacts (touchpoints with a direction), inbound_share (inbound / contacts);
      median_answer_minutes over their inbound contacts handled by a department (inbound rows with a
      department): the answer is the next outbound touchpoint of the same customer, channel and
      department (restricted to `answer_touchpoints` when given) within `max_answer_days`;
      inbound_contacts, answered;
    - exchange of value: gives (touchpoints with a value_given, not inbound) vs purchases (amount > 0);
    - recognition: identified_share (share of their touchpoints on channels where they are identified:
      a channel on which they made a purchase or had a contact handled by a department or an
      employee), channels, multichannel (seen on 2+ channels).
    Components scaled 0–100: dialogue = 100·(1 − 2·|inbound_share − 0.5|) (balanced two-way =
    100); responsiveness = 100·2^(−median answer hours / 24) (half-life one day); exchange =
    100·min(gives, purchases)/max(gives, purchases) (0 when neither); recognition =
    50·identified_share + 50·[2+ channels]. health = weighted mean of the components present
    (weights HEALTH_WEIGHTS, each 0.25; a missing component, e.g. no inbound contact, is left out).
    One row per customer by customer_id; with `weakest`, only that many customers, lowest health first."""
    t = flt.interactions(store, filters, dataset)
    r = _relationship_expr(store, t, answer_touchpoints, max_answer_days)
    if weakest is not None:
        return r.order_by(["health", "customer_id"]).limit(int(weakest)).to_polars()
    return r.order_by("customer_id").to_polars()


def relationship_summary(store, answer_touchpoints: tuple | None = None, max_answer_days: int = 7,
                         filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """One row over all customers of `relationship`: customers, inbound_share (pooled: inbound /
    contacts), median_answer_minutes (over all answered inbound contacts' customer medians),
    answered_share (answered / inbound contacts), gives, purchases, gives_per_purchase,
    identified_share (mean over customers), multichannel_share, and the mean of each component and
    of health."""
    t = flt.interactions(store, filters, dataset)
    r = _relationship_expr(store, t, answer_touchpoints, max_answer_days)
    return r.aggregate(
        customers=_.count(), inbound_share=_.inbound.sum() / _.contacts.sum().nullif(0),
        median_answer_minutes=_.median_answer_minutes.median(),
        answered_share=_.answered.sum() / _.inbound_contacts.sum().nullif(0),
        gives=_.gives.sum(), purchases=_.purchases.sum(),
        gives_per_purchase=_.gives.sum() / _.purchases.sum().nullif(0),
        identified_share=_.identified_share.mean(),
        multichannel_share=ibis.ifelse(_.multichannel, 1.0, 0.0).mean(),
        **{k: _[k].mean() for k in HEALTH_WEIGHTS}, health=_.health.mean()).to_polars()


def _health_retention_expr(store, days, lookback_days, answer_touchpoints, max_answer_days, filters, dataset):
    t = flt.interactions(store, filters, dataset)
    ref = t.aggregate(_ref=t.timestamp.max() - ibis.interval(days=days))
    tr = t.cross_join(ref)
    before = tr.filter(tr.timestamp < tr._ref).drop("_ref")
    own = tr.direction.isnull() | (tr.direction != "outbound")
    recent = tr.filter(own & (tr.timestamp < tr._ref) & (tr.timestamp >= tr._ref - ibis.interval(days=lookback_days)))
    recent = recent.select(_rc="customer_id").distinct()
    after = tr.filter(own & (tr.timestamp >= tr._ref) & (tr.timestamp <= tr._ref + ibis.interval(days=days)))
    after = after.select(_ac="customer_id").distinct()
    r = _relationship_expr(store, before, answer_touchpoints, max_answer_days)
    r = r.semi_join(recent, r.customer_id == recent._rc)
    r = r.left_join(after, r.customer_id == after._ac)
    r = r.mutate(retained=r._ac.notnull()).drop("_ac")
    return r.mutate(decile=ibis.ntile(10).over(order_by=[r.health, r.customer_id]) + 1)


def health_retention(store, days: int = 90, lookback_days: int = 365, answer_touchpoints: tuple | None = None,
                     max_answer_days: int = 7, filters: flt.Filters | None = None,
                     dataset: str | None = None) -> pl.DataFrame:
    """Relationship health vs 90-day retention, without look-ahead: reference date = last interaction −
    `days`; health (see `relationship`) is computed on the interactions before the reference only;
    customers = those active (a touchpoint not marked outbound) in the `lookback_days` before it;
    retained = active (a touchpoint not marked outbound) from the reference to reference + `days`
    (inclusive: the last interaction).
    Per decile of health (1 = least healthy): decile, customers, health (mean), min_health,
    max_health, retention (share retained), the mean of each component, low_n."""
    r = _health_retention_expr(store, days, lookback_days, answer_touchpoints, max_answer_days, filters, dataset)
    g = r.group_by("decile").aggregate(
        customers=_.count(), health=_.health.mean(), min_health=_.health.min(), max_health=_.health.max(),
        retention=ibis.ifelse(_.retained, 1.0, 0.0).mean(), **{k: _[k].mean() for k in HEALTH_WEIGHTS})
    return g.mutate(low_n=g.customers < MIN_N).order_by("decile").to_polars()


def health_members(store, decile: int, days: int = 90, lookback_days: int = 365,
                   answer_touchpoints: tuple | None = None, max_answer_days: int = 7,
                   filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """The customers of one health decile of `health_retention`: customer_id, health, its components,
    retained."""
    r = _health_retention_expr(store, days, lookback_days, answer_touchpoints, max_answer_days, filters, dataset)
    r = r.filter(r.decile == int(decile))
    return r.select("customer_id", "health", *HEALTH_WEIGHTS, "retained").order_by(
        ["health", "customer_id"]).to_polars()


# -- choices for pages --------------------------------------------------------------------------

def breakdown_options(store, dataset: str | None = None) -> tuple[str, ...]:
    """The breakdowns `score_summary` accepts on this dataset: feedback's touchpoint, channel and
    solicited, the rated interaction's stage, department and employee, every customers column, and
    "segment" when the dataset has saved segments (cx.segments)."""
    cols = store.table_columns("customers", dataset) if store.has_table("customers", dataset) else []
    seg = (SEGMENT,) if SEGMENT not in cols and store.segment_names(dataset) else ()
    return (*FEEDBACK_DIMENSIONS, *LINKED_DIMENSIONS, *[c for c in cols if c != "customer_id"], *seg)


def answer_touchpoint_options(store, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Outbound touchpoints handled by a department (candidates for "the answer" to an inbound
    contact): touchpoint, touchpoints (volume), largest first."""
    t = flt.interactions(store, filters, dataset)
    t = t.filter((t.direction == "outbound") & t.department.notnull())
    return t.group_by("touchpoint").aggregate(touchpoints=_.count()).order_by(
        [ibis.desc("touchpoints"), "touchpoint"]).to_polars()


# -- glossary (cx.glossary reads it: hover help, the Glossary page, the README) -------------------
GLOSSARY = (
    {"key": "nps", "name": "NPS", "api": "cx.loyalty.score_summary", "page": "loyalty",
     "definition": "Net Promoter Score of the NPS answers (0–10) after the filters: % promoters (9–10) − % "
                   "detractors (0–6), from −100 to +100. Fewer than 30 answers are flagged low_n."},
    {"key": "csat", "name": "CSAT", "api": "cx.loyalty.score_summary", "page": "loyalty",
     "definition": "Top-2-box satisfaction: the share (%) of CSAT answers scoring 4–5 on the 1–5 scale. "
                   "Bottom-2 (1–2) is the dissatisfied share; the mean score is given too."},
    {"key": "ces", "name": "CES", "api": "cx.loyalty.score_summary", "page": "loyalty",
     "definition": "Customer effort score: the mean of the CES answers on 1–7 (7 = very easy). Easy = share "
                   "of answers 5–7, hard = 1–3."},
    {"key": "score_breakdown", "name": "Score breakdown", "api": "cx.loyalty.score_summary", "page": "loyalty",
     "definition": "NPS/CSAT/CES per group: the feedback's touchpoint, channel or solicited flag; the stage, "
                   "department or employee of the interaction the answer rates (same customer and touchpoint, "
                   "the latest at or before the answer; '(not linked)' without one); any customers column; or "
                   "the saved segment (a customer in several counts in each, in none: '(no segment)')."},
    {"key": "score_trend", "name": "Score trend", "api": "cx.loyalty.score_trend", "page": "loyalty",
     "definition": "NPS, CSAT or CES per week (from Monday), month or quarter of the answer, with its number "
                   "of answers (fewer than 30 flagged)."},
    {"key": "score_distribution", "name": "Score distribution", "api": "cx.loyalty.score_distribution",
     "page": "loyalty",
     "definition": "Answers per score value and their share of all answers, each in its group (promoter / "
                   "passive / detractor for NPS; good / neutral / bad by the same cut-offs otherwise)."},
    {"key": "solicited_split", "name": "Solicited vs unsolicited", "api": "cx.loyalty.solicited_split",
     "page": "loyalty",
     "definition": "Each metric (NPS, CSAT, CES, rating) computed separately on solicited answers (surveys) "
                   "and unsolicited ones (reviews, posts, complaints)."},
    {"key": "key_drivers", "name": "Key drivers (relative weights)", "api": "cx.loyalty.key_drivers",
     "page": "loyalty",
     "definition": "Johnson's relative weights of each customer's mean CSAT per touchpoint on the outcome "
                   "(latest NPS, or repurchase within 90 days of a reference date = last interaction − 90 days). "
                   "The weights sum to the R² of the regression; importance share = weight ÷ R². Touchpoints "
                   "rated by fewer than 5% (or 30) of the customers are left out; unrated values take the "
                   "touchpoint's mean."},
    {"key": "driver_quadrant", "name": "Importance × performance", "api": "cx.loyalty.key_drivers",
     "page": "loyalty",
     "definition": "Each touchpoint placed by importance (relative weight) and performance (mean CSAT). Fix "
                   "first = importance at or above the mean and performance below the mean; Strength = both at "
                   "or above; Maintain = less important, performing; Low priority = neither."},
    {"key": "trust_levels", "name": "Trust levels", "api": "cx.loyalty.trust_levels", "page": "loyalty",
     "definition": "Customers by their latest trust answer (1–5, rounded): the NPS of their latest NPS answers, "
                   "and the repurchase rate = share of buyers (1+ purchases) with 2+ purchases."},
    {"key": "forgiveness", "name": "Forgiveness", "api": "cx.loyalty.forgiveness", "page": "loyalty",
     "definition": "Customers with an incident, by tenure at their first incident (< 6 months, 6–24, > 24): "
                   "the share still active (any interaction) 90 days later, against customers without an "
                   "incident observed at the same tenure, and buyers without incidents 90 days after their "
                   "first purchase. Incidents in the last 90 days of the data are left out."},
    {"key": "dialogue", "name": "Two-way dialogue", "api": "cx.loyalty.relationship", "page": "loyalty",
     "definition": "Inbound share = touchpoints the customer started ÷ touchpoints with a direction. The "
                   "dialogue component (0–100) = 100·(1 − 2·|inbound share − 0.5|): 100 when balanced."},
    {"key": "answer_time", "name": "Time to answer", "api": "cx.loyalty.relationship", "page": "loyalty",
     "definition": "From an inbound contact handled by a department to the next outbound touchpoint of the "
                   "same customer, channel and department (optionally of a chosen kind) within 7 days. Per "
                   "customer the median; responsiveness (0–100) = 100·2^(−median hours ÷ 24)."},
    {"key": "exchange_of_value", "name": "Exchange of value", "api": "cx.loyalty.relationship", "page": "loyalty",
     "definition": "Gives (touchpoints with a value_given that the customer did not start: discount, content, "
                   "thank-you, gift) against purchases (amount > 0). Component (0–100) = 100·min(gives, "
                   "purchases) ÷ max(gives, purchases)."},
    {"key": "recognition", "name": "Recognition", "api": "cx.loyalty.relationship", "page": "loyalty",
     "definition": "Identified share = share of a customer's touchpoints on channels where they are identified "
                   "(a purchase or a contact handled by a department or employee there). Component (0–100) = "
                   "50·identified share + 50 if seen on 2+ channels."},
    {"key": "health", "name": "Relationship health", "api": "cx.loyalty.relationship", "page": "loyalty",
     "definition": "0–100 per customer: the equal-weight mean of the dialogue, responsiveness, exchange and "
                   "recognition components that are present. The page's card is the mean over customers."},
    {"key": "health_retention", "name": "Health vs retention", "api": "cx.loyalty.health_retention",
     "page": "loyalty",
     "definition": "No look-ahead: health computed on the data before a reference date (last interaction − 90 "
                   "days) for customers active in the year before it; per decile of health, the share active "
                   "again (a touchpoint not marked outbound) in the 90 days after it."},
)
