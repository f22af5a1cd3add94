"""What the comments say, as Ibis expressions over the filtered comments joined to the dataset's
stored theme mentions: theme summary and theme x sentiment, sentiment and themes by touchpoint /
channel / stage / source / metric, trends, and comments to read.

Each function takes a data handle first (:mod:`cx.data`; a store with filters= and dataset= works
too). The themes are fitted once per dataset version (:func:`cx.voc.fit_themes`); filters never
refit, they select mentions.
"""
from __future__ import annotations

import ibis
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..expr import period_start
from ..filters import Filters
from ..store import CXError
from .comments import comments, require_comments, sentiment_class_of
from .sentiment import NEGATIVE, SENTIMENT_CLASSES
from .theme_store import ThemeFit, fit_themes, mention_table

DIMENSIONS = ("touchpoint", "channel", "stage", "source", "metric")
COMMENT_COLUMNS = ("customer_id", "timestamp", "metric", "score", "touchpoint", "channel", "source",
                   "sentiment", "effort", "comment")


def _mentions(d: Data, k: int | None):
    """Ibis table: one row per (comment row, theme) under the filters: the comment's columns plus theme,
    mention_sentiment (sentiment of the comment's clauses in that theme), weight."""
    fit = fit_themes(d, k)
    t = comments(d)
    m = mention_table(d, fit)
    m = m.select(m_comment=m.comment, theme=m.theme, mention_sentiment=m.sentiment, weight=m.weight)
    j = t.join(m, t.comment == m.m_comment).drop("m_comment")
    return fit, j


def _with_labels(df: pl.DataFrame, fit: ThemeFit) -> pl.DataFrame:
    return df.join(fit.themes.select("theme", "label", "terms"), on="theme", how="left")


@uses_data
def theme_summary(d: Data, k: int | None = None, filters: Filters | None = None,
                  dataset: str | None = None) -> pl.DataFrame:
    """One row per theme: theme, label, terms; comments (rows mentioning it under the filters); share of
    all comments; mean_sentiment (mean mention sentiment); negative_share (mentions with sentiment <=
    -0.05); effort_share (its comments with effort language); unsolicited_share; mean_score01 (mean
    score on 0..1 of its answers with a known scale). Comments in no theme are the row theme = -1."""
    fit, j = _mentions(d, k)
    total = comments(d).count().to_pyarrow().as_py()
    require_comments(total)
    agg = (j.group_by("theme").aggregate(
        comments=_.count(), mean_sentiment=_.mention_sentiment.mean(),
        negative_share=(_.mention_sentiment <= NEGATIVE).mean(), effort_share=_.effort.mean(),
        unsolicited_share=(_.source == "unsolicited").mean(), mean_score01=_.score01.mean())).to_polars()
    out = fit.themes.select("theme", "label", "terms").join(agg, on="theme", how="left").with_columns(
        pl.col("comments").fill_null(0))
    return out.with_columns((pl.col("comments") / total).alias("share")).sort("theme")


@uses_data
def theme_sentiment(d: Data, k: int | None = None, filters: Filters | None = None,
                    dataset: str | None = None) -> pl.DataFrame:
    """Theme x sentiment matrix: theme, label, sentiment_class (negative/neutral/positive, of the
    mention), comments, share (of the theme's mentions)."""
    fit, j = _mentions(d, k)
    df = (j.mutate(sentiment_class=sentiment_class_of(j.mention_sentiment))
          .group_by(["theme", "sentiment_class"]).aggregate(comments=_.count()).to_polars())
    grid = fit.themes.select("theme").join(pl.DataFrame({"sentiment_class": list(SENTIMENT_CLASSES)}), how="cross")
    df = grid.join(df, on=["theme", "sentiment_class"], how="left").with_columns(pl.col("comments").fill_null(0))
    df = df.with_columns((pl.col("comments") / pl.col("comments").sum().over("theme")).fill_nan(0).alias("share"))
    return _with_labels(df, fit).select("theme", "label", "sentiment_class", "comments", "share").sort(
        "theme", pl.col("sentiment_class").replace_strict({c: i for i, c in enumerate(SENTIMENT_CLASSES)}))


def _stage_of_feedback(d: Data, t):
    """Add `stage` to feedback rows: the stage of the interaction the answer rates (same customer and
    touchpoint, the latest at or before the answer); else the touchpoint's dominant stage (its most
    frequent stage over all interactions); else null."""
    if not d.has("interactions"):
        raise CXError("Stages come from the interactions table, which this dataset does not have yet.")
    i = d.table("interactions").filter(_.stage.notnull())
    ii = i.select(i_cust=i.customer_id, i_tp=i.touchpoint, i_ts=i.timestamp, i_stage=i.stage)
    keys = t.select("_seq", "customer_id", "touchpoint", "timestamp").filter(_.customer_id.notnull())
    link = (keys.join(ii, (keys.customer_id == ii.i_cust) & (keys.touchpoint == ii.i_tp)
                      & (ii.i_ts <= keys.timestamp))
            .group_by("_seq").aggregate(linked_stage=_.i_stage.argmax(_.i_ts)))
    dom = (i.group_by(["touchpoint", "stage"]).aggregate(n=_.count())
           .group_by("touchpoint").aggregate(dom_stage=_.stage.argmax(_.n))
           .rename(d_tp="touchpoint"))
    link = link.rename(l_seq="_seq")
    out = t.left_join(link, t._seq == link.l_seq).drop("l_seq")
    out = out.left_join(dom, out.touchpoint == dom.d_tp).drop("d_tp")
    return out.mutate(stage=ibis.coalesce(out.linked_stage, out.dom_stage)).drop("linked_stage", "dom_stage")


def _dim_expr(t, dim: str):
    if dim not in DIMENSIONS:
        raise CXError(f"Break down by one of {', '.join(DIMENSIONS)}.")
    col = t[dim] if dim != "metric" else t.metric.lower()
    return ibis.coalesce(col.cast("string"), ibis.literal("(none)"))


@uses_data
def sentiment_by(d: Data, dim: str = "touchpoint", filters: Filters | None = None,
                 dataset: str | None = None) -> pl.DataFrame:
    """Per value of `dim` (touchpoint, channel, stage, source = solicited/unsolicited, metric): value,
    comments, mean_sentiment, negative_share, positive_share, effort_share. Largest first."""
    t = comments(d)
    if dim == "stage":
        t = _stage_of_feedback(d, t)
    return (t.group_by(value=_dim_expr(t, dim))
             .aggregate(comments=_.count(), mean_sentiment=_.sentiment.mean(),
                        negative_share=(_.sentiment_class == "negative").mean(),
                        positive_share=(_.sentiment_class == "positive").mean(), effort_share=_.effort.mean())
             .order_by([_.comments.desc(), _.value]).to_polars())


@uses_data
def themes_by(d: Data, dim: str = "touchpoint", k: int | None = None, filters: Filters | None = None,
              dataset: str | None = None) -> pl.DataFrame:
    """Theme mix per value of `dim`: value, theme, label, comments (mentioning the theme), share (of the
    value's comments), mean_sentiment (of the mentions)."""
    fit, j = _mentions(d, k)
    t = comments(d)
    if dim == "stage":
        j = _stage_of_feedback(d, j)
        t = _stage_of_feedback(d, t)
    tot = t.group_by(value=_dim_expr(t, dim)).aggregate(total=_.count()).to_polars()
    df = (j.group_by(value=_dim_expr(j, dim), theme=j.theme)
          .aggregate(comments=_.count(), mean_sentiment=_.mention_sentiment.mean()).to_polars())
    df = df.join(tot, on="value").with_columns((pl.col("comments") / pl.col("total")).alias("share"))
    return _with_labels(df, fit).select("value", "theme", "label", "comments", "share", "mean_sentiment") \
        .sort(["value", "theme"])


def _check_period(period: str) -> None:
    if period not in ("week", "month"):
        raise CXError("The period is 'week' or 'month'.")


@uses_data
def trend(d: Data, period: str = "month", filters: Filters | None = None, dataset: str | None = None
          ) -> pl.DataFrame:
    """Per period (week from Monday or month of the answer) and source (solicited/unsolicited/unknown):
    comments, mean_sentiment, negative_share, effort_share."""
    _check_period(period)
    t = comments(d)
    return (t.group_by(period=period_start(t.timestamp, period), source=t.source)
             .aggregate(comments=_.count(), mean_sentiment=_.sentiment.mean(),
                        negative_share=(_.sentiment_class == "negative").mean(), effort_share=_.effort.mean())
             .order_by(["period", "source"]).to_polars())


@uses_data
def theme_trend(d: Data, k: int | None = None, period: str = "month", filters: Filters | None = None,
                dataset: str | None = None) -> pl.DataFrame:
    """Per period and theme: comments mentioning it, mean mention sentiment."""
    _check_period(period)
    fit, j = _mentions(d, k)
    df = (j.group_by(period=period_start(j.timestamp, period), theme=j.theme)
          .aggregate(comments=_.count(), mean_sentiment=_.mention_sentiment.mean()).to_polars())
    return _with_labels(df, fit).sort(["period", "theme"])


@uses_data
def comment_list(d: Data, theme: int | None = None, k: int | None = None, effort_only: bool = False,
                 sentiment_class: str | None = None, limit: int = 200, filters: Filters | None = None,
                 dataset: str | None = None) -> pl.DataFrame:
    """Example comments to read: of one theme (strongest theme weight first, then newest), or all
    comments (newest first); optionally only those with effort language and/or of one sentiment class.
    Columns: COMMENT_COLUMNS (+ mention_sentiment for a theme)."""
    cols = list(COMMENT_COLUMNS)
    if theme is not None:
        _fit, t = _mentions(d, k)
        t = t.filter(t.theme == int(theme))
        order = [_.weight.desc(), _.timestamp.desc(), _._seq]
        cols.append("mention_sentiment")
    else:
        t = comments(d)
        order = [_.timestamp.desc(), _._seq]
    if effort_only:
        t = t.filter(t.effort)
    if sentiment_class:
        s = t.mention_sentiment if theme is not None else t.sentiment
        t = t.filter(sentiment_class_of(s) == sentiment_class)
    return t.order_by(order).select(cols).limit(int(limit)).to_polars()
