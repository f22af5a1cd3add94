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

Every function on a dataset takes a data handle first (:mod:`cx.data`; a store with filters= and
dataset= works too).

Where things are:
- sentiment.py      VADER scoring (bounded per comment), the import hook score_feedback, split_clauses
                    (imports nothing of CX Loop: cx.ingest calls it)
- comments.py       the base table comments, overview, sentiment_vs_score, sentiment_by_score,
                    effort_summary, EFFORT_PATTERNS
- themes.py         the theme method on texts: clause_polarity, TF-IDF + NMF per polarity, choose_k,
                    fit_themes_texts
- theme_store.py    fit_themes (once per dataset version, stored in voc_themes / voc_mentions /
                    voc_k_scores), set_theme_label (voc_labels), ThemeFit
- theme_metrics.py  theme_summary, theme_sentiment, sentiment_by, themes_by, trend, theme_trend,
                    comment_list
- glossary.py       GLOSSARY (the definitions, as cx.terms.Term)
"""
from __future__ import annotations

from .comments import (EFFORT_PATTERNS, EFFORT_REGEX, comments, effort_summary, overview, sentiment_by_score,
                       sentiment_vs_score)
from .glossary import GLOSSARY
from .sentiment import (MAX_PIECE_CHARS, MAX_SCORED_CHARS, NEGATIVE, POSITIVE, SENTIMENT_CLASSES, score_feedback,
                        split_clauses, vader_scores)
from .theme_metrics import (COMMENT_COLUMNS, DIMENSIONS, comment_list, sentiment_by, theme_sentiment, theme_summary,
                            theme_trend, themes_by, trend)
from .theme_store import THEME_MODEL, ThemeFit, fit_themes, set_theme_label
from .themes import K_RANGE, TOP_TERMS, choose_k, clause_polarity, fit_themes_texts

# reachable as cx.voc.<name> (the tests and bench/ops_voc.py use them): the shared VADER analyzer, the
# chunking of long sentences, the fits kept in this process, the default label of a theme
from .sentiment import _analyzer, _chunks  # noqa: F401, E402
from .theme_store import _MEMORY, _default_label  # noqa: F401, E402

__all__ = [
    "POSITIVE", "NEGATIVE", "SENTIMENT_CLASSES", "DIMENSIONS", "K_RANGE", "THEME_MODEL", "TOP_TERMS",
    "EFFORT_PATTERNS", "EFFORT_REGEX", "MAX_SCORED_CHARS", "MAX_PIECE_CHARS", "COMMENT_COLUMNS", "GLOSSARY",
    "vader_scores", "score_feedback", "split_clauses", "comments", "overview", "sentiment_vs_score",
    "sentiment_by_score", "effort_summary", "ThemeFit", "clause_polarity", "choose_k", "fit_themes_texts",
    "fit_themes", "set_theme_label", "theme_summary", "theme_sentiment", "sentiment_by", "themes_by", "trend",
    "theme_trend", "comment_list",
]
