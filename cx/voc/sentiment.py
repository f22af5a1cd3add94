"""Comment sentiment, scored once at import: VADER (the ``vaderSentiment`` lexicon ships in the
package: no download) over the sentences of each comment, bounded per comment, and the import hook
:func:`score_feedback` that stores it in the feedback table's ``sentiment`` column.

Also the text splitting the themes build on (:func:`split_clauses`). This module imports nothing
of CX Loop: :mod:`cx.ingest` calls it inside the import transaction.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import polars as pl

POSITIVE, NEGATIVE = 0.05, -0.05
SENTIMENT_CLASSES = ("negative", "neutral", "positive")


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


def split_clauses(texts: pl.Series) -> pl.DataFrame:
    """Clauses of each text, in text order: columns doc (index into texts), clause, contrast (the clause
    follows a contrastive word). Split at sentence ends and at contrastive words (but, however, although,
    though, except, yet); digits become 0."""
    return _pieces(texts, clauses=True).rename({"piece": "clause"})


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
