"""The comments: the base table every VoC metric starts from (:func:`comments`: the filtered
feedback rows with a comment, their stored sentiment, effort language, score on 0..1 and source),
the headline numbers (:func:`overview`), sentiment against the score, and effort language.

Each function takes a data handle first (:mod:`cx.data`; a store with filters= and dataset= works too).
"""
from __future__ import annotations

import ibis
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..filters import Filters
from ..schema import METRIC_SCALES
from ..store import CXError
from .sentiment import NEGATIVE, POSITIVE, score_feedback

# Effort language: lexicon sentiment reads "I had to call three times" as neutral. Each pattern is a
# whole-word regular expression applied to the lower-cased comment (RE2/Java compatible: runs on
# DuckDB and Spark through Ibis re_search).
EFFORT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("on hold", r"\bon hold\b"),
    ("transferred", r"\b(transferred|passed (around|from one|between))\b"),
    ("contacting again", r"\b(call|called|calling|phone|phoned|ring|rang|contact|contacted|email|emailed|"
                         r"chase|chased|write|wrote) (them |you |back )?(again|twice|three times|four times|"
                         r"several times|multiple times|many times|[0-9]+ times)\b"),
    ("had to", r"\bhad to (call|ring|phone|chase|explain|repeat|contact|email|write|go back|come back|"
               r"visit again)\b"),
    ("repeating oneself", r"\b(repeat|repeating|repeated) (myself|my (problem|issue|story|details))\b|"
                          r"\bexplain(ed|ing)? (everything|it|my (problem|issue)) again\b|"
                          r"\bstart(ed|ing)? (all )?over\b"),
    ("confusing", r"\b(confusing|confused|complicated|unclear|hard to (find|understand|follow|reach|use))\b"),
    ("waiting", r"\b(waiting|waited|wait for|long wait|took forever|forever|for ages|took ages|so long)\b"),
    ("no answer", r"\b(no one|nobody|never) (called|got|rang|wrote|came) back\b|\bno (answer|reply|response)\b"),
)
EFFORT_REGEX = "|".join(f"(?:{p})" for _, p in EFFORT_PATTERNS)


def ensure_scored(d: Data) -> Data:
    """A feedback table imported before the import hook existed: score it now (once). Returns the
    handle to read it through (resolved again when the table gained its ``sentiment`` column)."""
    if d.has("feedback", "sentiment"):
        return d
    with d.store.transaction() as cur:
        score_feedback(cur, d.dataset.schema)
    return Data.open(d.store, d.name, d.filters)


def _score01(t):
    """The answer's score on 0..1 by its metric's scale (cx.schema.METRIC_SCALES); null for a metric
    without a known scale."""
    branches = []
    for m, (lo, hi, better) in METRIC_SCALES.items():
        x = (t.score.cast("float64") - lo) / (hi - lo)
        branches.append((t.metric.lower() == m, x if better else 1 - x))
    return ibis.cases(*branches, else_=ibis.null("float64"))


def sentiment_class_of(s):
    """'positive' (>= 0.05), 'negative' (<= -0.05) or 'neutral' for a sentiment column (VADER's cut-offs)."""
    return ibis.cases((s >= POSITIVE, "positive"), (s <= NEGATIVE, "negative"), else_="neutral")


@uses_data
def comments(d: Data, filters: Filters | None = None, dataset: str | None = None):
    """Ibis table: the filtered feedback rows that have a comment, with ``sentiment`` (stored at
    import), ``sentiment_class``, ``effort`` (any effort pattern), ``score01`` (score on 0..1 by its
    metric's scale) and ``source`` ('solicited' / 'unsolicited' / 'unknown')."""
    if not d.has("feedback"):
        raise CXError("Voice of the customer needs a feedback table (survey answers, reviews, complaints) "
                      "with a comment column: import one on the Data page.")
    fb = ensure_scored(d).feedback
    if "comment" not in fb.columns:
        raise CXError("The feedback table has no comment column: import feedback with a text column "
                      "(comment, review, verbatim ...) to read the voice of the customer.")
    t = fb.filter(fb.comment.notnull() & (fb.comment.strip() != ""))
    low = t.comment.lower()
    return t.mutate(
        sentiment_class=sentiment_class_of(t.sentiment),
        effort=low.re_search(EFFORT_REGEX),
        score01=_score01(t),
        source=ibis.cases((t.solicited == True, "solicited"), (t.solicited == False, "unsolicited"),  # noqa: E712
                          else_="unknown"),
    )


def require_comments(n: int) -> None:
    """A clear message when there are no comments to measure (`n` of them)."""
    if not n:
        raise CXError("There are no comments in the feedback under the current filters (the feedback table "
                      "needs a comment column with text).")


# ----------------------------------------------------------------------------------- overview
@uses_data
def overview(d: Data, filters: Filters | None = None, dataset: str | None = None) -> dict:
    """Headline numbers over the comments: ``comments``; ``answers`` (feedback rows) and
    ``comment_rate`` = comments / answers; ``mean_sentiment``; ``positive``/``neutral``/``negative``
    shares (VADER compound >= 0.05 / between / <= -0.05); ``effort_share`` = share of comments with
    effort language; ``customers`` = distinct known customers who commented."""
    t = comments(d)
    all_rows = d.feedback.count().to_pyarrow().as_py()
    r = t.aggregate(
        comments=_.count(), mean_sentiment=_.sentiment.mean(),
        positive=(_.sentiment_class == "positive").mean(), neutral=(_.sentiment_class == "neutral").mean(),
        negative=(_.sentiment_class == "negative").mean(), effort_share=_.effort.mean(),
        customers=_.customer_id.nunique()).to_polars().row(0, named=True)
    require_comments(r["comments"])
    r["answers"] = int(all_rows)
    r["comment_rate"] = r["comments"] / all_rows if all_rows else None
    return r


@uses_data
def sentiment_vs_score(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Pearson correlation between the comment's sentiment and the answer's score, both per metric
    and over all metrics with a known scale ('all'), the score first put on 0..1 by its metric's scale
    (NPS 0–10, CSAT 1–5, CES 1–7 with 7 = easy, trust 1–5, rating 1–5). Columns: metric, comments, r,
    mean_sentiment."""
    t = comments(d).filter(_.score01.notnull() & _.sentiment.notnull())
    per = (t.group_by(metric=_.metric.lower())
            .aggregate(comments=_.count(), r=_.sentiment.corr(_.score01, how="pop"),
                       mean_sentiment=_.sentiment.mean())
            .order_by(_.comments.desc()).to_polars())
    tot = t.aggregate(comments=_.count(), r=_.sentiment.corr(_.score01, how="pop"),
                      mean_sentiment=_.sentiment.mean()).to_polars()
    out = pl.concat([tot.select(pl.lit("all").alias("metric"), pl.all()), per], how="vertical_relaxed")
    return out.filter(pl.col("comments") > 0)


@uses_data
def sentiment_by_score(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Mean comment sentiment at each score of each metric (with a known scale): metric, score,
    score01, comments, mean_sentiment."""
    t = comments(d).filter(_.score01.notnull() & _.sentiment.notnull())
    return (t.group_by(metric=_.metric.lower(), score=_.score, score01=_.score01)
             .aggregate(comments=_.count(), mean_sentiment=_.sentiment.mean())
             .order_by(["metric", "score"]).to_polars())


# ----------------------------------------------------------------------------------- effort
@uses_data
def effort_summary(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Per effort pattern (EFFORT_PATTERNS): comments matching it, share of all comments, their mean
    sentiment and mean score on 0..1. A comment can match several patterns."""
    t = comments(d)
    low = t.comment.lower()
    t = t.mutate(**{f"e{i}": low.re_search(p) for i, (_n, p) in enumerate(EFFORT_PATTERNS)})
    aggs = {}
    for i, _p in enumerate(EFFORT_PATTERNS):
        c = t[f"e{i}"]
        aggs[f"n{i}"] = c.sum()
        aggs[f"s{i}"] = t.sentiment.mean(where=c)
        aggs[f"q{i}"] = t.score01.mean(where=c)
    aggs["total"] = t.count()
    r = t.aggregate(**aggs).to_polars().row(0, named=True)
    total = r["total"] or 0
    require_comments(total)
    return pl.DataFrame({
        "pattern": [n for n, _p in EFFORT_PATTERNS],
        "regex": [p for _n, p in EFFORT_PATTERNS],
        "comments": [int(r[f"n{i}"] or 0) for i in range(len(EFFORT_PATTERNS))],
        "share": [(r[f"n{i}"] or 0) / total for i in range(len(EFFORT_PATTERNS))],
        "mean_sentiment": [r[f"s{i}"] for i in range(len(EFFORT_PATTERNS))],
        "mean_score01": [r[f"q{i}"] for i in range(len(EFFORT_PATTERNS))],
    }, schema={"pattern": pl.Utf8, "regex": pl.Utf8, "comments": pl.Int64, "share": pl.Float64,
               "mean_sentiment": pl.Float64, "mean_score01": pl.Float64}).sort("comments", descending=True)
