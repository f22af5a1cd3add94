"""The Segments terms of the glossary (:mod:`cx.glossary` gathers them): each names the function
that computes it."""
from __future__ import annotations

from ..terms import Term

_T = Term
GLOSSARY: tuple[Term, ...] = (
    _T("seg_activity_features", "Activity features (RFM)", "Segments",
       "Per customer: recency_days and tenure_days (from their last / first touchpoint to the data's last "
       "touchpoint), touchpoints, purchases (amount > 0), spend (sum of purchase amounts), furthest_stage "
       "(0 = discover … 4 = use).", "cx.segments.features", "segments"),
    _T("seg_journey_features", "Journey and relationship features", "Segments",
       "Per customer: loops (returns to an earlier stage between consecutive touchpoints), inbound_share "
       "(inbound ÷ touchpoints with a direction), gives_received (touchpoints with a value_given), "
       "service_contacts (inbound use-stage touchpoints handled by a department).",
       "cx.segments.features", "segments"),
    _T("seg_channel_features", "Channel-mix features", "Segments",
       "Per customer: the share of their touchpoints on each of the top 10 channels (ch_<channel>) and the "
       "same share among their inbound touchpoints (in_<channel>).", "cx.segments.features", "segments"),
    _T("seg_outcome_features", "Outcome features", "Segments",
       "incidents, mean_sentiment, last_nps, last_ces (latest answers), with recency and tenure: shown for "
       "every cluster, clustered only when 'Also cluster on outcomes' is on (so comparing NPS across "
       "clusters is not circular).", "cx.segments.features", "segments"),
    _T("clusters", "Behaviour clusters and k", "Segments",
       "KMeans on the standardised features (counts and amounts on a log scale, missing values filled with "
       "the median). Automatic k: the k from 2 to 10 with the best silhouette on a sample; clusters are "
       "numbered by size (1 = largest).", "cx.segments.cluster", "segments"),
    _T("silhouette", "Silhouette", "Segments",
       "Mean silhouette of a sample of 3,000 customers: −1..1, higher = clusters better separated.",
       "cx.segments.cluster", "segments"),
    _T("davies_bouldin", "Davies–Bouldin index", "Segments",
       "Mean over clusters of the worst ratio (spread of two clusters ÷ distance between their centres), on "
       "the sample: ≥ 0, lower = more compact and better separated.", "cx.segments.cluster", "segments"),
    _T("inertia", "Inertia", "Segments",
       "Sum of squared distances of the sample's customers to their cluster centre: always falls as k "
       "grows; look for the elbow.", "cx.segments.cluster", "segments"),
    _T("stability_ari", "Stability (ARI)", "Segments",
       "Adjusted Rand index, on the sample, between the clustering and KMeans runs with two other random "
       "seeds (their mean): 1 = the same groups every time, 0 = chance.", "cx.segments.cluster", "segments"),
    _T("cluster_names", "Cluster names", "Segments",
       "Each cluster is named from its two most over-indexed features (z > 0.3) and its most under-indexed "
       "one (z < −0.3), e.g. 'High spend · many loops · low NPS'; 'Typical' when nothing stands out. Names "
       "can be edited per dataset and clustering settings.", "cx.segments.name_clusters", "segments"),
    _T("persona_crosstab", "Persona × behaviour", "Segments",
       "Customers per declared persona and behaviour cluster, and the share of the persona in each cluster "
       "(each row sums to 1).", "cx.segments.crosstab", "segments"),
    _T("saved_segment", "Saved segment", "Segments",
       "A named list of customer ids saved in the dataset. It becomes the sidebar's Segment filter on every "
       "page and the 'segment' breakdown of other pages (cx.segments.membership).", "cx.segments.save", "segments"),
    _T("mix_recipes", "Touchpoint recipes (NMF)", "Segments",
       "Each customer's touchpoints counted per (channel, touchpoint) pair (the 60 most frequent), as "
       "shares of their touchpoints, square-rooted, then factorised by NMF into k recipes (k = the number "
       "of declared personas by default). A recipe is named by the pairs it weighs most; a customer's "
       "recipe is the largest part of their blend, its strength that part's share (a blend: under 60%).",
       "cx.segments.mix_personas", "segments"),
    _T("mix_agreement", "Behaves as declared", "Segments",
       "Each declared persona is matched to one recipe (the one-to-one assignment that agrees with the most "
       "customers). Agreement = customers whose recipe is their declared persona's ÷ customers with a "
       "declared persona; the others behave like another persona.", "cx.segments.mix_personas", "segments"),
)
