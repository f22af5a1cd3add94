"""A dataset's themes: fitted once per dataset version and requested number of themes
(:func:`fit_themes`, the method in :mod:`cx.voc.themes`) and kept in the dataset's own schema
(``voc_themes``, ``voc_mentions``, ``voc_k_scores``), with the labels users edit (``voc_labels``,
keyed by the theme's top terms so that a label survives a re-fit that finds the same theme).

A read-only database (or the Spark backend) keeps the fit in this process instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import ibis
import polars as pl

from ..data import Data, uses_data
from ..store import CXError
from .comments import ensure_scored
from .themes import fit_themes_texts

# the theme method's version, stored with every fit: a stored fit of an older method (e.g. before
# themes were fitted per polarity) is refitted, not shown (2 = per-polarity themes)
THEME_MODEL = 2


@dataclass(frozen=True)
class ThemeFit:
    k: int  # number of themes fitted
    requested: int  # 0 = automatic
    version: int  # dataset version it was fitted on
    themes: pl.DataFrame  # theme, terms, label, clauses, coherence
    mentions: pl.DataFrame | None  # comment, theme, sentiment, weight (None: it is in the database)
    k_scores: pl.DataFrame  # k, coherence (automatic choice only; empty otherwise)


def _has(d: Data, name: str) -> bool:
    """Whether the dataset's schema holds the VoC table `name` (voc_themes, voc_labels, ...)."""
    return d.store.has_table(name, d.name)


def _stored(d: Data, name: str):
    """The Ibis table of the VoC table `name` in the dataset's schema."""
    return d.store.ibis.table(name, database=d.dataset.schema)


def _label_map(d: Data) -> dict[str, str]:
    if not _has(d, "voc_labels"):
        return {}
    df = _stored(d, "voc_labels").to_polars()
    return dict(zip(df["terms"].to_list(), df["label"].to_list()))


def _default_label(terms: str, parts: int = 3) -> str:
    """A theme's default label: its top terms (words and word pairs, most typical first), each
    adding words the label does not have yet, up to `parts` of them: "care problem, care, did
    care" reads "care problem, did", not the same word three times. (A pair whose words are both new
    stays a phrase; otherwise only its new word is added.)"""
    seen: set[str] = set()
    out: list[str] = []
    for term in terms.split(", "):
        words = term.split()
        new = [w for w in words if w not in seen]
        if not new:
            continue
        out.append(term if len(new) == len(words) else " ".join(new))
        seen.update(words)
        if len(out) == parts:
            break
    return ", ".join(out) or terms


@uses_data
def fit_themes(d: Data, k: int | None = None, dataset: str | None = None, seed: int = 0) -> ThemeFit:
    """The dataset's themes, fitted once per dataset version and requested number of themes (None =
    automatic: the best coherence over k = 6, 9, ..., 24, see :func:`cx.voc.choose_k`) on all of the
    dataset's comments (filters never refit: they select mentions), and stored in the dataset's
    schema. Comments are split into clauses (:func:`cx.voc.split_clauses`), each distinct clause gets a
    polarity (:func:`cx.voc.clause_polarity`), and TF-IDF (1–2-grams, English stop words, terms in >= 2
    and <= 50% of the group's distinct clauses) + NMF (nndsvda init, seed 0) are fitted separately on
    the negative and on the positive distinct clauses, the k themes split between the two in proportion
    to their distinct clauses; a negative or positive clause goes to its group's strongest theme, a
    neutral one to the theme of either group it fits best (none when all its weights are 0); see
    :func:`cx.voc.fit_themes_texts`. Themes are numbered by size and labelled by their top terms
    (editable)."""
    req = int(k or 0)
    key = (str(d.store.path), d.dataset.id, d.version, req)
    cached = _MEMORY.get(key) or _load_fit(d, req)
    if cached is None:
        if not d.has("feedback"):
            raise CXError("Themes need a feedback table with comments: import one on the Data page.")
        fb = ensure_scored(d).table("feedback")
        texts = (fb.filter(fb.comment.notnull() & (fb.comment.strip() != "")).select("comment").distinct()
                 .to_polars()["comment"])
        if texts.len() == 0:
            raise CXError("The feedback has no comments to find themes in.")
        kk, themes, mentions, scores = fit_themes_texts(texts, k, seed)
        saved = _save_fit(d, req, kk, themes, mentions, scores)
        cached = (kk, themes, None if saved else mentions, scores)
        if not saved:
            _MEMORY[key] = cached  # read-only database: keep it in this process
    kk, themes, mentions, scores = cached
    labels = _label_map(d)
    themes = themes.with_columns(pl.col("terms").map_elements(lambda s: labels.get(s, _default_label(s)),
                                                              return_dtype=pl.Utf8).alias("label"))
    return ThemeFit(kk, req, d.version, themes.select("theme", "label", "terms", "clauses", "coherence"),
                    mentions, scores)


_MEMORY: dict = {}


def mention_table(d: Data, fit: ThemeFit):
    """Ibis table of the fit's mentions (comment, theme, sentiment, weight): the stored ones of its
    dataset version and request, or the ones this process keeps."""
    if fit.mentions is not None:
        return ibis.memtable(fit.mentions)
    m = _stored(d, "voc_mentions")
    return m.filter((m.version == fit.version) & (m.requested == fit.requested))


def _load_fit(d: Data, req: int):
    """The stored fit of this dataset version and request (mentions stay in the database), or None."""
    if not (_has(d, "voc_themes") and _has(d, "voc_mentions")):
        return None
    th = _stored(d, "voc_themes")
    if "model" not in th.columns:  # stored by a version of CX Loop before the model was recorded
        return None
    themes = th.filter((th.version == d.version) & (th.requested == req) & (th.model == THEME_MODEL)) \
        .order_by("theme").to_polars()
    if themes.height == 0:
        return None
    scores = pl.DataFrame(schema={"k": pl.Int64, "coherence": pl.Float64})
    if _has(d, "voc_k_scores"):
        ks = _stored(d, "voc_k_scores")
        scores = ks.filter((ks.version == d.version) & (ks.requested == req)).select("k", "coherence") \
            .order_by("k").to_polars()
    return int(themes["k"][0]), themes.select("theme", "terms", "clauses", "coherence"), None, scores


def _save_fit(d: Data, req: int, k: int, themes, mentions, scores) -> bool:
    """Store the fit in the dataset's schema (replacing fits of older versions and of the same request);
    a read-only database simply keeps nothing (the fit is then recomputed per process)."""
    new = {
        "voc_themes": themes.with_columns(pl.lit(k, pl.Int64).alias("k")),
        "voc_mentions": mentions,
        "voc_k_scores": scores,
    }
    try:
        with d.store.transaction() as cur:
            for name, df in new.items():
                df = df.with_columns(pl.lit(d.version, pl.Int64).alias("version"),
                                     pl.lit(req, pl.Int64).alias("requested"),
                                     pl.lit(THEME_MODEL, pl.Int64).alias("model"))
                _write(cur, d.dataset.schema, name, df, delete="version <> $v OR requested = $r",
                       params={"v": d.version, "r": req})
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


@uses_data
def set_theme_label(d: Data, terms: str, label: str, dataset: str | None = None) -> None:
    """Save the label of the theme whose top terms are `terms` (blank = back to the default label).
    Labels are per dataset and survive re-fits that find the same theme."""
    label = (label or "").strip()[:80]
    labels = _label_map(d)
    if label and label != _default_label(terms):
        labels[terms] = label
    else:
        labels.pop(terms, None)
    df = pl.DataFrame({"terms": list(labels), "label": list(labels.values())},
                      schema={"terms": pl.Utf8, "label": pl.Utf8})
    with d.store.transaction() as cur:
        _write(cur, d.dataset.schema, "voc_labels", df, delete="true")
