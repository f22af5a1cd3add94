"""Touchpoint-mix personas (NMF): :func:`touchpoint_mix` -> :func:`mix_personas` -> :class:`MixResult`.

A second lens on "who are they": each customer's mix of (channel, touchpoint) as a blend of a few
recurring journey recipes, found by non-negative matrix factorisation. Each recipe is read from
the touchpoints it weighs most; each customer belongs mostly to one recipe. Set next to the
declared persona, it says how far declared personas can be trusted: the recipe of each persona is
matched one-to-one (the assignment that agrees with most customers), and the customers whose
recipe is not their persona's are the ones who say one thing and do another.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import numpy as np
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..filters import Filters
from ..store import CXError
from .behaviour import ID
from .clustering import THREADS, number_by_size
from .run import NO_PERSONA, persona_crosstab, persona_table

MIX_TOP = 60  # (channel, touchpoint) pairs kept, by volume
MIX_BLEND = 0.6  # a customer whose main recipe holds less than this share of their mix is a blend


@dataclass
class MixResult:
    k: int
    components: pl.DataFrame  # component, name, top, customers, share, persona, agreement
    members: pl.DataFrame  # customer_id, component, strength, persona, behaves_like, as_declared
    crosstab: pl.DataFrame  # persona, cluster, name, customers, share_of_persona
    weights: pl.DataFrame  # component, pair, weight (each recipe's pairs, weights summing to 1)
    agreement: float | None  # share of customers with a declared persona whose recipe is that persona's
    ari_declared: float | None  # adjusted Rand index, recipe vs declared persona
    blended: float  # share of customers whose main recipe holds < MIX_BLEND of their mix
    mismatched: int  # customers with a declared persona whose recipe is another persona's
    reconstruction: float  # share of the (square-rooted) mix the k recipes explain: 1 - |X - WH|² / |X|²
    names: dict = field(default_factory=dict)


def _pair_label(pair: str) -> str:
    ch, _sep, tp = pair.partition(":")
    return f"{tp.replace('_', ' ')} ({ch.replace('_', ' ')})"


@uses_data
def touchpoint_mix(d: Data, filters: Filters | None = None, dataset: str | None = None,
                   top: int = MIX_TOP) -> pl.DataFrame:
    """customer_id, persona (declared, NO_PERSONA without one) and one column per (channel,
    touchpoint) pair among the `top` by volume, named "channel:touchpoint": each customer's count
    of touchpoints of that pair. Counted in the engine (one group by); pivoted here. A touchpoint
    without a channel counts under "(none)"."""
    if not d.has("interactions"):
        raise CXError("Touchpoint-mix personas need an interactions table: import one on the Data page.")
    t = d.interactions
    t = t.mutate(_pair=t.channel.cast("string").fill_null("(none)").concat(":", t.touchpoint.cast("string")))
    t = t.filter(t.touchpoint.notnull())
    top_pairs = (t.group_by("_pair").aggregate(_n=_.count()).order_by([ibis.desc("_n"), "_pair"])
                 .limit(int(top)).select("_pair"))
    g = t.inner_join(top_pairs, "_pair").group_by([ID, "_pair"]).aggregate(n=_.count())
    p = persona_table(d)
    if p is not None:
        g = g.left_join(p, g[ID] == p._pid).drop("_pid")
    long = g.to_polars()
    if long.height == 0:
        raise CXError("No touchpoint matches the filters.")
    if "persona" not in long.columns:
        long = long.with_columns(persona=pl.lit(NO_PERSONA))
    long = long.with_columns(pl.col("persona").fill_null(NO_PERSONA))
    wide = long.pivot(on="_pair", index=[ID, "persona"], values="n").fill_null(0)
    pairs = sorted(c for c in wide.columns if c not in (ID, "persona"))
    return wide.select(ID, "persona", *pairs).sort(ID)


def mix_personas(mix: pl.DataFrame, k: int | None = None, random_state: int = 0) -> MixResult:
    """NMF on the touchpoint mix (:func:`touchpoint_mix`): each customer's counts as shares of
    their touchpoints, square-rooted (the Hellinger transform: a few very frequent touchpoints do
    not drown the rest), factorised into k recipes (init nndsvda, `random_state`). k defaults to
    the number of declared personas (2..10; 6 without personas), so each persona can meet its
    recipe. A customer's component is their largest recipe; strength its share of their blend."""
    from scipy.optimize import linear_sum_assignment
    from sklearn.decomposition import NMF
    from sklearn.metrics import adjusted_rand_score
    from threadpoolctl import threadpool_limits

    pairs = [c for c in mix.columns if c not in (ID, "persona")]
    if not pairs:
        raise CXError("No touchpoints to build a mix from.")
    C = mix.select(pairs).to_numpy().astype(np.float64)
    keep = C.sum(axis=1) > 0
    mix, C = mix.filter(pl.Series(keep)), C[keep]
    declared = mix["persona"] if "persona" in mix.columns else pl.Series("persona", [NO_PERSONA] * mix.height)
    known = sorted(set(declared.to_list()) - {NO_PERSONA})
    if k is None:
        k = len(known) if 2 <= len(known) <= 10 else 6
    k = int(k)
    if not 2 <= k <= min(10, len(pairs), mix.height - 1):
        raise CXError(f"The number of recipes must be between 2 and {min(10, len(pairs), mix.height - 1)}.")
    X = np.sqrt(C / C.sum(axis=1, keepdims=True))
    with threadpool_limits(limits=THREADS):
        model = NMF(n_components=k, init="nndsvda", random_state=random_state, max_iter=800)
        W = model.fit_transform(X)
    H = model.components_
    recon = float(1 - model.reconstruction_err_ ** 2 / max((X ** 2).sum(), 1e-12))
    total = W.sum(axis=1, keepdims=True)
    blend = np.divide(W, total, out=np.full_like(W, 1 / k), where=total > 0)
    raw = blend.argmax(axis=1)
    strength = blend.max(axis=1)
    remap, _order = number_by_size(raw, k)  # 1 = the largest recipe
    comp = remap[raw]
    Hn = H / np.maximum(H.sum(axis=1, keepdims=True), 1e-12)
    names, tops, wrows = {}, {}, []
    for old in range(k):
        c = int(remap[old])
        idx = np.argsort(-Hn[old], kind="stable")
        tops[c] = [pairs[i] for i in idx[:5] if Hn[old, i] > 0]
        names[c] = " · ".join(_pair_label(p) for p in tops[c][:3]) or f"recipe {c}"
        wrows += [(c, pairs[i], float(Hn[old, i])) for i in idx if Hn[old, i] > 0]
    members = pl.DataFrame({ID: mix[ID], "component": comp, "strength": strength, "persona": declared})
    ct = persona_crosstab(members.select("persona", cluster="component"), names)
    # one-to-one: persona <-> recipe, the assignment that agrees with the most customers
    matched: dict[int, str] = {}
    agreement = ari = None
    with_p = members.filter(pl.col("persona") != NO_PERSONA)
    if known and with_p.height:
        M = np.zeros((len(known), k))
        for p, c, n in with_p.group_by("persona", "component").agg(n=pl.len()).iter_rows():
            M[known.index(p), c - 1] = n
        rows, cols = linear_sum_assignment(-M)
        matched = {int(c) + 1: known[r] for r, c in zip(rows, cols)}
        agreement = float(M[rows, cols].sum() / with_p.height)
        ari = float(adjusted_rand_score(with_p["persona"].to_list(), with_p["component"].to_list()))
    members = members.with_columns(
        behaves_like=pl.col("component").replace_strict(matched, default=None, return_dtype=pl.Utf8))
    members = members.with_columns(
        as_declared=pl.when(pl.col("persona") == NO_PERSONA).then(None)
        .otherwise(pl.col("behaves_like").fill_null("") == pl.col("persona")))
    n = members.height
    comps = (members.group_by("component").agg(customers=pl.len(),
                                               mean_strength=pl.col("strength").mean())
             .with_columns(share=pl.col("customers") / n)
             .sort("component"))
    declared_n = (pl.col("persona") != NO_PERSONA).sum()
    agree_in = members.group_by("component").agg(  # no declared persona in a recipe: no agreement (null, not NaN)
        agreement=pl.when(declared_n > 0).then((pl.col("persona") == pl.col("behaves_like")).sum() / declared_n))
    comps = (comps.join(agree_in, on="component", how="left")
             .with_columns(name=pl.col("component").replace_strict(names, return_dtype=pl.Utf8),
                           top=pl.col("component").replace_strict({c: ", ".join(_pair_label(p) for p in v)
                                                                   for c, v in tops.items()}, return_dtype=pl.Utf8),
                           persona=pl.col("component").replace_strict(matched, default=None, return_dtype=pl.Utf8))
             .select("component", "name", "top", "customers", "share", "mean_strength", "persona", "agreement"))
    weights = pl.DataFrame(wrows, schema={"component": pl.Int64, "pair": pl.Utf8, "weight": pl.Float64},
                           orient="row")
    return MixResult(k=k, components=comps, members=members.sort(ID), crosstab=ct, weights=weights,
                     agreement=agreement, ari_declared=ari, blended=float((strength < MIX_BLEND).mean()),
                     mismatched=int((members["as_declared"] == False).sum()),  # noqa: E712 - polars
                     reconstruction=recon, names=names)


@uses_data
def mix_run(d: Data, k: int | None = None, filters: Filters | None = None, dataset: str | None = None,
            top: int = MIX_TOP, random_state: int = 0) -> MixResult:
    """touchpoint_mix → mix_personas: what the Segments page's 'Touchpoint-mix personas' shows."""
    return mix_personas(touchpoint_mix(d, top=top), k=k, random_state=random_state)
