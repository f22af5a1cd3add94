"""The Voice of the customer terms (cx.glossary gathers them: hover help, the Glossary page, docs)."""
from __future__ import annotations

from ..terms import Term

AREA = "Voice of the customer"

GLOSSARY: tuple[Term, ...] = (
    Term("comment_sentiment", "Comment sentiment", AREA,
         "Each comment's mean VADER compound score (−1 very negative … +1 very positive) over its "
         "sentences, scored once at import. Negative ≤ −0.05, positive ≥ 0.05, neutral between.",
         "cx.voc.vader_scores", "voc"),
    Term("comment_overview", "Comments and comment rate", AREA,
         "Comments = feedback rows with a comment; comment rate = comments ÷ feedback rows; mean "
         "sentiment and the negative / neutral / positive shares over the comments.",
         "cx.voc.overview", "voc"),
    Term("themes", "Themes", AREA,
         "Comments are split into clauses; TF-IDF (words and word pairs) + NMF, fitted separately on "
         "the negative and on the positive clauses so a theme never mixes complaint and praise, finds "
         "k themes (automatic: the best topic coherence for k from 6 to 24). Each clause goes to its "
         "strongest theme, so a comment can mention several. Themes are numbered by size and labelled "
         "by their top terms (labels are editable).",
         "cx.voc.fit_themes", "voc"),
    Term("theme_share", "Theme share", AREA,
         "Per theme: comments mentioning it, their share of all comments, the mean sentiment of its "
         "mentions (the clauses about it), the share with effort language.",
         "cx.voc.theme_summary", "voc"),
    Term("theme_sentiment", "Theme sentiment", AREA,
         "Each theme's mentions split into negative (≤ −0.05), neutral and positive (≥ 0.05) by the "
         "sentiment of the mention's clause.",
         "cx.voc.theme_sentiment", "voc"),
    Term("sentiment_where", "Sentiment by touchpoint / channel / stage", AREA,
         "Mean comment sentiment, negative and positive shares and effort share per touchpoint, "
         "channel, stage (of the rated interaction), source (solicited or not) or metric.",
         "cx.voc.sentiment_by", "voc"),
    Term("themes_where", "Themes by touchpoint / channel / stage", AREA,
         "For each value of the dimension, the share of its comments that mention each theme.",
         "cx.voc.themes_by", "voc"),
    Term("sentiment_trend", "Sentiment over time", AREA,
         "Per week or month of the answer and source (solicited / unsolicited): comments, mean "
         "sentiment, negative share and effort share.",
         "cx.voc.trend", "voc"),
    Term("effort_language", "Effort language", AREA,
         "Comments matching effort phrases (on hold, transferred, had to call again, repeating "
         "oneself, confusing, waiting …; whole words, any case), which lexicon sentiment misses. Per "
         "phrase: comments, share of all comments, mean sentiment and mean score.",
         "cx.voc.effort_summary", "voc"),
    Term("sentiment_vs_score", "Sentiment vs score", AREA,
         "Pearson correlation r between a comment's sentiment and its answer's score, the score put on "
         "0..1 by its metric's scale (NPS 0–10, CSAT 1–5, CES 1–7 with 7 = easy, trust and rating "
         "1–5), per metric and overall.",
         "cx.voc.sentiment_vs_score", "voc"),
    Term("sentiment_by_score", "Sentiment at each score", AREA,
         "Mean comment sentiment at each score value of each metric: a rising line means the words "
         "agree with the numbers.",
         "cx.voc.sentiment_by_score", "voc"),
)
