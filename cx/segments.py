"""Segments: persona × behaviour clustering (DESIGN.md §3 "Segments").

Declared personas come from the customers table; behaviour comes from what customers do.

1. :func:`features` — one row per customer (every customer with at least one touchpoint after the
   global filters), computed by ONE Ibis expression (portable: window lag, group_by/aggregate,
   a left join of the last feedback answers). Definitions are in FEATURES below and in the
   docstring of :func:`features`.
2. :func:`cluster` — Python (scikit-learn) on that per-customer frame: log1p of the skewed counts
   and amounts, missing values imputed with the column median (the number imputed per feature is
   reported), standardise, KMeans (n_init=3, fixed random_state). k is set by the user or chosen
   by the silhouette on a sample (k = 2..10); silhouette, Davies–Bouldin and inertia are reported
   side by side; stability is the adjusted Rand index between runs with different seeds.
   Clusters are numbered by size (1 = largest) and named from their most over- and under-indexed
   features, deterministically.
3. Saved segments (name + customer ids, per dataset, in ``cx_meta``) become a global filter
   (``Filters.segment``) and a breakdown (:func:`membership`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import ibis
import numpy as np
import polars as pl
from ibis import _

from . import filters as flt
from .expr import journey_window, stage_rank
from .store import CXError

# feature -> (label when high, label when low, log1p before standardising)
FEATURES: dict[str, tuple[str, str, bool]] = {
    "recency_days": ("Long inactive", "Recently active", True),
    "tenure_days": ("Long tenure", "New", True),
    "touchpoints": ("Very active", "Few touchpoints", True),
    "purchases": ("Frequent buyer", "Rarely buys", True),
    "spend": ("High spend", "Low spend", True),
    "furthest_stage": ("Reaches use", "Stops early", False),
    "loops": ("Many loops", "Few loops", True),
    "inbound_share": ("Reaches out", "Mostly contacted", False),
    "gives_received": ("Many gives", "Few gives", True),
    "incidents": ("Incidents", "No incidents", True),
    "mean_sentiment": ("Positive sentiment", "Negative sentiment", False),
    "last_nps": ("High NPS", "Low NPS", False),
    "last_ces": ("High effort score", "Low effort score", False),
    "service_contacts": ("Many service contacts", "Few service contacts", True),
}
# the features clustered by default: what customers DO (channel mixes, buying, loops, gives, contacts).
# Outcomes and life-cycle position (recency, tenure, sentiment, NPS, CES, incidents) are profiled and
# compared across clusters but not clustered on by default, so "NPS by segment" is not circular.
DEFAULT_CLUSTER = ("purchases", "spend", "loops", "gives_received", "inbound_share", "service_contacts")
INBOUND_PREFIX = "in_"  # inbound channel mix: in_<channel>
CHANNEL_PREFIX = "ch_"  # channel-mix shares: ch_<channel>
MAX_CHANNELS = 10
ID = "customer_id"
K_RANGE = range(2, 11)
SAMPLE = 20_000  # rows for choosing k and for stability
SILHOUETTE_SAMPLE = 3_000
THREADS = 1  # BLAS/OpenMP threads for scikit-learn (see cluster())
PCA_POINTS = 20_000
PACK_BITS = 21  # channel-mix counts packed PACK_FIELDS to an int64 (see features_expr)
PACK_FIELDS = 3


def _col_name(channel: str) -> str:
    return CHANNEL_PREFIX + (re.sub(r"[^0-9a-z]+", "_", str(channel).lower()).strip("_") or "x")


def channels(store, filters: flt.Filters | None = None, dataset: str | None = None,
             top: int = MAX_CHANNELS) -> list[str]:
    """The `top` channels by touchpoints (ties by name): the channel-mix features."""
    t = flt.interactions(store, filters, dataset)
    g = t.filter(t.channel.notnull()).group_by("channel").aggregate(_n=_.count())
    return g.order_by([ibis.desc("_n"), "channel"]).limit(int(top)).to_polars()["channel"].to_list()


def features_expr(store, filters: flt.Filters | None = None, dataset: str | None = None,
                  chans: list[str] | None = None, packed: bool = True) -> ibis.Table:
    """The Ibis expression behind :func:`features`.

    `packed`: the channel-mix counts (two per channel) are summed PACK_FIELDS to one integer, each
    in its own PACK_BITS-bit field, and unpacked with shifts and masks: a third of the sums over
    every touchpoint (the aggregate's cost grows with their number). Exact while every customer
    has fewer than 2**PACK_BITS touchpoints (a field never exceeds the customer's touchpoints);
    :func:`features` checks that and recomputes with `packed=False` otherwise."""
    t = flt.interactions(store, filters, dataset)
    chans = channels(store, filters, dataset) if chans is None else chans
    one = ibis.literal(1, "int64")
    zero = ibis.literal(0, "int64")

    def count(pred):  # sum(CASE ...): faster in DuckDB than COUNT(*) FILTER (WHERE ...) here
        return ibis.ifelse(pred, one, zero).sum()

    # The loops need each touchpoint's previous stage: a window sorted per customer by time. It
    # runs on the four columns it needs, not on every column the other features read (sorting
    # the wide rows was most of the query's time). Only the loop rows (stage below the previous
    # one) are then counted per customer, a few million rows instead of every touchpoint; they
    # join back per customer, and customers without one get 0.
    r = t.select(ID, "timestamp", "_seq", _r=stage_rank(t.stage))
    r = r.mutate(_pr=r._r.lag().over(journey_window()))
    r = r.filter(r._r < r._pr)
    lp = r.group_by(_lid=r[ID]).aggregate(loops=_.count())

    inbound = _.direction == "inbound"
    mix_names = [_col_name(c) for c in chans]
    in_names = [INBOUND_PREFIX + m[len(CHANNEL_PREFIX):] for m in mix_names]
    unpack = {}
    if packed:
        # per group of PACK_FIELDS channels, one CASE gives the row's channel its field's weight
        # (the channels exclude each other); the inbound sum reuses it for inbound rows
        mix, in_mix = {}, {}
        for g in range(0, len(chans), PACK_FIELDS):
            group = list(enumerate(chans[g:g + PACK_FIELDS]))
            weight = ibis.cases(*[(_.channel == c, ibis.literal(1 << (PACK_BITS * i), "int64")) for i, c in group],
                                else_=zero)
            mix[f"_pm{g}"] = weight.sum()
            in_mix[f"_pi{g}"] = ibis.ifelse(inbound, weight, zero).sum()
            for i, _c in group:
                unpack[mix_names[g + i]] = (f"_pm{g}", i)
                unpack[in_names[g + i]] = (f"_pi{g}", i)
    else:
        mix = {m: count(_.channel == c) for m, c in zip(mix_names, chans)}
        in_mix = {m: count(inbound & (_.channel == c)) for m, c in zip(in_names, chans)}
    per = t.group_by(ID).aggregate(
        _first=_.timestamp.min().epoch_seconds(),
        _last=_.timestamp.max().epoch_seconds(),
        touchpoints=_.count(),
        purchases=count(_.amount > 0),
        spend=_.amount.sum(where=_.amount > 0).fill_null(0).cast("float64"),
        _inbound=count(_.direction == "inbound"),
        _directed=count(_.direction.notnull()),
        gives_received=count(_.value_given.notnull()),
        incidents=count(_.incident.fill_null(False)),
        mean_sentiment=_.sentiment.mean(),
        service_contacts=count(inbound & (_.stage == "use") & _.department.notnull()),
        furthest_stage=stage_rank(_.stage).max(),
        **mix,
        **in_mix,
    )
    per = per.left_join(lp, per[ID] == lp._lid).drop("_lid").mutate(loops=_.loops.fill_null(0))
    if unpack:
        mask = (1 << PACK_BITS) - 1
        per = per.mutate(**{name: (per[col] >> (PACK_BITS * i)) & mask for name, (col, i) in unpack.items()})
    end = t.timestamp.max().epoch_seconds().as_scalar()  # one scalar over the rows, not a re-aggregation
    day = 86400.0
    per = per.mutate(
        recency_days=((end - per._last) / day),
        tenure_days=((end - per._first) / day),
        inbound_share=ibis.ifelse(per._directed > 0, per._inbound / per._directed.cast("float64"),
                                  ibis.null("float64")),
        **{c: per[c] / per.touchpoints.cast("float64") for c in mix_names},
        **{c: ibis.ifelse(per._inbound > 0, per[c] / per._inbound.cast("float64"), ibis.null("float64"))
           for c in in_names},
    )
    fb_cols = {}
    if store.has_table("feedback", dataset):
        fb = flt.feedback(store, filters, dataset)
        for metric in ("nps", "ces"):
            m = fb.filter((fb.metric == metric) & fb.score.notnull())
            m = m.mutate(_k=ibis.row_number().over(group_by=ID, order_by=[ibis.desc("timestamp"), ibis.desc("_seq")]))
            m = m.filter(m._k == 0).select(_fid=ID, **{f"last_{metric}": m.score.cast("float64")})
            per = per.left_join(m, per[ID] == m._fid).drop("_fid")
            fb_cols[f"last_{metric}"] = True
    for metric in ("nps", "ces"):
        if f"last_{metric}" not in fb_cols:
            per = per.mutate(**{f"last_{metric}": ibis.null("float64")})
    cols = [ID, "recency_days", "tenure_days", "touchpoints", "purchases", "spend", "furthest_stage", "loops",
            "inbound_share", "gives_received", "incidents", "mean_sentiment", "last_nps", "last_ces", "service_contacts",
            *mix_names, *in_names]
    return per.select(*cols).order_by(ID)


def features(store, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """One row per customer with at least one touchpoint (after the filters):

    - recency_days: days from the customer's last touchpoint to the last touchpoint of the data;
    - tenure_days: days from the customer's first touchpoint to the last touchpoint of the data;
    - touchpoints: all their touchpoints (any direction);
    - purchases: touchpoints with amount > 0 (frequency); spend: sum of those amounts (monetary,
      refunds not subtracted);
    - furthest_stage: the furthest stage reached, 0 = discover … 4 = use (null: no staged touchpoint);
    - loops: returns to an earlier stage between consecutive touchpoints in (timestamp, _seq) order
      (the loop of cx.journey.loop_metrics);
    - inbound_share: inbound / touchpoints with a direction (null when none has one);
    - gives_received: touchpoints with a value_given (discount, content, gift, thank-you …);
    - incidents: touchpoints flagged incident;
    - mean_sentiment: mean of the sentiment column (null when none);
    - last_nps, last_ces: the score of their latest NPS / CES answer (null when none or no feedback table);
    - service_contacts: inbound touchpoints in the use stage handled by a department (support,
      billing, returns, complaints …);
    - ch_<channel>: share of their touchpoints on each of the dataset's top 10 channels (the rest is
      not a column; a touchpoint without a channel counts in the denominator only);
    - in_<channel>: the same share among their inbound touchpoints (null when they have none).

    Nulls are kept here; :func:`cluster` imputes them (and reports how many)."""
    if not store.has_table("interactions", dataset):
        raise CXError("Segments need an interactions table: import one on the Data page.")
    chans = channels(store, filters, dataset)
    out = features_expr(store, filters, dataset, chans).to_polars()
    if out.height and out["touchpoints"].max() >= 1 << PACK_BITS:  # a packed field could overflow
        out = features_expr(store, filters, dataset, chans, packed=False).to_polars()
    return out


# -- clustering ---------------------------------------------------------------------------------

def is_channel(col: str) -> bool:
    return col.startswith(CHANNEL_PREFIX) or col.startswith(INBOUND_PREFIX)


def feature_columns(feats: pl.DataFrame) -> list[str]:
    """All feature columns of a features frame (everything but the id and non-numeric columns)."""
    return [c for c, t in feats.schema.items() if c != ID and t.is_numeric()]


def default_columns(feats: pl.DataFrame) -> list[str]:
    """The default clustering features present in `feats`: DEFAULT_CLUSTER and the channel mixes."""
    return [c for c in feature_columns(feats) if c in DEFAULT_CLUSTER or is_channel(c)]


def _skewed(col: str) -> bool:
    return FEATURES.get(col, ("", "", False))[2]


def label(col: str, high: bool) -> str:
    """Plain-language label of a feature being high (over-indexed) or low."""
    if col in FEATURES:
        return FEATURES[col][0 if high else 1]
    for prefix, hi, lo in ((INBOUND_PREFIX, "Uses {}", "Little {}"), (CHANNEL_PREFIX, "{} heavy", "Little {}")):
        if col.startswith(prefix):
            ch = col[len(prefix):].replace("_", " ")
            txt = (hi if high else lo).format(ch)
            return txt[0].upper() + txt[1:]
    return f"{'High' if high else 'Low'} {col.replace('_', ' ')}"


def _concept(col: str) -> str:
    for prefix in (INBOUND_PREFIX, CHANNEL_PREFIX):
        if col.startswith(prefix):
            return "channel:" + col[len(prefix):]
    return col


def transform(feats: pl.DataFrame, columns, scale: dict | None = None) -> tuple[np.ndarray, dict[str, int]]:
    """The matrix KMeans sees: each column as float, log1p(max(x, 0)) for the skewed counts and
    amounts (FEATURES), nulls replaced by the column median (0 when the whole column is null),
    then standardised (mean 0, sd 1; a constant column stays 0). Returns it and the number of
    values imputed per column. `scale`: the columns' :func:`scaling`, when already computed."""
    columns = list(columns)
    if not columns:
        return np.empty((feats.height, 0)), {}
    X, imputed, _scale = _matrix(feats, columns, scale)
    return X, imputed


def _matrix(feats: pl.DataFrame, columns, scale: dict | None = None):
    """(X, imputed, scale) of :func:`transform`, each column's float / log1p values computed once
    for both the scaling and the matrix."""
    b = _base(feats, columns)
    scale = scaling(b, columns, based=True) if scale is None else scale
    X, imputed = _standardised(b, columns, scale)
    return X, imputed, scale


def _base(feats: pl.DataFrame, columns) -> pl.DataFrame:
    """The columns as float, log1p(max(x, 0)) for the skewed ones, NaN as null."""
    def base(c):
        v = pl.col(c).cast(pl.Float64)
        return (v.clip(lower_bound=0).log1p() if _skewed(c) else v).fill_nan(None).alias(c)

    return feats.select(base(c) for c in columns)


def _standardised(b: pl.DataFrame, columns, scale: dict) -> tuple[np.ndarray, dict[str, int]]:
    """transform() from the base frame and the scaling."""
    nulls = b.select(pl.col(c).null_count() for c in columns).row(0)
    imputed = {c: int(n) for c, n in zip(columns, nulls) if n}
    exprs = []
    for c in columns:  # one pass with the statistics as constants
        med, mean, sd = scale[c]
        v = pl.col(c).fill_null(med)
        exprs.append(((v - mean) / sd if sd > 0 else pl.lit(0.0, pl.Float64)).alias(c))
    X = b.select(exprs).to_numpy(order="c")
    return np.ascontiguousarray(X, dtype=np.float64), imputed


def scaling(feats: pl.DataFrame, columns, based: bool = False) -> dict[str, tuple[float, float, float]]:
    """The parameters of :func:`transform` per column: (median imputed, mean, sd) of the (log1p'd)
    values, so that the same transform can run in the engine (:func:`assign`). `based`: `feats`
    is already the base frame (:func:`_base`)."""
    columns = list(columns)
    if not columns:
        return {}
    feats = feats if based else _base(feats, columns)
    # one pass over every column: median, mean, sd and count of the non-null values; the mean and
    # sd after filling the nulls with the median follow from those (no second pass)
    k = len(columns)
    row = feats.select(*(pl.col(c).median().alias(f"q{i}") for i, c in enumerate(columns)),
                       *(pl.col(c).mean().alias(f"m{i}") for i, c in enumerate(columns)),
                       *(pl.col(c).std(ddof=0).alias(f"s{i}") for i, c in enumerate(columns)),
                       *(pl.col(c).count().alias(f"n{i}") for i, c in enumerate(columns))).row(0)
    n = feats.height
    out = {}
    for i, c in enumerate(columns):
        med, m1, s1, n1 = row[i], row[k + i], row[2 * k + i], row[3 * k + i]
        med = 0.0 if med is None else float(med)
        if not n1:  # every value null: filled with 0
            out[c] = (med, 0.0, 0.0)
            continue
        m1, s1 = float(m1), float(s1 or 0.0)
        if n1 == n:
            out[c] = (med, m1, s1)
            continue
        n0 = n - n1
        mean = (n1 * m1 + n0 * med) / n
        var = (n1 * (s1 * s1 + (m1 - mean) ** 2) + n0 * (med - mean) ** 2) / n
        if var <= 1e-24 * max(1.0, mean * mean):  # a constant column stays constant (no rounding noise)
            var = 0.0
        out[c] = (med, mean, float(np.sqrt(var)))
    return out


@dataclass
class ClusterResult:
    """Result of :func:`cluster` (plain data: picklable, cacheable)."""
    k: int
    auto_k: bool
    columns: tuple[str, ...]  # the clustered features
    labels: pl.DataFrame  # customer_id, cluster (1 = largest), plus the non-feature columns of the input
    names: dict[int, str]  # automatic names, cluster -> name
    sizes: pl.DataFrame  # cluster, name, customers, share
    profile: pl.DataFrame  # cluster, feature, clustered, mean, z (long)
    scores: pl.DataFrame  # k, silhouette, davies_bouldin, inertia, chosen
    stability: float  # mean adjusted Rand index between seeds (1 = identical partitions)
    stability_runs: tuple[float, ...]
    projection: pl.DataFrame  # customer_id, cluster, pc1, pc2 (<= PCA_POINTS sampled)
    explained: tuple[float, float]  # variance share of pc1, pc2
    imputed: dict[str, int] = field(default_factory=dict)
    sample_size: int = 0
    centres: np.ndarray | None = None  # row c - 1 = centre of cluster c, in transform space
    scaling: dict = field(default_factory=dict)  # column -> (median imputed, mean, sd): see scaling()
    fitted_on: int = 0  # customers the model was fitted on (fewer than labelled when fitted on a sample)

    def names_with(self, custom: dict[int, str] | None) -> dict[int, str]:
        return {c: (custom or {}).get(c) or n for c, n in self.names.items()}


def _kmeans(k: int, random_state: int, init=None):
    from sklearn.cluster import KMeans

    if init is not None:  # the full-data fit from the sample's centres: Elkan's exact variant skips
        # most distance computations by the triangle inequality (same result, 2x faster on 1M rows)
        return KMeans(n_clusters=k, init=init, n_init=1, random_state=random_state, algorithm="elkan")
    return KMeans(n_clusters=k, n_init=3, random_state=random_state)


def _scan(Xs: np.ndarray, ks, random_state: int, models: dict) -> pl.DataFrame:
    from sklearn.metrics import davies_bouldin_score, silhouette_score

    rows = []
    for k in ks:
        if k >= Xs.shape[0]:
            continue
        m = models[k] = _kmeans(k, random_state).fit(Xs)
        lab = m.labels_
        if len(set(lab)) < 2:
            rows.append((k, None, None, float(m.inertia_)))
            continue
        sil = silhouette_score(Xs, lab, sample_size=min(SILHOUETTE_SAMPLE, Xs.shape[0]), random_state=random_state)
        rows.append((k, float(sil), float(davies_bouldin_score(Xs, lab)), float(m.inertia_)))
    return pl.DataFrame(rows, schema={"k": pl.Int64, "silhouette": pl.Float64, "davies_bouldin": pl.Float64,
                                      "inertia": pl.Float64}, orient="row")


def name_clusters(profile: pl.DataFrame, threshold: float = 0.3, over: int = 2, under: int = 1) -> dict[int, str]:
    """Name each cluster from its most over-indexed features (the `over` largest z above
    `threshold`) and its most under-indexed one (the `under` smallest z below -threshold),
    e.g. "High spend · many loops · low NPS"; one feature per concept (a channel's overall and
    inbound share count once). Ties break by feature name, so names are deterministic. A cluster
    with nothing notable is "Typical"; equal names get " (cluster n)"."""
    names = {}
    for cl in sorted(profile["cluster"].unique().to_list()):
        p = profile.filter((pl.col("cluster") == cl) & pl.col("z").is_not_null())
        parts, used = [], set()
        for high, n in ((True, over), (False, under)):
            cand = p.filter(pl.col("z") > threshold) if high else p.filter(pl.col("z") < -threshold)
            cand = cand.sort([pl.col("z").abs(), pl.col("feature")], descending=[True, False])
            taken = 0
            for f in cand["feature"].to_list():
                if taken >= n:
                    break
                if _concept(f) in used:
                    continue
                used.add(_concept(f))
                parts.append(label(f, high))
                taken += 1
        txt = " · ".join([parts[0], *[x[0].lower() + x[1:] if not x[:3].isupper() else x for x in parts[1:]]]) \
            if parts else "Typical"
        names[cl] = txt
    seen: dict[str, int] = {}
    for cl, n in names.items():
        seen[n] = seen.get(n, 0) + 1
    return {cl: (f"{n} (cluster {cl})" if seen[n] > 1 else n) for cl, n in names.items()}


def _profile(feats: pl.DataFrame, labels: np.ndarray, clustered) -> pl.DataFrame:
    """Long frame: per cluster and feature, the raw mean and the z-score of the cluster's mean of
    the transformed feature (log1p for skewed ones) against all customers (nulls left out)."""
    cols = feature_columns(feats)

    def tr(c):
        v = pl.col(c).cast(pl.Float64).fill_nan(None)
        return v.clip(lower_bound=0).log1p() if _skewed(c) else v

    lf = feats.lazy().select(*cols).with_columns(cluster=pl.Series("cluster", labels))
    stats = lf.select(*[tr(c).mean().alias(f"mu|{c}") for c in cols],
                      *[tr(c).std().alias(f"sd|{c}") for c in cols]).collect().row(0, named=True)
    g = lf.group_by("cluster").agg(*[pl.col(c).cast(pl.Float64).fill_nan(None).mean().alias(f"m|{c}") for c in cols],
                                   *[tr(c).mean().alias(f"t|{c}") for c in cols]).collect()
    rows = []
    for c in cols:
        mu, sd = stats[f"mu|{c}"], stats[f"sd|{c}"]
        z = ((pl.col(f"t|{c}") - mu) / sd) if (sd is not None and sd > 0 and mu is not None) else pl.lit(None, pl.Float64)
        rows.append(g.select("cluster", feature=pl.lit(c), clustered=pl.lit(c in clustered),
                             mean=pl.col(f"m|{c}"), z=z))
    return pl.concat(rows).sort(["cluster", "feature"])


def _number_by_size(raw: np.ndarray, k: int) -> tuple[np.ndarray, list[int]]:
    """Groups 0..k-1 renumbered by size, 1 = the largest (ties: the lower original label first):
    (remap, where remap[old] is the new number, and the old labels in their new order)."""
    counts = np.bincount(raw, minlength=k)
    order = sorted(range(k), key=lambda c: (-counts[c], c))
    remap = np.empty(k, dtype=np.int64)
    remap[order] = np.arange(1, k + 1)
    return remap, order


def cluster(features: pl.DataFrame, k: int | None = None, random_state: int = 0, columns=None,
            scan: bool | None = None, sample: int = SAMPLE) -> ClusterResult:
    """See :func:`_cluster`. scikit-learn runs with THREADS BLAS/OpenMP threads: on a small shared
    machine, OpenMP threads that wait for each other made KMeans 10-20x slower."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=THREADS):
        return _cluster(features, k, random_state, columns, scan, sample)


def _cluster(features: pl.DataFrame, k: int | None = None, random_state: int = 0, columns=None,
             scan: bool | None = None, sample: int = SAMPLE) -> ClusterResult:
    """KMeans on the per-customer `features` (see :func:`transform`).

    - columns: the features clustered (default :func:`default_columns`); every numeric column is
      profiled.
    - k: None chooses k in 2..10 by the best silhouette (KMeans fitted on a random sample of
      `sample` customers, silhouette on 3,000 of them); otherwise the given k. `scan` (default: when
      k is None) also reports silhouette, Davies–Bouldin and inertia (on the sample) for every k.
    - KMeans (n_init=3, `random_state`) is fitted on the sample; when there are more customers than
      the sample, a final KMeans on all customers starts from those centres (n_init=1) and runs
      to convergence, so every customer's label comes from a full-data fit. Clusters are
      renumbered by size, 1 = largest (ties by the lowest original label).
    - stability: adjusted Rand index, on the sample, between the final clustering and KMeans runs
      with seeds random_state + 1 and + 2 (mean of the two).
    """
    from sklearn.decomposition import PCA
    from sklearn.metrics import adjusted_rand_score, davies_bouldin_score, silhouette_score

    if ID not in features.columns:
        raise CXError("The features need a customer_id column.")
    columns = tuple(default_columns(features) if columns is None else columns)
    missing = [c for c in columns if c not in features.columns]
    if missing:
        raise CXError(f"Unknown features: {', '.join(missing)}.")
    columns = tuple(c for c in columns if features[c].null_count() < features.height)
    n = features.height
    if not columns:
        raise CXError("No feature has any value to cluster on.")
    if n < 4:
        raise CXError(f"Clustering needs at least 4 customers ({n} after the filters).")
    X, imputed, scale = _matrix(features, columns)
    rng = np.random.default_rng(random_state)
    idx = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    Xs = X[idx]
    scan = (k is None) if scan is None else scan
    ks = [kk for kk in K_RANGE if kk < len(idx)]
    auto = k is None
    models: dict = {}
    scores = _scan(Xs, ks, random_state, models) if scan else None
    if auto:
        ok = scores.filter(pl.col("silhouette").is_not_null())
        if ok.height == 0:
            raise CXError("The customers are too alike to split into clusters.")
        k = int(ok.sort(["silhouette", "k"], descending=[True, False])["k"][0])
    k = int(k)
    if not 1 < k < n:
        raise CXError(f"k must be between 2 and {min(10, n - 1)}.")
    start = models.get(k) or _kmeans(k, random_state).fit(Xs)
    model = start if len(idx) == n else _kmeans(k, random_state, init=start.cluster_centers_).fit(X)
    raw = model.labels_
    remap, order = _number_by_size(raw, k)
    labels = remap[raw]
    if scores is None or k not in scores["k"].to_list():
        lab_s = labels[idx]
        sil = float(silhouette_score(Xs, lab_s, sample_size=min(SILHOUETTE_SAMPLE, len(idx)),
                                     random_state=random_state)) if len(set(lab_s)) > 1 else None
        dbi = float(davies_bouldin_score(Xs, lab_s)) if len(set(lab_s)) > 1 else None
        inertia = float(((Xs - model.cluster_centers_[raw[idx]]) ** 2).sum())
        row = pl.DataFrame([(k, sil, dbi, inertia)], schema={"k": pl.Int64, "silhouette": pl.Float64,
                                                                "davies_bouldin": pl.Float64, "inertia": pl.Float64},
                           orient="row")
        scores = row if scores is None else pl.concat([scores, row]).sort("k")
    scores = scores.with_columns(chosen=pl.col("k") == k)
    runs = tuple(float(adjusted_rand_score(labels[idx], _kmeans(k, random_state + s).fit_predict(Xs)))
                 for s in (1, 2))
    prof = _profile(features, labels, set(columns))
    names = name_clusters(prof.filter(pl.col("feature").is_in(feature_columns(features))))
    sizes = (pl.DataFrame({"cluster": labels}).group_by("cluster").agg(customers=pl.len()).sort("cluster")
             .with_columns(share=pl.col("customers") / n,
                           name=pl.col("cluster").replace_strict(names, return_dtype=pl.Utf8))
             .select("cluster", "name", "customers", "share"))
    extra = [c for c in features.columns if c != ID and c not in feature_columns(features)]
    lab_df = features.select(ID, *extra).with_columns(cluster=pl.Series(labels))
    pidx = idx if len(idx) <= PCA_POINTS else np.sort(rng.choice(idx, size=PCA_POINTS, replace=False))
    if X.shape[1] >= 2:
        pca = PCA(n_components=2, random_state=random_state).fit(X[pidx])
        P = pca.transform(X[pidx])
        explained = tuple(float(v) for v in pca.explained_variance_ratio_)
    else:
        P = np.column_stack([X[pidx, 0], np.zeros(len(pidx))])
        explained = (1.0, 0.0)
    proj = pl.DataFrame({ID: features[ID].gather(pidx), "cluster": labels[pidx], "pc1": P[:, 0], "pc2": P[:, 1]})
    centres = np.asarray(model.cluster_centers_, dtype=np.float64)[order]
    return ClusterResult(k=k, auto_k=auto, columns=columns, labels=lab_df, names=names, sizes=sizes, profile=prof,
                         scores=scores, stability=float(np.mean(runs)), stability_runs=runs, projection=proj,
                         explained=explained, imputed=imputed, sample_size=len(idx), centres=centres,
                         scaling=scale, fitted_on=n)


# -- the page's run, personas and groups -------------------------------------------------------------

NO_PERSONA = "(no persona)"


def personas(store, filters: flt.Filters | None = None, dataset: str | None = None) -> ibis.Table | None:
    """customer_id, persona (declared, from the customers table), or None without one."""
    if not store.has_table("customers", dataset) or "persona" not in store.table_columns("customers", dataset):
        return None
    c = flt.customers(store, filters, dataset)
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


def run(store, k: int | None = None, columns: tuple[str, ...] | None = None, random_state: int = 0,
        include_outcomes: bool = False, filters: flt.Filters | None = None,
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
    expr = features_expr(store, filters, dataset) if store.has_table("interactions", dataset) else None
    if expr is None:
        raise CXError("Segments need an interactions table: import one on the Data page.")
    fit_sample = default_fit_sample(store) if fit_sample == -1 else fit_sample
    p = personas(store, filters, dataset)

    def with_persona(e):
        if p is None:
            return e.mutate(persona=ibis.literal(NO_PERSONA))
        e = e.left_join(p, e[ID] == p._pid).drop("_pid")
        return e.mutate(persona=e.persona.fill_null(NO_PERSONA))

    sampled = False
    if fit_sample:
        # customers with a touchpoint = the feature rows, counted without computing the features
        n = int(flt.interactions(store, filters, dataset)[ID].nunique().to_pyarrow().as_py())
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
    labels = with_persona(assign_expr(store, res, filters, dataset)).order_by(ID).to_polars()
    total = labels.height
    sizes = (labels.group_by("cluster").agg(customers=pl.len()).sort("cluster")
             .with_columns(share=pl.col("customers") / total,
                           name=pl.col("cluster").replace_strict(res.names, return_dtype=pl.Utf8))
             .select("cluster", "name", "customers", "share"))
    return replace(res, labels=labels.select(ID, "persona", "cluster"), sizes=sizes)


def assign_expr(store, result: ClusterResult, filters: flt.Filters | None = None,
                dataset: str | None = None) -> ibis.Table:
    """Ibis expression (customer_id, cluster): every customer's cluster computed in the engine from
    a fitted result: the features, the same transform (log1p, median imputation, standardising
    with the fitted parameters) and the nearest centre (ties: the lower cluster number). How
    clustering scales out: fit on a sample, assign everyone where the data lives."""
    if result.centres is None or not result.scaling:
        raise CXError("This clustering result has no centres to assign customers with.")
    f = features_expr(store, filters, dataset)
    z = {}
    for c in result.columns:
        med, mean, sd = result.scaling[c]
        v = f[c].cast("float64")
        if _skewed(c):
            v = (v.clip(lower=0.0) + 1.0).ln()
        v = v.fill_null(med)
        z[c] = (v - mean) / sd if sd > 0 else ibis.literal(0.0)
    dist = []
    for centre in result.centres:
        terms = [(z[c] - float(m)) * (z[c] - float(m)) for c, m in zip(result.columns, centre)]
        d = terms[0]
        for t in terms[1:]:
            d = d + t
        dist.append(d)
    nearest = ibis.least(*dist) if len(dist) > 1 else dist[0]
    f = f.mutate(**{f"_d{i}": d for i, d in enumerate(dist, start=1)}, _dmin=nearest)
    cluster = ibis.cases(*[(f[f"_d{i}"] <= f._dmin, i) for i in range(1, len(dist) + 1)], else_=ibis.null("int64"))
    return f.select(ID, cluster=cluster.cast("int64"))


def assign(store, result: ClusterResult, filters: flt.Filters | None = None,
           dataset: str | None = None) -> pl.DataFrame:
    """customer_id, cluster for every customer (see :func:`assign_expr`), as a polars frame."""
    return assign_expr(store, result, filters, dataset).order_by(ID).to_polars()


def names(store, result: ClusterResult, key: str, dataset: str | None = None) -> dict[int, str]:
    """The clusters' names: the user's saved names for this run key, else the automatic ones."""
    return result.names_with(store.cluster_names(key, dataset))


def run_key(k: int, columns, random_state: int = 0, filters: flt.Filters | None = None) -> str:
    """The key under which a run's edited cluster names are saved (same k, features, seed and
    filters → same key)."""
    import hashlib

    raw = repr((int(k), tuple(columns), int(random_state), (filters or flt.Filters()).key()))
    return f"k{int(k)}-" + hashlib.sha1(raw.encode()).hexdigest()[:12]


def crosstab(result: ClusterResult, names: dict[int, str] | None = None) -> pl.DataFrame:
    """Persona × behaviour cluster: customers per (persona, cluster), the share of the persona in
    each cluster (rows sum to 1) and the cluster's name. Personas in descending size."""
    lab = result.labels
    if "persona" not in lab.columns:
        lab = lab.with_columns(persona=pl.lit(NO_PERSONA))
    return _persona_crosstab(lab, result.names_with(names))


def _persona_crosstab(lab: pl.DataFrame, names: dict[int, str]) -> pl.DataFrame:
    """lab: persona, cluster (one row per customer) -> the crosstab of :func:`crosstab`."""
    g = lab.group_by("persona", "cluster").agg(customers=pl.len())
    g = g.with_columns(share_of_persona=pl.col("customers") / pl.col("customers").sum().over("persona"),
                       persona_size=pl.col("customers").sum().over("persona"),
                       name=pl.col("cluster").replace_strict(names, return_dtype=pl.Utf8))
    return (g.sort(["persona_size", "persona", "cluster"], descending=[True, False, False])
            .select("persona", "cluster", "name", "customers", "share_of_persona"))


def members(result: ClusterResult, persona: str | None = None, cluster: int | None = None,
            names: dict[int, str] | None = None) -> pl.DataFrame:
    """The customers of a persona and/or a behaviour cluster: customer_id, persona, cluster, name."""
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


# -- outcomes of a group: the other modules' metrics, guarded ------------------------------------------

def outcomes(store, customers: tuple[str, ...], filters: flt.Filters | None = None,
             dataset: str | None = None) -> dict:
    """The selected customers' stage funnel (cx.journey.funnel over the five stages, no window),
    NPS (cx.loyalty) and CLV (cx.clv), each computed by its own module with the global filters
    narrowed to these customers. A module that is not there gives None and a note naming it."""
    from .schema import STAGES

    f = (filters or flt.Filters()).with_(customers=tuple(customers))
    out: dict = {"notes": []}
    from .journey import funnel

    out["funnel"] = funnel(store, [(s,) for s in STAGES], field="stage", filters=f, dataset=dataset)
    loyalty = _module(out, "cx.loyalty", "score_summary", "NPS")
    out["nps"] = None
    if loyalty is not None:
        try:
            out["nps"] = loyalty.score_summary(store, "nps", filters=f, dataset=dataset)
        except CXError as e:
            out["notes"].append(f"NPS: {e}")
    clv = _module(out, "cx.clv", "customer_value", "CLV")
    out["clv"] = None
    if clv is not None:
        try:
            # models fitted on everyone (the global filters), then the group's customers read out
            vm = clv.customer_value(store, filters=filters, dataset=dataset)
            c = vm.customers.filter(pl.col(ID).is_in(list(customers)))
            out["clv"] = c.select(
                buyers=pl.len(), historical_value=pl.col("historical_value").sum(),
                mean_historical_value=pl.col("historical_value").mean(),
                predicted_clv=pl.col("predicted_clv").sum(), mean_predicted_clv=pl.col("predicted_clv").mean(),
                mean_p_alive=pl.col("p_alive").mean())
        except CXError as e:
            out["notes"].append(f"CLV: {e}")
    return out


def _module(out, module: str, fn: str, what: str):
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError:
        out["notes"].append(f"{what}: not computed (the {module} module would supply it).")
        return None
    if not callable(getattr(mod, fn, None)):
        out["notes"].append(f"{what}: not computed ({module}.{fn} would supply it).")
        return None
    return mod


# -- saved segments: cx.saved_segments (re-exported: the pages and notebooks call them from here) -----
from .saved_segments import assignments, members_table, membership, save, saved  # noqa: E402,F401


# -- glossary (cx.glossary reads it: hover help, the Glossary page, the README) -------------------
GLOSSARY = (
    {"key": "seg_activity_features", "name": "Activity features (RFM)", "api": "cx.segments.features",
     "page": "segments",
     "definition": "Per customer: recency_days and tenure_days (from their last / first touchpoint to the "
                   "data's last touchpoint), touchpoints, purchases (amount > 0), spend (sum of purchase "
                   "amounts), furthest_stage (0 = discover … 4 = use)."},
    {"key": "seg_journey_features", "name": "Journey and relationship features", "api": "cx.segments.features",
     "page": "segments",
     "definition": "Per customer: loops (returns to an earlier stage between consecutive touchpoints), "
                   "inbound_share (inbound ÷ touchpoints with a direction), gives_received (touchpoints with a "
                   "value_given), service_contacts (inbound use-stage touchpoints handled by a department)."},
    {"key": "seg_channel_features", "name": "Channel-mix features", "api": "cx.segments.features",
     "page": "segments",
     "definition": "Per customer: the share of their touchpoints on each of the top 10 channels (ch_<channel>) "
                   "and the same share among their inbound touchpoints (in_<channel>)."},
    {"key": "seg_outcome_features", "name": "Outcome features", "api": "cx.segments.features", "page": "segments",
     "definition": "incidents, mean_sentiment, last_nps, last_ces (latest answers), with recency and tenure: "
                   "shown for every cluster, clustered only when 'Also cluster on outcomes' is on (so comparing "
                   "NPS across clusters is not circular)."},
    {"key": "clusters", "name": "Behaviour clusters and k", "api": "cx.segments.cluster", "page": "segments",
     "definition": "KMeans on the standardised features (counts and amounts on a log scale, missing values "
                   "filled with the median). Automatic k: the k from 2 to 10 with the best silhouette on a "
                   "sample; clusters are numbered by size (1 = largest)."},
    {"key": "silhouette", "name": "Silhouette", "api": "cx.segments.cluster", "page": "segments",
     "definition": "Mean silhouette of a sample of 3,000 customers: −1..1, higher = clusters better separated."},
    {"key": "davies_bouldin", "name": "Davies–Bouldin index", "api": "cx.segments.cluster", "page": "segments",
     "definition": "Mean over clusters of the worst ratio (spread of two clusters ÷ distance between their "
                   "centres), on the sample: ≥ 0, lower = more compact and better separated."},
    {"key": "inertia", "name": "Inertia", "api": "cx.segments.cluster", "page": "segments",
     "definition": "Sum of squared distances of the sample's customers to their cluster centre: always falls "
                   "as k grows; look for the elbow."},
    {"key": "stability_ari", "name": "Stability (ARI)", "api": "cx.segments.cluster", "page": "segments",
     "definition": "Adjusted Rand index, on the sample, between the clustering and KMeans runs with two other "
                   "random seeds (their mean): 1 = the same groups every time, 0 = chance."},
    {"key": "cluster_names", "name": "Cluster names", "api": "cx.segments.name_clusters", "page": "segments",
     "definition": "Each cluster is named from its two most over-indexed features (z > 0.3) and its most "
                   "under-indexed one (z < −0.3), e.g. 'High spend · many loops · low NPS'; 'Typical' when "
                   "nothing stands out. Names can be edited per dataset and clustering settings."},
    {"key": "persona_crosstab", "name": "Persona × behaviour", "api": "cx.segments.crosstab", "page": "segments",
     "definition": "Customers per declared persona and behaviour cluster, and the share of the persona in each "
                   "cluster (each row sums to 1)."},
    {"key": "saved_segment", "name": "Saved segment", "api": "cx.segments.save", "page": "segments",
     "definition": "A named list of customer ids saved in the dataset. It becomes the sidebar's Segment filter "
                   "on every page and the 'segment' breakdown of other pages (cx.segments.membership)."},
)


# -- touchpoint-mix personas (NMF) ----------------------------------------------------------------
# A second lens on "who are they": each customer's mix of (channel, touchpoint) as a blend of a few
# recurring journey recipes, found by non-negative matrix factorisation. Each recipe is read from
# the touchpoints it weighs most; each customer belongs mostly to one recipe. Set next to the
# declared persona, it says how far declared personas can be trusted: the recipe of each persona is
# matched one-to-one (the assignment that agrees with most customers), and the customers whose
# recipe is not their persona's are the ones who say one thing and do another.

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


def touchpoint_mix(store, filters: flt.Filters | None = None, dataset: str | None = None,
                   top: int = MIX_TOP) -> pl.DataFrame:
    """customer_id, persona (declared, NO_PERSONA without one) and one column per (channel,
    touchpoint) pair among the `top` by volume, named "channel:touchpoint": each customer's count
    of touchpoints of that pair. Counted in the engine (one group by); pivoted here. A touchpoint
    without a channel counts under "(none)"."""
    if not store.has_table("interactions", dataset):
        raise CXError("Touchpoint-mix personas need an interactions table: import one on the Data page.")
    t = flt.interactions(store, filters, dataset)
    t = t.mutate(_pair=t.channel.cast("string").fill_null("(none)").concat(":", t.touchpoint.cast("string")))
    t = t.filter(t.touchpoint.notnull())
    top_pairs = (t.group_by("_pair").aggregate(_n=_.count()).order_by([ibis.desc("_n"), "_pair"])
                 .limit(int(top)).select("_pair"))
    g = t.inner_join(top_pairs, "_pair").group_by([ID, "_pair"]).aggregate(n=_.count())
    p = personas(store, filters, dataset)
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
    remap, _order = _number_by_size(raw, k)  # 1 = the largest recipe
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
    ct = _persona_crosstab(members.select("persona", cluster="component"), names)
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
    agree_in = members.group_by("component").agg(
        agreement=(pl.col("persona") == pl.col("behaves_like")).sum() / (pl.col("persona") != NO_PERSONA).sum())
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


def mix_run(store, k: int | None = None, filters: flt.Filters | None = None, dataset: str | None = None,
            top: int = MIX_TOP, random_state: int = 0) -> MixResult:
    """touchpoint_mix → mix_personas: what the Segments page's 'Touchpoint-mix personas' shows."""
    return mix_personas(touchpoint_mix(store, filters, dataset, top), k=k, random_state=random_state)


GLOSSARY = GLOSSARY + (
    {"key": "mix_recipes", "name": "Touchpoint recipes (NMF)", "api": "cx.segments.mix_personas", "page": "segments",
     "definition": "Each customer's touchpoints counted per (channel, touchpoint) pair (the 60 most frequent), "
                   "as shares of their touchpoints, square-rooted, then factorised by NMF into k recipes (k = "
                   "the number of declared personas by default). A recipe is named by the pairs it weighs most; "
                   "a customer's recipe is the largest part of their blend, its strength that part's share "
                   "(a blend: under 60%)."},
    {"key": "mix_agreement", "name": "Behaves as declared", "api": "cx.segments.mix_personas", "page": "segments",
     "definition": "Each declared persona is matched to one recipe (the one-to-one assignment that agrees with "
                   "the most customers). Agreement = customers whose recipe is their declared persona's ÷ "
                   "customers with a declared persona; the others behave like another persona."},
)
