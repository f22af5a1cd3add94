"""Segments: persona × behaviour clustering. Declared personas come from the customers table;
behaviour comes from what customers do.

- :mod:`.behaviour`  the per-customer features: :func:`features` (one Ibis expression,
  :func:`features_expr`), the channel mix (:func:`channels`), which columns are features.
- :mod:`.clustering` KMeans on those features in Python (scikit-learn): :func:`transform`,
  :func:`scaling`, :func:`cluster` -> :class:`ClusterResult`, :func:`name_clusters`.
- :mod:`.run`        the page's run: :func:`run` (features -> cluster, with the declared persona),
  :func:`assign_expr` / :func:`assign` (every customer labelled in the engine), the saved cluster
  names (:func:`names`, :func:`run_key`), :func:`crosstab`, :func:`group_members`, :func:`profile_wide`; the clusters against any customer
  attribute (:func:`declared_options`, :func:`with_declared`).
- :mod:`.outcomes`   a group's funnel, NPS and CLV (cx.journey, cx.loyalty, cx.clv).
- :mod:`.mix`        touchpoint-mix personas (NMF): :func:`touchpoint_mix`, :func:`mix_personas`,
  :func:`mix_run` -> :class:`MixResult`.
- :mod:`.glossary`   the Segments terms.

Saved segments (name + customer ids, per dataset, in ``cx_meta``) live in :mod:`cx.saved_segments`
(re-exported here: :func:`save`, :func:`saved`, :func:`membership`, :func:`members_table`,
:func:`assignments`); they become a global filter (``Filters.segment``) and a breakdown.

Every function on a dataset takes a data handle first (:mod:`cx.data`; a store with filters= and
dataset= works too).
"""
from ..saved_segments import assignments, members_table, membership, save, saved
from .behaviour import (
    CHANNEL_PREFIX, DEFAULT_CLUSTER, FEATURES, ID, INBOUND_PREFIX, MAX_CHANNELS, PACK_BITS, PACK_FIELDS, channels,
    default_columns, feature_columns, features, features_expr, is_channel, is_skewed,
)
from .clustering import (
    K_RANGE, PCA_POINTS, SAMPLE, SILHOUETTE_SAMPLE, THREADS, ClusterResult, cluster, label, name_clusters, scaling,
    transform,
)
from .glossary import GLOSSARY
from .mix import MIX_BLEND, MIX_TOP, MixResult, mix_personas, mix_run, touchpoint_mix
from .outcomes import outcomes
from .run import (
    NO_PERSONA, NO_VALUE, OUTCOMES, assign, assign_expr, crosstab, declared_options, default_fit_sample,
    group_members, names, persona_table, profile_wide, run, run_key, with_declared,
)

__all__ = [
    "features", "features_expr", "channels", "feature_columns", "default_columns", "is_channel", "is_skewed",
    "FEATURES", "DEFAULT_CLUSTER", "INBOUND_PREFIX", "CHANNEL_PREFIX", "MAX_CHANNELS", "ID", "PACK_BITS",
    "PACK_FIELDS",
    "transform", "scaling", "cluster", "ClusterResult", "name_clusters", "label", "K_RANGE", "SAMPLE",
    "SILHOUETTE_SAMPLE", "THREADS", "PCA_POINTS",
    "run", "assign_expr", "assign", "names", "run_key", "crosstab", "group_members", "profile_wide",
    "declared_options", "with_declared", "NO_VALUE",
    "persona_table", "default_fit_sample", "NO_PERSONA", "OUTCOMES",
    "outcomes",
    "touchpoint_mix", "mix_personas", "mix_run", "MixResult", "MIX_TOP", "MIX_BLEND",
    "save", "saved", "membership", "members_table", "assignments",
    "GLOSSARY",
]
