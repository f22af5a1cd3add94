"""Voice of the customer: what customers say in their comments, solicited and unsolicited.

Three layers, each computed once and stored, never per page view:

1. **Sentiment at import.** When a feedback table is imported, :func:`score_feedback` (called by
   :mod:`cx.ingest` inside the import transaction) scores every comment with VADER (the
   ``vaderSentiment`` lexicon ships in the package: no download) and stores the score (-1..1) in
   the feedback table's ``sentiment`` column, next to the row. Each distinct sentence is scored
   once (comments repeat themselves a lot). Rows without a comment keep ``sentiment`` null. The
   cost is bounded per comment (:data:`MAX_SCORED_CHARS`, :data:`MAX_PIECE_CHARS`): one long
   comment cannot stall an import.
2. **Themes once per dataset version.** :func:`fit_themes` splits the comments into clauses
   (at sentence ends and at contrastive words: but, however, although, though, except, yet), gives
   each distinct clause a polarity (VADER; a neutral clause across a contrastive word from a negative
   or positive one takes the opposite polarity), fits TF-IDF (1–2-grams, English stop words) + NMF
   separately on the negative and on the positive distinct clauses of the whole dataset (so that a
   theme never mixes complaint and praise), lets each neutral clause join the theme it fits best, and
   stores the result in the dataset's schema (``voc_themes``, ``voc_mentions``), keyed by dataset
   version and the requested number of themes. Labels are editable (:func:`set_theme_label`) and
   saved per dataset (``voc_labels``), keyed by the theme's top terms so that a label survives a
   re-fit that finds the same theme.
3. **Metrics as Ibis expressions** over the filtered feedback joined to the stored mentions:
   theme x sentiment, by touchpoint/channel/stage/source, trend, effort language.

Definitions used everywhere:

- *comment*: a feedback row whose ``comment`` is not blank.
- *sentiment*: mean VADER compound of the comment's sentences (= VADER's compound of a one-sentence
  comment); positive >= 0.05, negative <= -0.05, else neutral (VADER's own thresholds).
- *theme*: a negative theme (fitted on the negative clauses) or a positive one (fitted on the positive
  clauses); a negative or positive clause goes to the strongest theme of its polarity, a neutral clause
  to the strongest theme of either (:func:`fit_themes_texts`; with fewer than 20 distinct negative or
  positive clauses, one fit on all clauses and each clause goes to its strongest theme).
- *mention*: a (comment, theme) pair: the comment has at least one clause in that theme. A comment can
  mention several themes ("easy checkout, but I was on hold"). The *sentiment of a mention* is the
  mean VADER compound of the comment's clauses in that theme, so a theme's sentiment is what customers
  say about that theme, not about the rest of the comment.
- *effort*: the comment matches one of :data:`EFFORT_PATTERNS` (whole words, case-insensitive).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import ibis
import numpy as np
import polars as pl
from ibis import _

from . import filters as flt
from .schema import METRIC_SCALES
from .store import CXError

if TYPE_CHECKING:  # pragma: no cover
    from .store import Store

POSITIVE, NEGATIVE = 0.05, -0.05
SENTIMENT_CLASSES = ("negative", "neutral", "positive")
DIMENSIONS = ("touchpoint", "channel", "stage", "source", "metric")
K_RANGE = (6, 24)  # automatic number of themes: searched in this range
# the theme method's version, stored with every fit: a stored fit of an older method (e.g. before
# themes were fitted per polarity) is refitted, not shown (2 = per-polarity themes)
THEME_MODEL = 2
TOP_TERMS = 8

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



# ----------------------------------------------------------------------------------- sentiment
@lru_cache(maxsize=1)
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


_SENTENCE = r"[^.!?]*[.!?]+|[^.!?]+$"
_CONTRAST = r"(?i)[,;:]?\s+\b(?:but|however|although|though|except|yet)\b\s*"
_MARK = "\ue000"  # private-use character: marks the start of a clause that follows a contrastive word


def _pieces(texts: pl.Series, clauses: bool) -> pl.DataFrame:
    """Split texts into sentences (or clauses: sentences further split at contrastive words), with
    digits replaced by 0 (order numbers do not make a text new). Columns: doc (index into texts), piece
    (in text order); with clauses also contrast (the clause follows a contrastive word). Vectorised (polars)."""
    t = pl.DataFrame({"t": texts.cast(pl.Utf8)}).with_row_index("doc").with_columns(
        pl.col("t").fill_null("").str.replace_all(r"[0-9]", "0"))
    if clauses:
        t = t.with_columns(pl.col("t").str.replace_all(_MARK, "", literal=True)
                           .str.replace_all(_CONTRAST, ". " + _MARK))
    out = (t.select(pl.col("doc").cast(pl.Int64), pl.col("t").str.extract_all(_SENTENCE).alias("piece"))
             .explode("piece"))
    if clauses:
        out = out.with_columns(pl.col("piece").str.strip_chars_start().str.starts_with(_MARK).fill_null(False)
                               .alias("contrast"),
                               pl.col("piece").str.replace_all(_MARK, "", literal=True))
    return (out.with_columns(pl.col("piece").str.strip_chars(" \t\r\n,;:.!?()\"'-"))
               .filter(pl.col("piece").str.contains(r"[A-Za-z]")))


# VADER's cost grows with the square of a sentence's length (its negation and idiom checks re-read
# the whole sentence at each sentiment word): 20 KB without a full stop took 2 s, 1 MB over 30 min.
# Bounded per text: the first MAX_SCORED_CHARS characters are read, and a longer sentence is scored
# in pieces of at most MAX_PIECE_CHARS (cut at a space) combined by their length. Texts within both
# bounds (nearly all comments) score exactly as VADER scores them.
MAX_SCORED_CHARS = 10_000
MAX_PIECE_CHARS = 1_000


def _chunks(text: str, n: int = MAX_PIECE_CHARS) -> list[str]:
    """`text` cut into pieces of at most n characters, at the last space before the limit if any."""
    out, i = [], 0
    while i < len(text):
        j = min(len(text), i + n)
        if j < len(text):
            k = text.rfind(" ", i + 1, j)
            j = k if k > i else j
        out.append(text[i:j])
        i = j
    return out


def _compound(text: str, score) -> float:
    """VADER's compound of a sentence; a long one: its pieces' compounds weighted by their length."""
    if len(text) <= MAX_PIECE_CHARS:
        return score(text)["compound"]
    parts = _chunks(text)
    return sum(score(p)["compound"] * len(p) for p in parts) / sum(len(p) for p in parts)


def vader_scores(texts) -> np.ndarray:
    """Sentiment of each text: the mean VADER compound (-1..1) of its sentences (VADER's authors'
    advice for texts longer than a sentence; one sentence = VADER's compound of the text). Each
    distinct sentence is scored once; a text without words gets null (NaN). Linear time: a text is
    read up to MAX_SCORED_CHARS, a sentence longer than MAX_PIECE_CHARS is scored in pieces."""
    s = texts if isinstance(texts, pl.Series) else pl.Series("t", list(texts), dtype=pl.Utf8)
    sent = _pieces(s.cast(pl.Utf8).str.slice(0, MAX_SCORED_CHARS), clauses=False)
    uniq = sent["piece"].unique()
    score = _analyzer().polarity_scores
    vals = np.fromiter((_compound(x, score) for x in uniq.to_list()), float, len(uniq))
    lut = pl.DataFrame({"piece": uniq, "v": vals})
    per = sent.join(lut, on="piece").group_by("doc").agg(pl.col("v").mean())
    out = pl.DataFrame({"doc": np.arange(s.len(), dtype=np.int64)}).join(per, on="doc", how="left",
                                                                          maintain_order="left")
    return out["v"].fill_null(np.nan).to_numpy()


def score_feedback(cur, ds_schema: str) -> int:
    """Import hook (DuckDB-native, like the rest of the import): make sure ``<schema>.feedback`` has a
    DOUBLE ``sentiment`` column and fill it for the rows that have a comment and no score yet (all
    rows after a replace, the new rows after an append). Runs on the import's cursor, inside its
    transaction. Returns the number of distinct texts scored."""
    if not re.fullmatch(r"ds_[0-9]+", ds_schema):
        raise ValueError(f"unexpected schema {ds_schema!r}")
    target = f"{ds_schema}.feedback"
    cur.sql(f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS sentiment DOUBLE")
    has_comment = cur.sql("SELECT count(*) FROM duckdb_columns() WHERE schema_name = $s AND table_name = 'feedback' "
                          "AND column_name = 'comment'", params={"s": ds_schema}).fetchall()[0][0]
    if not has_comment:
        return 0
    texts = cur.sql(f"SELECT DISTINCT comment FROM {target} WHERE sentiment IS NULL AND comment IS NOT NULL "
                    f"AND trim(comment) <> ''").pl()
    if texts.height == 0:
        return 0
    scores = pl.DataFrame({"comment": texts["comment"], "s": vader_scores(texts["comment"])}).with_columns(
        pl.col("s").fill_nan(None))
    cur.register("cx_voc_scores", scores.to_arrow())
    try:
        cur.sql(f"UPDATE {target} SET sentiment = v.s FROM cx_voc_scores v "
                f"WHERE {target}.comment = v.comment AND {target}.sentiment IS NULL")
    finally:
        cur.unregister("cx_voc_scores")
    return texts.height


def _ensure_scored(store: "Store", dataset: str | None) -> None:
    """A feedback table imported before the hook existed: score it now (once)."""
    if "sentiment" in store.table_columns("feedback", dataset):
        return
    ds = store.dataset(dataset)
    with store.transaction() as cur:
        score_feedback(cur, ds.schema)


# ----------------------------------------------------------------------------------- base tables
def _score01(t):
    """The answer's score on 0..1 by its metric's scale (cx.schema.METRIC_SCALES); null for a metric
    without a known scale."""
    branches = []
    for m, (lo, hi, better) in METRIC_SCALES.items():
        x = (t.score.cast("float64") - lo) / (hi - lo)
        branches.append((t.metric.lower() == m, x if better else 1 - x))
    return ibis.cases(*branches, else_=ibis.null("float64"))


def _sentiment_class(s):
    return ibis.cases((s >= POSITIVE, "positive"), (s <= NEGATIVE, "negative"), else_="neutral")


def comments(store: "Store", filters=None, dataset: str | None = None):
    """Ibis table: the filtered feedback rows that have a comment, with ``sentiment`` (stored at
    import), ``sentiment_class``, ``effort`` (any effort pattern), ``score01`` (score on 0..1 by its
    metric's scale) and ``source`` ('solicited' / 'unsolicited' / 'unknown')."""
    if not store.has_table("feedback", dataset):
        raise CXError("Voice of the customer needs a feedback table (survey answers, reviews, complaints) "
                      "with a comment column: import one on the Data page.")
    _ensure_scored(store, dataset)
    fb = flt.feedback(store, filters, dataset)
    if "comment" not in fb.columns:
        raise CXError("The feedback table has no comment column: import feedback with a text column "
                      "(comment, review, verbatim ...) to read the voice of the customer.")
    t = fb.filter(fb.comment.notnull() & (fb.comment.strip() != ""))
    low = t.comment.lower()
    return t.mutate(
        sentiment_class=_sentiment_class(t.sentiment),
        effort=low.re_search(EFFORT_REGEX),
        score01=_score01(t),
        source=ibis.cases((t.solicited == True, "solicited"), (t.solicited == False, "unsolicited"),  # noqa: E712
                          else_="unknown"),
    )


def _require_comments(n: int) -> None:
    if not n:
        raise CXError("There are no comments in the feedback under the current filters (the feedback table "
                      "needs a comment column with text).")


# ----------------------------------------------------------------------------------- overview
def overview(store: "Store", filters=None, dataset: str | None = None) -> dict:
    """Headline numbers over the comments: ``comments``; ``answers`` (feedback rows) and
    ``comment_rate`` = comments / answers; ``mean_sentiment``; ``positive``/``neutral``/``negative``
    shares (VADER compound >= 0.05 / between / <= -0.05); ``effort_share`` = share of comments with
    effort language; ``customers`` = distinct known customers who commented."""
    t = comments(store, filters, dataset)
    all_rows = flt.feedback(store, filters, dataset).count().to_pyarrow().as_py()
    r = t.aggregate(
        comments=_.count(), mean_sentiment=_.sentiment.mean(),
        positive=(_.sentiment_class == "positive").mean(), neutral=(_.sentiment_class == "neutral").mean(),
        negative=(_.sentiment_class == "negative").mean(), effort_share=_.effort.mean(),
        customers=_.customer_id.nunique()).to_polars().row(0, named=True)
    _require_comments(r["comments"])
    r["answers"] = int(all_rows)
    r["comment_rate"] = r["comments"] / all_rows if all_rows else None
    return r


def sentiment_vs_score(store: "Store", filters=None, dataset: str | None = None) -> pl.DataFrame:
    """Pearson correlation between the comment's sentiment and the answer's score, both per metric
    and over all metrics with a known scale ('all'), the score first put on 0..1 by its metric's scale
    (NPS 0–10, CSAT 1–5, CES 1–7 with 7 = easy, trust 1–5, rating 1–5). Columns: metric, comments, r,
    mean_sentiment."""
    t = comments(store, filters, dataset).filter(_.score01.notnull() & _.sentiment.notnull())
    per = (t.group_by(metric=_.metric.lower())
            .aggregate(comments=_.count(), r=_.sentiment.corr(_.score01, how="pop"),
                       mean_sentiment=_.sentiment.mean())
            .order_by(_.comments.desc()).to_polars())
    tot = t.aggregate(comments=_.count(), r=_.sentiment.corr(_.score01, how="pop"),
                      mean_sentiment=_.sentiment.mean()).to_polars()
    out = pl.concat([tot.select(pl.lit("all").alias("metric"), pl.all()), per], how="vertical_relaxed")
    return out.filter(pl.col("comments") > 0)


def sentiment_by_score(store: "Store", filters=None, dataset: str | None = None) -> pl.DataFrame:
    """Mean comment sentiment at each score of each metric (with a known scale): metric, score,
    score01, comments, mean_sentiment."""
    t = comments(store, filters, dataset).filter(_.score01.notnull() & _.sentiment.notnull())
    return (t.group_by(metric=_.metric.lower(), score=_.score, score01=_.score01)
             .aggregate(comments=_.count(), mean_sentiment=_.sentiment.mean())
             .order_by(["metric", "score"]).to_polars())


# ----------------------------------------------------------------------------------- effort
def effort_summary(store: "Store", filters=None, dataset: str | None = None) -> pl.DataFrame:
    """Per effort pattern (EFFORT_PATTERNS): comments matching it, share of all comments, their mean
    sentiment and mean score on 0..1. A comment can match several patterns."""
    t = comments(store, filters, dataset)
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
    _require_comments(total)
    return pl.DataFrame({
        "pattern": [n for n, _p in EFFORT_PATTERNS],
        "regex": [p for _n, p in EFFORT_PATTERNS],
        "comments": [int(r[f"n{i}"] or 0) for i in range(len(EFFORT_PATTERNS))],
        "share": [(r[f"n{i}"] or 0) / total for i in range(len(EFFORT_PATTERNS))],
        "mean_sentiment": [r[f"s{i}"] for i in range(len(EFFORT_PATTERNS))],
        "mean_score01": [r[f"q{i}"] for i in range(len(EFFORT_PATTERNS))],
    }, schema={"pattern": pl.Utf8, "regex": pl.Utf8, "comments": pl.Int64, "share": pl.Float64,
               "mean_sentiment": pl.Float64, "mean_score01": pl.Float64}).sort("comments", descending=True)


# ----------------------------------------------------------------------------------- themes (fit)
@dataclass(frozen=True)
class ThemeFit:
    k: int  # number of themes fitted
    requested: int  # 0 = automatic
    version: int  # dataset version it was fitted on
    themes: pl.DataFrame  # theme, terms, label, clauses, coherence
    mentions: pl.DataFrame | None  # comment, theme, sentiment, weight (None: it is in the database)
    k_scores: pl.DataFrame  # k, coherence (automatic choice only; empty otherwise)


def split_clauses(texts: pl.Series) -> pl.DataFrame:
    """Clauses of each text, in text order: columns doc (index into texts), clause, contrast (the clause
    follows a contrastive word). Split at sentence ends and at contrastive words (but, however, although,
    though, except, yet); digits become 0."""
    return _pieces(texts, clauses=True).rename({"piece": "clause"})


def clause_polarity(clauses: pl.DataFrame, sentiment: pl.DataFrame) -> pl.DataFrame:
    """Polarity (-1 negative, 0 neutral, +1 positive) of each distinct clause, which decides the group its
    theme is fitted in. `clauses`: doc, clause, contrast in text order (:func:`split_clauses`);
    `sentiment`: clause, sentiment (VADER compound). A clause is negative at <= -0.05 and positive at >=
    0.05 (VADER's thresholds). A neutral clause on one side of a contrastive word whose other side is
    negative or positive takes the opposite polarity (the 'but' rule of lexicon-based opinion mining, Ding,
    Liu & Yu 2008: "easy to use, but the app keeps crashing" - VADER knows no sentiment word in the second
    clause).
    A clause that occurs several times takes the sign of its mean polarity. Columns: clause, polarity."""
    s = pl.col("sentiment")
    d = (clauses.select("doc", "clause", "contrast").with_row_index("_i")
         .join(sentiment.select("clause", "sentiment"), on="clause", how="left").sort("_i")
         .with_columns(pl.when(s >= POSITIVE).then(1).when(s <= NEGATIVE).then(-1).otherwise(0).alias("o")))
    prev_o = pl.col("o").shift(1).over("doc").fill_null(0)
    next_o = pl.col("o").shift(-1).over("doc").fill_null(0)
    next_contrast = pl.col("contrast").shift(-1).over("doc").fill_null(False)
    o = (pl.when(pl.col("o") != 0).then(pl.col("o"))
         .when(pl.col("contrast") & (prev_o != 0)).then(-prev_o)
         .when(next_contrast & (next_o != 0)).then(-next_o)
         .otherwise(0))
    return (d.with_columns(o.alias("o")).group_by("clause").agg(pl.col("o").mean().sign().cast(pl.Int64)
                                                                 .alias("polarity")))


def _vectorizer(n: int):
    """TF-IDF of distinct clauses: 1–2-grams, English stop words, terms in >= 2 clauses (of >= 20) and in at
    most half of them, rows L2-normalised."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), stop_words="english", min_df=2 if n >= 20 else 1, max_df=0.5,
                           token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z']+\b", dtype=np.float32)


def _tfidf(clauses: list[str]):
    """TF-IDF of the distinct clauses (:func:`_vectorizer`): (vectorizer, X, vocab)."""
    vec = _vectorizer(len(clauses))
    try:
        X = vec.fit_transform(clauses)
    except ValueError:  # empty vocabulary
        raise CXError("The comments are too few or too short to find themes.") from None
    return vec, X, np.array(vec.get_feature_names_out())


def _coherences(H: np.ndarray, B, top: int = 10, unigrams: set | None = None) -> list[float]:
    """Per theme: mean NPMI of the pairs of its top-`top` terms (single words only when `unigrams` is
    given: a bigram always co-occurs with its own words), co-occurrence counted over clauses (B: binary
    clause x term matrix). Higher = themes whose words really go together."""
    n = B.shape[0]
    scores = []
    for h in H:
        idx = [j for j in np.argsort(-h) if j in unigrams][:top] if unigrams is not None else np.argsort(-h)[:top]
        idx = np.array(idx, dtype=np.int64)
        Bt = B[:, idx]
        D = np.asarray((Bt.T @ Bt).todense(), dtype=float) / n
        p = np.diag(D)
        iu = np.triu_indices(len(idx), 1)
        pij = D[iu]
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(pij > 0, np.log(pij / (p[iu[0]] * p[iu[1]])) / -np.log(np.where(pij > 0, pij, 0.5)), -1.0)
        scores.append(float(np.nanmean(v)) if v.size else 0.0)
    return scores


def _nmf(X, k: int, seed: int = 0, max_iter: int = 300):
    from sklearn.decomposition import NMF

    m = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=max_iter, tol=1e-4)
    W = m.fit_transform(X)
    return W, m.components_


@dataclass
class _Group:
    """Distinct clauses whose themes are fitted together: rows (indices into the distinct clauses), their
    TF-IDF (vec, X, vocab) and the single-word terms (for coherence)."""
    rows: np.ndarray
    vec: object
    X: object
    vocab: np.ndarray

    @property
    def unigrams(self) -> set:
        return {i for i, v in enumerate(self.vocab) if " " not in v}

    @property
    def cap(self) -> int:  # most themes it can hold
        return int(min(self.X.shape[0], self.X.shape[1]))


_MIN_GROUP = 20  # distinct clauses a polarity group needs to get themes of its own


def _groups(clauses: list[str], polarity: np.ndarray) -> tuple[list[_Group], np.ndarray]:
    """The groups themes are fitted in, and the rows left to assign afterwards. Negative clauses and
    positive clauses each get their own TF-IDF and themes, so a theme never mixes complaint and praise;
    neutral clauses are left to join the theme they fit best. When either polarity has fewer than
    _MIN_GROUP distinct clauses, all clauses form one group (no split)."""
    out = []
    for sign in (-1, 1):
        rows = np.flatnonzero(polarity == sign)
        if len(rows) < _MIN_GROUP:
            return _one_group(clauses)
        try:
            vec, X, vocab = _tfidf([clauses[i] for i in rows])
        except CXError:  # no term in >= 2 of them
            return _one_group(clauses)
        out.append(_Group(rows, vec, X, vocab))
    return out, np.flatnonzero(polarity == 0)


def _one_group(clauses: list[str]) -> tuple[list[_Group], np.ndarray]:
    """All clauses in one group, nothing left to assign (the fit without the polarity split)."""
    vec, X, vocab = _tfidf(clauses)
    return [_Group(np.arange(len(clauses)), vec, X, vocab)], np.array([], dtype=np.int64)


def _allocate(k: int, groups: list[_Group]) -> list[int]:
    """Split k themes over the groups in proportion to their distinct clauses (largest remainder), at
    least one each, at most what each can hold."""
    size = np.array([g.X.shape[0] for g in groups], dtype=float)
    cap = np.array([g.cap for g in groups])
    k = int(max(len(groups), min(k, cap.sum())))
    raw = k * size / size.sum()
    out = np.minimum(np.maximum(1, np.floor(raw)), cap).astype(np.int64)
    while out.sum() < k:
        out[np.argmax(np.where(out < cap, raw - out, -np.inf))] += 1
    while out.sum() > k:
        out[np.argmax(np.where(out > 1, out - raw, -np.inf))] -= 1
    return out.tolist()


def choose_k(groups: list[_Group], lo: int = K_RANGE[0], hi: int = K_RANGE[1], sample: int = 8_000,
             seed: int = 0, step: int = 3) -> pl.DataFrame:
    """Score candidate numbers of themes k = lo, lo+3, ..., hi: the k themes are split over the groups
    (:func:`_allocate`), NMF is fitted in each group on (a sample of at most `sample` in all) its distinct
    clauses, and k is scored by topic coherence: the mean over all k themes of the NPMI over the pairs of
    the theme's top-5 single words, co-occurrence counted in the clauses of its group. The automatic
    choice is the k with the best coherence (the smaller k on a tie). Returns k, coherence."""
    rng = np.random.default_rng(seed)
    total = sum(g.X.shape[0] for g in groups)
    parts = []
    for g in groups:
        X = g.X
        take = X.shape[0] if total <= sample else max(1, round(sample * X.shape[0] / total))
        if take < X.shape[0]:
            X = X[np.sort(rng.choice(X.shape[0], take, replace=False))]
        parts.append((X, (X > 0).astype(np.float32).tocsc(), g.unigrams))
    hi = max(lo, min(hi, sum(X.shape[0] for X, _b, _u in parts) // 5, sum(g.X.shape[1] for g in groups) // 3))
    rows = []
    for k in range(lo, hi + 1, step):
        coh = []
        for (X, B, uni), kg in zip(parts, _allocate(k, groups)):
            _W, H = _nmf(X, min(kg, X.shape[0]), seed, max_iter=150)
            coh += _coherences(H, B, 5, uni)
        rows.append((k, float(np.mean(coh))))
    return pl.DataFrame(rows, schema={"k": pl.Int64, "coherence": pl.Float64}, orient="row")


def fit_themes_texts(texts: pl.Series, k: int | None = None, seed: int = 0) -> tuple:
    """The fit itself, on a list of comment texts (distinct or not). Returns (k, themes, mentions,
    k_scores) as in :class:`ThemeFit` (labels = default labels = top terms).

    Themes are fitted separately on the negative and on the positive distinct clauses
    (:func:`clause_polarity`; each group its own TF-IDF and NMF, the k themes split between them in
    proportion to their distinct clauses), so that a theme never mixes complaint and praise; each of
    those clauses goes to its group's strongest theme. A neutral clause goes to the theme of either group
    it fits best (non-negative least squares on the themes' terms, the largest weight), none when it shares
    no term with any theme. With too few negative or positive clauses, one fit on all clauses."""
    from threadpoolctl import threadpool_limits

    texts = pl.Series("comment", texts, dtype=pl.Utf8).drop_nulls().unique().sort()  # sorted: a reproducible fit
    cl = split_clauses(texts)
    if cl.height < 10:
        raise CXError("There are too few comments to find themes (at least a handful are needed).")
    uniq = cl["clause"].unique().sort()
    clauses = uniq.to_list()
    sent = vader_scores(uniq)
    lut = pl.DataFrame({"clause": uniq, "sentiment": sent})
    polarity = lut.join(clause_polarity(cl, lut), on="clause", how="left", maintain_order="left")["polarity"] \
        .fill_null(0).to_numpy()
    groups, rest = _groups(clauses, polarity)
    scores = pl.DataFrame(schema={"k": pl.Int64, "coherence": pl.Float64})
    # small matrices: BLAS threads only add synchronisation (up to ~20x slower on a busy 2-core machine)
    with threadpool_limits(limits=1):
        if k is None:
            scores = choose_k(groups, seed=seed)
            k = int(scores.sort(["coherence", "k"], descending=[True, False])["k"][0])
        if int(k) < len(groups):  # fewer themes than groups: one fit on all clauses
            groups, rest = _one_group(clauses)
        n = len(clauses)
        assigned = np.full(n, -1, dtype=np.int64)
        strength = np.zeros(n)
        fitted = []  # (group, H, first theme id)
        off = 0
        for g, kg in zip(groups, _allocate(int(k), groups)):
            W, H = _nmf(g.X, kg, seed)
            s = W.max(axis=1)
            assigned[g.rows] = np.where(s > 1e-9, W.argmax(axis=1) + off, -1)
            strength[g.rows] = s
            fitted.append((g, H, off))
            off += kg
        if len(rest):
            from sklearn.decomposition import non_negative_factorization

            texts_rest = [clauses[i] for i in rest]
            best = np.zeros(len(rest))
            for g, H, o in fitted:
                W, _H, _n = non_negative_factorization(g.vec.transform(texts_rest), H=H.astype(np.float32),
                                                       n_components=H.shape[0], update_H=False, max_iter=300)
                s, arg = W.max(axis=1), W.argmax(axis=1) + o
                better = s > np.maximum(best, 1e-9)
                assigned[rest[better]] = arg[better]
                best = np.where(better, s, best)
            strength[rest] = best
    k = off
    # order themes by size (clauses in them), biggest first
    size = np.bincount(assigned[assigned >= 0], minlength=k)
    order = np.argsort(-size, kind="stable")
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    terms, coh = [None] * k, [0.0] * k
    for g, H, o in fitted:
        B = (g.X > 0).astype(np.float32).tocsc()
        for j, c in enumerate(_coherences(H, B, 5, g.unigrams)):
            terms[o + j] = ", ".join(g.vocab[np.argsort(-H[j])[:TOP_TERMS]])
            coh[o + j] = c
    themes = pl.DataFrame({"theme": np.arange(k, dtype=np.int64), "terms": [terms[j] for j in order],
                           "clauses": size[order].astype(np.int64), "coherence": [coh[j] for j in order]})
    lut = pl.DataFrame({"clause": uniq, "theme": np.where(assigned >= 0, rank[np.maximum(assigned, 0)], -1),
                        "weight": strength.astype(float), "csent": sent})
    m = (cl.join(lut, on="clause", how="left").filter(pl.col("theme") >= 0)
         .group_by("doc", "theme").agg(pl.col("csent").mean().alias("sentiment"), pl.col("weight").max()))
    mentions = (m.join(pl.DataFrame({"doc": np.arange(texts.len(), dtype=np.int64), "comment": texts}), on="doc")
                .select("comment", "theme", "sentiment", "weight"))
    return k, themes, mentions, scores


def _label_map(store: "Store", dataset: str | None) -> dict[str, str]:
    if not store.has_table("voc_labels", dataset):
        return {}
    ds = store.dataset(dataset)
    df = store.ibis.table("voc_labels", database=ds.schema).to_polars()
    return dict(zip(df["terms"].to_list(), df["label"].to_list()))


def _default_label(terms: str) -> str:
    return ", ".join(terms.split(", ")[:3])


def fit_themes(store: "Store", k: int | None = None, dataset: str | None = None, seed: int = 0) -> ThemeFit:
    """The dataset's themes, fitted once per dataset version and requested number of themes (None =
    automatic: the best coherence over k = 6, 9, ..., 24, see :func:`choose_k`) on all of the
    dataset's comments (filters never refit: they select mentions), and stored in the dataset's
    schema. Comments are split into clauses (:func:`split_clauses`), each distinct clause gets a polarity
    (:func:`clause_polarity`), and TF-IDF (1–2-grams, English stop words, terms in >= 2 and <= 50% of
    the group's distinct clauses) + NMF (nndsvda init, seed 0) are fitted separately on the negative
    and on the positive distinct clauses, the k themes split between the two in proportion to their
    distinct clauses; a negative or positive clause goes to its group's strongest theme, a neutral one
    to the theme of either group it fits best (none when all its weights are 0); see
    :func:`fit_themes_texts`. Themes are numbered by size and labelled by their top terms (editable)."""
    ds = store.dataset(dataset)
    req = int(k or 0)
    key = (str(store.path), ds.id, ds.version, req)
    cached = _MEMORY.get(key) or _load_fit(store, ds, req)
    if cached is None:
        if not store.has_table("feedback", ds.name):
            raise CXError("Themes need a feedback table with comments: import one on the Data page.")
        _ensure_scored(store, ds.name)
        fb = store.table("feedback", ds.name)
        texts = (fb.filter(fb.comment.notnull() & (fb.comment.strip() != "")).select("comment").distinct()
                 .to_polars()["comment"])
        if texts.len() == 0:
            raise CXError("The feedback has no comments to find themes in.")
        kk, themes, mentions, scores = fit_themes_texts(texts, k, seed)
        saved = _save_fit(store, ds, req, kk, themes, mentions, scores)
        cached = (kk, themes, None if saved else mentions, scores)
        if not saved:
            _MEMORY[key] = cached  # read-only database: keep it in this process
    kk, themes, mentions, scores = cached
    labels = _label_map(store, ds.name)
    themes = themes.with_columns(pl.col("terms").map_elements(lambda s: labels.get(s, _default_label(s)),
                                                              return_dtype=pl.Utf8).alias("label"))
    return ThemeFit(kk, req, ds.version, themes.select("theme", "label", "terms", "clauses", "coherence"),
                    mentions, scores)


_MEMORY: dict = {}


def _load_fit(store: "Store", ds, req: int):
    """The stored fit of this dataset version and request (mentions stay in the database), or None."""
    if not (store.has_table("voc_themes", ds.name) and store.has_table("voc_mentions", ds.name)):
        return None
    be = store.ibis
    th = be.table("voc_themes", database=ds.schema)
    if "model" not in th.columns:  # stored by a version of CX Loop before the model was recorded
        return None
    themes = th.filter((th.version == ds.version) & (th.requested == req) & (th.model == THEME_MODEL)) \
        .order_by("theme").to_polars()
    if themes.height == 0:
        return None
    scores = pl.DataFrame(schema={"k": pl.Int64, "coherence": pl.Float64})
    if store.has_table("voc_k_scores", ds.name):
        ks = be.table("voc_k_scores", database=ds.schema)
        scores = ks.filter((ks.version == ds.version) & (ks.requested == req)).select("k", "coherence") \
            .order_by("k").to_polars()
    return int(themes["k"][0]), themes.select("theme", "terms", "clauses", "coherence"), None, scores


def _save_fit(store: "Store", ds, req: int, k: int, themes, mentions, scores) -> bool:
    """Store the fit in the dataset's schema (replacing fits of older versions and of the same request);
    a read-only database simply keeps nothing (the fit is then recomputed per process)."""
    new = {
        "voc_themes": themes.with_columns(pl.lit(k, pl.Int64).alias("k")),
        "voc_mentions": mentions,
        "voc_k_scores": scores,
    }
    try:
        with store.transaction() as cur:
            for name, df in new.items():
                df = df.with_columns(pl.lit(ds.version, pl.Int64).alias("version"),
                                     pl.lit(req, pl.Int64).alias("requested"),
                                     pl.lit(THEME_MODEL, pl.Int64).alias("model"))
                _write(cur, ds.schema, name, df, delete="version <> $v OR requested = $r",
                       params={"v": ds.version, "r": req})
        return True
    except Exception as e:  # noqa: BLE001 - a cache that cannot be written is not an error
        if "read-only" not in str(e).lower() and "read only" not in str(e).lower():
            raise
        return False


def _write(cur, schema: str, name: str, df: pl.DataFrame, delete: str | None = None, params=None) -> None:
    """Storage of the VoC caches (DuckDB-native, like the store): append `df` to <schema>.<name>
    (created on first use), after deleting the rows matching `delete`."""
    if not re.fullmatch(r"ds_[0-9]+", schema) or not re.fullmatch(r"voc_[a-z_]+", name):
        raise ValueError("unexpected table name")
    exists = cur.sql("SELECT count(*) FROM duckdb_tables() WHERE schema_name = $s AND table_name = $t",
                     params={"s": schema, "t": name}).fetchall()[0][0]
    cur.register("cx_voc_new", df.to_arrow())
    try:
        if not exists:
            cur.sql(f"CREATE TABLE {schema}.{name} AS SELECT * FROM cx_voc_new")
        else:
            if delete:
                cur.sql(f"DELETE FROM {schema}.{name} WHERE {delete}", params=params)
            # columns added since the table was created (e.g. `model`): added, older rows null
            for col, typ in cur.sql("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM cx_voc_new)"
                                    ).fetchall():
                if re.fullmatch(r"[a-z_]+", col) and re.fullmatch(r"[A-Z]+", typ):
                    cur.sql(f"ALTER TABLE {schema}.{name} ADD COLUMN IF NOT EXISTS {col} {typ}")
            cur.sql(f"INSERT INTO {schema}.{name} BY NAME SELECT * FROM cx_voc_new")
    finally:
        cur.unregister("cx_voc_new")


def set_theme_label(store: "Store", terms: str, label: str, dataset: str | None = None) -> None:
    """Save the label of the theme whose top terms are `terms` (blank = back to the default label).
    Labels are per dataset and survive re-fits that find the same theme."""
    ds = store.dataset(dataset)
    label = (label or "").strip()[:80]
    labels = _label_map(store, ds.name)
    if label and label != _default_label(terms):
        labels[terms] = label
    else:
        labels.pop(terms, None)
    df = pl.DataFrame({"terms": list(labels), "label": list(labels.values())},
                      schema={"terms": pl.Utf8, "label": pl.Utf8})
    with store.transaction() as cur:
        _write(cur, ds.schema, "voc_labels", df, delete="true")


# ----------------------------------------------------------------------------------- themes (metrics)
def _mentions(store: "Store", k: int | None, filters, dataset: str | None):
    """Ibis table: one row per (comment row, theme) under the filters: the comment's columns plus theme,
    mention_sentiment (sentiment of the comment's clauses in that theme), weight."""
    fit = fit_themes(store, k, dataset)
    t = comments(store, filters, dataset)
    if fit.mentions is None:
        ds = store.dataset(dataset)
        m = store.ibis.table("voc_mentions", database=ds.schema)
        m = m.filter((m.version == fit.version) & (m.requested == fit.requested))
    else:
        m = ibis.memtable(fit.mentions)
    m = m.select(m_comment=m.comment, theme=m.theme, mention_sentiment=m.sentiment, weight=m.weight)
    j = t.join(m, t.comment == m.m_comment).drop("m_comment")
    return fit, j


def _with_labels(df: pl.DataFrame, fit: ThemeFit) -> pl.DataFrame:
    return df.join(fit.themes.select("theme", "label", "terms"), on="theme", how="left")


def theme_summary(store: "Store", k: int | None = None, filters=None, dataset: str | None = None) -> pl.DataFrame:
    """One row per theme: theme, label, terms; comments (rows mentioning it under the filters); share of
    all comments; mean_sentiment (mean mention sentiment); negative_share (mentions with sentiment <=
    -0.05); effort_share (its comments with effort language); unsolicited_share; mean_score01 (mean
    score on 0..1 of its answers with a known scale). Comments in no theme are the row theme = -1."""
    fit, j = _mentions(store, k, filters, dataset)
    total = comments(store, filters, dataset).count().to_pyarrow().as_py()
    _require_comments(total)
    agg = (j.group_by("theme").aggregate(
        comments=_.count(), mean_sentiment=_.mention_sentiment.mean(),
        negative_share=(_.mention_sentiment <= NEGATIVE).mean(), effort_share=_.effort.mean(),
        unsolicited_share=(_.source == "unsolicited").mean(), mean_score01=_.score01.mean())).to_polars()
    out = fit.themes.select("theme", "label", "terms").join(agg, on="theme", how="left").with_columns(
        pl.col("comments").fill_null(0))
    return out.with_columns((pl.col("comments") / total).alias("share")).sort("theme")


def theme_sentiment(store: "Store", k: int | None = None, filters=None, dataset: str | None = None) -> pl.DataFrame:
    """Theme x sentiment matrix: theme, label, sentiment_class (negative/neutral/positive, of the
    mention), comments, share (of the theme's mentions)."""
    fit, j = _mentions(store, k, filters, dataset)
    df = (j.mutate(sentiment_class=_sentiment_class(j.mention_sentiment))
          .group_by(["theme", "sentiment_class"]).aggregate(comments=_.count()).to_polars())
    grid = fit.themes.select("theme").join(pl.DataFrame({"sentiment_class": list(SENTIMENT_CLASSES)}), how="cross")
    df = grid.join(df, on=["theme", "sentiment_class"], how="left").with_columns(pl.col("comments").fill_null(0))
    df = df.with_columns((pl.col("comments") / pl.col("comments").sum().over("theme")).fill_nan(0).alias("share"))
    return _with_labels(df, fit).select("theme", "label", "sentiment_class", "comments", "share").sort(
        "theme", pl.col("sentiment_class").replace_strict({c: i for i, c in enumerate(SENTIMENT_CLASSES)}))


def _stage_of_feedback(store: "Store", t, dataset: str | None):
    """Add `stage` to feedback rows: the stage of the interaction the answer rates (same customer and
    touchpoint, the latest at or before the answer); else the touchpoint's dominant stage (its most
    frequent stage over all interactions); else null."""
    if not store.has_table("interactions", dataset):
        raise CXError("Stages come from the interactions table, which this dataset does not have yet.")
    i = store.table("interactions", dataset).filter(_.stage.notnull())
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


def sentiment_by(store: "Store", dim: str = "touchpoint", filters=None, dataset: str | None = None) -> pl.DataFrame:
    """Per value of `dim` (touchpoint, channel, stage, source = solicited/unsolicited, metric): value,
    comments, mean_sentiment, negative_share, positive_share, effort_share. Largest first."""
    t = comments(store, filters, dataset)
    if dim == "stage":
        t = _stage_of_feedback(store, t, dataset)
    return (t.group_by(value=_dim_expr(t, dim))
             .aggregate(comments=_.count(), mean_sentiment=_.sentiment.mean(),
                        negative_share=(_.sentiment_class == "negative").mean(),
                        positive_share=(_.sentiment_class == "positive").mean(), effort_share=_.effort.mean())
             .order_by([_.comments.desc(), _.value]).to_polars())


def themes_by(store: "Store", dim: str = "touchpoint", k: int | None = None, filters=None,
              dataset: str | None = None) -> pl.DataFrame:
    """Theme mix per value of `dim`: value, theme, label, comments (mentioning the theme), share (of the
    value's comments), mean_sentiment (of the mentions)."""
    fit, j = _mentions(store, k, filters, dataset)
    t = comments(store, filters, dataset)
    if dim == "stage":
        j = _stage_of_feedback(store, j, dataset)
        t = _stage_of_feedback(store, t, dataset)
    tot = t.group_by(value=_dim_expr(t, dim)).aggregate(total=_.count()).to_polars()
    df = (j.group_by(value=_dim_expr(j, dim), theme=j.theme)
          .aggregate(comments=_.count(), mean_sentiment=_.mention_sentiment.mean()).to_polars())
    df = df.join(tot, on="value").with_columns((pl.col("comments") / pl.col("total")).alias("share"))
    return _with_labels(df, fit).select("value", "theme", "label", "comments", "share", "mean_sentiment") \
        .sort(["value", "theme"])


def trend(store: "Store", period: str = "month", filters=None, dataset: str | None = None) -> pl.DataFrame:
    """Per period (week or month of the answer) and source (solicited/unsolicited/unknown): comments,
    mean_sentiment, negative_share, effort_share."""
    if period not in ("week", "month"):
        raise CXError("The period is 'week' or 'month'.")
    t = comments(store, filters, dataset)
    unit = "W" if period == "week" else "M"
    return (t.group_by(period=t.timestamp.truncate(unit).cast("date"), source=t.source)
             .aggregate(comments=_.count(), mean_sentiment=_.sentiment.mean(),
                        negative_share=(_.sentiment_class == "negative").mean(), effort_share=_.effort.mean())
             .order_by(["period", "source"]).to_polars())


def theme_trend(store: "Store", k: int | None = None, period: str = "month", filters=None,
                dataset: str | None = None) -> pl.DataFrame:
    """Per period and theme: comments mentioning it, mean mention sentiment."""
    if period not in ("week", "month"):
        raise CXError("The period is 'week' or 'month'.")
    fit, j = _mentions(store, k, filters, dataset)
    unit = "W" if period == "week" else "M"
    df = (j.group_by(period=j.timestamp.truncate(unit).cast("date"), theme=j.theme)
          .aggregate(comments=_.count(), mean_sentiment=_.mention_sentiment.mean()).to_polars())
    return _with_labels(df, fit).sort(["period", "theme"])


COMMENT_COLUMNS = ("customer_id", "timestamp", "metric", "score", "touchpoint", "channel", "source",
                   "sentiment", "effort", "comment")


def comment_list(store: "Store", theme: int | None = None, k: int | None = None, effort_only: bool = False,
                 sentiment_class: str | None = None, limit: int = 200, filters=None,
                 dataset: str | None = None) -> pl.DataFrame:
    """Example comments to read: of one theme (strongest theme weight first, then newest), or all
    comments (newest first); optionally only those with effort language and/or of one sentiment class.
    Columns: COMMENT_COLUMNS (+ mention_sentiment for a theme)."""
    cols = list(COMMENT_COLUMNS)
    if theme is not None:
        _fit, t = _mentions(store, k, filters, dataset)
        t = t.filter(t.theme == int(theme))
        order = [_.weight.desc(), _.timestamp.desc(), _._seq]
        cols.append("mention_sentiment")
    else:
        t = comments(store, filters, dataset)
        order = [_.timestamp.desc(), _._seq]
    if effort_only:
        t = t.filter(t.effort)
    if sentiment_class:
        s = t.mention_sentiment if theme is not None else t.sentiment
        t = t.filter(_sentiment_class(s) == sentiment_class)
    return t.order_by(order).select(cols).limit(int(limit)).to_polars()


# -- glossary (cx.glossary reads it: hover help, the Glossary page, the README) -------------------
GLOSSARY = (
    {"key": "comment_sentiment", "name": "Comment sentiment", "api": "cx.voc.vader_scores", "page": "voc",
     "definition": "Each comment's mean VADER compound score (−1 very negative … +1 very positive) over its "
                   "sentences, scored once at import. Negative ≤ −0.05, positive ≥ 0.05, neutral between."},
    {"key": "comment_overview", "name": "Comments and comment rate", "api": "cx.voc.overview", "page": "voc",
     "definition": "Comments = feedback rows with a comment; comment rate = comments ÷ feedback rows; mean "
                   "sentiment and the negative / neutral / positive shares over the comments."},
    {"key": "themes", "name": "Themes", "api": "cx.voc.fit_themes", "page": "voc",
     "definition": "Comments are split into clauses; TF-IDF (words and word pairs) + NMF, fitted separately on "
                   "the negative and on the positive clauses so a theme never mixes complaint and praise, finds k "
                   "themes (automatic: the best topic coherence for k from 6 to 24). Each clause goes to its "
                   "strongest theme, so a comment can mention several. Themes are numbered by size "
                   "and labelled by their top terms (labels are editable)."},
    {"key": "theme_share", "name": "Theme share", "api": "cx.voc.theme_summary", "page": "voc",
     "definition": "Per theme: comments mentioning it, their share of all comments, the mean sentiment of its "
                   "mentions (the clauses about it), the share with effort language."},
    {"key": "theme_sentiment", "name": "Theme sentiment", "api": "cx.voc.theme_sentiment", "page": "voc",
     "definition": "Each theme's mentions split into negative (≤ −0.05), neutral and positive (≥ 0.05) "
                   "by the sentiment of the mention's clause."},
    {"key": "sentiment_where", "name": "Sentiment by touchpoint / channel / stage", "api": "cx.voc.sentiment_by",
     "page": "voc",
     "definition": "Mean comment sentiment, negative and positive shares and effort share per touchpoint, "
                   "channel, stage (of the rated interaction), source (solicited or not) or metric."},
    {"key": "themes_where", "name": "Themes by touchpoint / channel / stage", "api": "cx.voc.themes_by",
     "page": "voc",
     "definition": "For each value of the dimension, the share of its comments that mention each theme."},
    {"key": "sentiment_trend", "name": "Sentiment over time", "api": "cx.voc.trend", "page": "voc",
     "definition": "Per week or month of the answer and source (solicited / unsolicited): comments, mean "
                   "sentiment, negative share and effort share."},
    {"key": "effort_language", "name": "Effort language", "api": "cx.voc.effort_summary", "page": "voc",
     "definition": "Comments matching effort phrases (on hold, transferred, had to call again, repeating "
                   "oneself, confusing, waiting …; whole words, any case), which lexicon sentiment misses. Per "
                   "phrase: comments, share of all comments, mean sentiment and mean score."},
    {"key": "sentiment_vs_score", "name": "Sentiment vs score", "api": "cx.voc.sentiment_vs_score", "page": "voc",
     "definition": "Pearson correlation r between a comment's sentiment and its answer's score, the score put "
                   "on 0..1 by its metric's scale (NPS 0–10, CSAT 1–5, CES 1–7 with 7 = easy, trust and rating "
                   "1–5), per metric and overall."},
    {"key": "sentiment_by_score", "name": "Sentiment at each score", "api": "cx.voc.sentiment_by_score",
     "page": "voc",
     "definition": "Mean comment sentiment at each score value of each metric: a rising line means the words "
                   "agree with the numbers."},
)
