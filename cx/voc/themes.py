"""The theme method, on comment texts (no database): clauses with a polarity
(:func:`clause_polarity`), TF-IDF + NMF fitted separately on the negative and on the positive
clauses (so a theme never mixes complaint and praise), the automatic number of themes by topic
coherence (:func:`choose_k`), and the fit itself (:func:`fit_themes_texts`). :mod:`cx.voc.theme_store`
runs it once per dataset version and keeps the result in the dataset's schema.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ..store import CXError
from .sentiment import NEGATIVE, POSITIVE, split_clauses, vader_scores

K_RANGE = (6, 24)  # automatic number of themes: searched in this range
TOP_TERMS = 8


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
