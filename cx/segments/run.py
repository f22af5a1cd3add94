"""The Segments page's run: features -> clustering with each customer's declared persona
(:func:`run`), every customer assigned in the engine from a fitted result (:func:`assign_expr`),
the clusters' saved names (:func:`names`, :func:`run_key`), the persona × behaviour crosstab and
the customers of one of its groups (:func:`crosstab`, :func:`group_members`), the profile as a
table (:func:`profile_wide`).
"""
from __future__ import annotations

from dataclasses import replace

import ibis
import polars as pl

from ..data import Data, uses_data
from ..filters import Filters
from ..store import CXError
from .behaviour import ID, default_columns, features_expr, is_skewed
from .clustering import ClusterResult, cluster

NO_PERSONA = "(no persona)"
NO_VALUE = "(no value)"


@uses_data
def persona_table(d: Data, filters: Filters | None = None, dataset: str | None = None) -> ibis.Table | None:
    """Ibis table (_pid, persona): each customer's declared persona (from the customers table,
    under the filters), or None when the dataset has no persona column."""
    if not d.has("customers", "persona"):
        return None
    c = d.customers
    return c.select(_pid=c.customer_id, persona=c.persona.cast("string"))


OUTCOMES = ("recency_days", "tenure_days", "incidents", "mean_sentiment", "last_nps", "last_ces")


def default_fit_sample(store) -> int | None:
    """Customers the clustering is fitted on: all of them on DuckDB (None); on another backend
    (Spark) a sample of $CX_FIT_SAMPLE customers (default 200,000) drawn in the engine, and every
    customer is then assigned in the engine (:func:`assign_expr`)."""
    import os

    if getattr(store, "backend_name", "duckdb") == "duckdb":
        return None
    return int(os.environ.get("CX_FIT_SAMPLE", "200000"))


@uses_data
def run(d: Data, k: int | None = None, columns: tuple[str, ...] | None = None, random_state: int = 0,
        include_outcomes: bool = False, filters: Filters | None = None,
        dataset: str | None = None, fit_sample: int | None = -1) -> ClusterResult:
    """features → cluster (with the k scan), with each customer's declared persona in
    `labels.persona` (NO_PERSONA when the customers table has none for them). `include_outcomes`
    adds OUTCOMES to the default clustering features. What the page caches per dataset version
    and parameters.

    fit_sample (default :func:`default_fit_sample`): when there are more customers than this, the
    model is fitted on about that many customers drawn in the engine (by a hash of the id, salted
    with the seed: the same sample on every run), and
    every customer is labelled in the engine (:func:`assign_expr`): `labels` and `sizes` then
    cover everyone, while the profile, scores, stability and projection describe the sample
    (`fitted_on` says how many)."""
    if not d.has("interactions"):
        raise CXError("Segments need an interactions table: import one on the Data page.")
    expr = features_expr(d)
    fit_sample = default_fit_sample(d.store) if fit_sample == -1 else fit_sample
    p = persona_table(d)

    def with_persona(e):
        if p is None:
            return e.mutate(persona=ibis.literal(NO_PERSONA))
        e = e.left_join(p, e[ID] == p._pid).drop("_pid")
        return e.mutate(persona=e.persona.fill_null(NO_PERSONA))

    sampled = False
    if fit_sample:
        # customers with a touchpoint = the feature rows, counted without computing the features
        n = int(d.interactions[ID].nunique().to_pyarrow().as_py())
        if n > fit_sample:
            # a hash sample: the same customers on every run (the seed salts it), portable
            # (Table.sample with a seed is not available on every backend)
            bucket = (expr[ID].concat(f"#{int(random_state)}").hash() % 1_000_000).abs()
            expr = expr.filter(bucket < int(1_000_000 * fit_sample / n))
            sampled = True
    feats = with_persona(expr).order_by(ID).to_polars()
    if columns is None and include_outcomes:
        columns = (*default_columns(feats), *[c for c in OUTCOMES if c in feats.columns])
    res = cluster(feats, k=k, random_state=random_state, columns=columns, scan=True)
    if not sampled:
        return res
    labels = with_persona(assign_expr(d, res)).order_by(ID).to_polars()
    total = labels.height
    sizes = (labels.group_by("cluster").agg(customers=pl.len()).sort("cluster")
             .with_columns(share=pl.col("customers") / total,
                           name=pl.col("cluster").replace_strict(res.names, return_dtype=pl.Utf8))
             .select("cluster", "name", "customers", "share"))
    return replace(res, labels=labels.select(ID, "persona", "cluster"), sizes=sizes)


@uses_data
def assign_expr(d: Data, result: ClusterResult, filters: Filters | None = None,
                dataset: str | None = None) -> ibis.Table:
    """Ibis expression (customer_id, cluster): every customer's cluster computed in the engine from
    a fitted result: the features, the same transform (log1p, median imputation, standardising
    with the fitted parameters) and the nearest centre (ties: the lower cluster number). How
    clustering scales out: fit on a sample, assign everyone where the data lives."""
    if result.centres is None or not result.scaling:
        raise CXError("This clustering result has no centres to assign customers with.")
    f = features_expr(d)
    z = {}
    for c in result.columns:
        med, mean, sd = result.scaling[c]
        v = f[c].cast("float64")
        if is_skewed(c):
            v = (v.clip(lower=0.0) + 1.0).ln()
        v = v.fill_null(med)
        z[c] = (v - mean) / sd if sd > 0 else ibis.literal(0.0)
    dist = []
    for centre in result.centres:
        terms = [(z[c] - float(m)) * (z[c] - float(m)) for c, m in zip(result.columns, centre)]
        sq = terms[0]
        for t in terms[1:]:
            sq = sq + t
        dist.append(sq)
    nearest = ibis.least(*dist) if len(dist) > 1 else dist[0]
    f = f.mutate(**{f"_d{i}": sq for i, sq in enumerate(dist, start=1)}, _dmin=nearest)
    which = ibis.cases(*[(f[f"_d{i}"] <= f._dmin, i) for i in range(1, len(dist) + 1)], else_=ibis.null("int64"))
    return f.select(ID, cluster=which.cast("int64"))


@uses_data
def assign(d: Data, result: ClusterResult, filters: Filters | None = None,
           dataset: str | None = None) -> pl.DataFrame:
    """customer_id, cluster for every customer (see :func:`assign_expr`), as a polars frame."""
    return assign_expr(d, result).order_by(ID).to_polars()


@uses_data
def names(d: Data, result: ClusterResult, key: str, dataset: str | None = None) -> dict[int, str]:
    """The clusters' names: the user's saved names for this run key (store.cluster_names, saved
    per dataset by store.set_cluster_name), else the automatic ones."""
    return result.names_with(d.store.cluster_names(key, d.name))


def run_key(k: int, columns, random_state: int = 0, filters: Filters | None = None) -> str:
    """The key under which a run's edited cluster names are saved (same k, features, seed and
    filters → same key)."""
    import hashlib

    raw = repr((int(k), tuple(columns), int(random_state), (filters or Filters()).key()))
    return f"k{int(k)}-" + hashlib.sha1(raw.encode()).hexdigest()[:12]


@uses_data
def declared_options(d: Data, filters: Filters | None = None, dataset: str | None = None) -> tuple[str, ...]:
    """What the clusters can be compared with: the customer attributes (Data.customer_attributes),
    the declared persona first (an event log's acquisition_channel or user_cohort when there is no
    customers table)."""
    opts = d.customer_attributes()
    return tuple(sorted(opts, key=lambda c: c != "persona"))


@uses_data
def with_declared(d: Data, result: ClusterResult, by: str, filters: Filters | None = None,
                  dataset: str | None = None) -> ClusterResult:
    """`result` with `labels.persona` holding the customer attribute `by` instead of the declared
    persona (NO_VALUE for a customer without one), so :func:`crosstab` and :func:`group_members`
    compare the behaviour clusters with it."""
    a = d.customer_attribute(by).to_polars().rename({by: "_v"})
    lab = result.labels.drop("persona", strict=False).join(a, on=ID, how="left")
    lab = lab.with_columns(persona=pl.col("_v").fill_null(NO_VALUE)).select(ID, "persona", "cluster")
    return replace(result, labels=lab)


def crosstab(result: ClusterResult, names: dict[int, str] | None = None) -> pl.DataFrame:
    """Persona × behaviour cluster: customers per (persona, cluster), the share of the persona in
    each cluster (rows sum to 1) and the cluster's name. Personas in descending size."""
    lab = result.labels
    if "persona" not in lab.columns:
        lab = lab.with_columns(persona=pl.lit(NO_PERSONA))
    return persona_crosstab(lab, result.names_with(names))


def persona_crosstab(lab: pl.DataFrame, names: dict[int, str]) -> pl.DataFrame:
    """lab: persona, cluster (one row per customer) -> the crosstab of :func:`crosstab`."""
    g = lab.group_by("persona", "cluster").agg(customers=pl.len())
    g = g.with_columns(share_of_persona=pl.col("customers") / pl.col("customers").sum().over("persona"),
                       persona_size=pl.col("customers").sum().over("persona"),
                       name=pl.col("cluster").replace_strict(names, return_dtype=pl.Utf8))
    return (g.sort(["persona_size", "persona", "cluster"], descending=[True, False, False])
            .select("persona", "cluster", "name", "customers", "share_of_persona"))


def group_members(result: ClusterResult, persona: str | None = None, cluster: int | None = None,
                  names: dict[int, str] | None = None) -> pl.DataFrame:
    """The customers of a persona × behaviour group (a cell of :func:`crosstab`; or of a persona, or
    of a cluster, when the other is None): customer_id, persona, cluster, name."""
    names = result.names_with(names)
    lab = result.labels
    if persona is not None and "persona" in lab.columns:
        lab = lab.filter(pl.col("persona") == persona)
    if cluster is not None:
        lab = lab.filter(pl.col("cluster") == int(cluster))
    return lab.with_columns(name=pl.col("cluster").replace_strict(names, return_dtype=pl.Utf8)).sort(ID)


def profile_wide(result: ClusterResult, clustered_only: bool = False) -> pl.DataFrame:
    """The profile as a table: one row per feature, per cluster its raw mean (for reading) and z."""
    p = result.profile.filter(pl.col("clustered")) if clustered_only else result.profile
    return p.pivot(on="cluster", index=["feature", "clustered"], values="mean", sort_columns=True)


