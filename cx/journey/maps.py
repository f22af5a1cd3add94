"""The journey map (stage × touchpoint: volume, customers, sentiment, CSAT and CES) and the emotion
curve (mean sentiment per stage, in journey order). Each is one Ibis expression over the filtered
interactions (and feedback) returning a small polars frame."""
from __future__ import annotations

import ibis
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..expr import stage_rank
from ..filters import Filters
from ..schema import STAGES
from .nodes import NO_STAGE


def _stage_order(stage):
    """Journey rank of a stage, unknown stages last."""
    return stage_rank(stage).fill_null(len(STAGES))


@uses_data
def journey_map(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Stage × touchpoint grid, in journey order (busiest touchpoint first within a stage):
    touchpoints (volume), customers, mean_sentiment (interactions' sentiment), and from the
    feedback table joined on touchpoint (when there is one): csat (top-2-box %, scores 4–5 of
    1–5, in percent), n_csat, ces (mean on 1–7), n_ces. Stage "(no stage)" last."""
    t = d.interactions
    t = t.mutate(stage=t.stage.fill_null(NO_STAGE))
    g = t.group_by(["stage", "touchpoint"]).aggregate(
        touchpoints=_.count(), customers=_.customer_id.nunique(), mean_sentiment=_.sentiment.mean())
    if d.has("feedback"):
        f = d.feedback
        f = f.filter(f.touchpoint.notnull() & f.score.notnull() & f.metric.isin(["csat", "ces"]))
        is_csat, is_ces = f.metric == "csat", f.metric == "ces"
        fb = f.group_by(_fb_tp=f.touchpoint).aggregate(
            csat=(100.0 * ibis.ifelse(f.score >= 4, 1.0, 0.0)).mean(where=is_csat),
            n_csat=is_csat.cast("int64").sum(),
            ces=f.score.cast("float64").mean(where=is_ces),
            n_ces=is_ces.cast("int64").sum())
        g = g.left_join(fb, g.touchpoint == fb._fb_tp).drop("_fb_tp")
        g = g.mutate(n_csat=g.n_csat.fill_null(0), n_ces=g.n_ces.fill_null(0))
    else:
        g = g.mutate(csat=ibis.null("float64"), n_csat=ibis.literal(0, "int64"), ces=ibis.null("float64"),
                     n_ces=ibis.literal(0, "int64"))
    g = g.mutate(_o=_stage_order(g.stage)).order_by(["_o", ibis.desc("touchpoints"), "touchpoint"])
    return g.select("stage", "touchpoint", "touchpoints", "customers", "mean_sentiment", "csat", "ces",
                    "n_csat", "n_ces").to_polars()


@uses_data
def emotion_curve(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Mean sentiment per stage in journey order (stages with at least one scored touchpoint):
    stage, mean_sentiment, n (touchpoints with a sentiment)."""
    t = d.interactions
    t = t.filter(t.stage.notnull() & t.sentiment.notnull())
    g = t.group_by("stage").aggregate(mean_sentiment=_.sentiment.mean(), n=_.count())
    return g.mutate(_o=_stage_order(g.stage)).order_by("_o").select("stage", "mean_sentiment", "n").to_polars()
