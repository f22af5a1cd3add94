"""The per-customer behavioural features clustered on the Segments page: :func:`features` (one
row per customer with a touchpoint after the filters, computed by ONE Ibis expression,
:func:`features_expr`: a window lag for the loops, one group_by/aggregate, a left join of the last
feedback answers), the channels of the channel mix (:func:`channels`), and which columns are
features (:func:`feature_columns`, :func:`default_columns`).

Building blocks from :mod:`cx.expr`: a purchase is :func:`cx.expr.is_purchase`, the loops use the
journey window and the stage rank. The channel-mix counts are packed three to an integer while
they are summed (:data:`PACK_BITS`, :data:`PACK_FIELDS`; see :func:`features_expr`).
"""
from __future__ import annotations

import re

import ibis
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..expr import is_purchase, journey_window, stage_rank
from ..filters import Filters
from ..store import CXError

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
PACK_BITS = 21  # channel-mix counts packed PACK_FIELDS to an int64 (see features_expr)
PACK_FIELDS = 3


def _col_name(channel: str) -> str:
    return CHANNEL_PREFIX + (re.sub(r"[^0-9a-z]+", "_", str(channel).lower()).strip("_") or "x")


@uses_data
def channels(d: Data, filters: Filters | None = None, dataset: str | None = None,
             top: int = MAX_CHANNELS) -> list[str]:
    """The `top` channels by touchpoints (ties by name): the channel-mix features."""
    t = d.interactions
    g = t.filter(t.channel.notnull()).group_by("channel").aggregate(_n=_.count())
    return g.order_by([ibis.desc("_n"), "channel"]).limit(int(top)).to_polars()["channel"].to_list()


@uses_data
def features_expr(d: Data, filters: Filters | None = None, dataset: str | None = None,
                  chans: list[str] | None = None, packed: bool = True) -> ibis.Table:
    """The Ibis expression behind :func:`features`.

    `packed`: the channel-mix counts (two per channel) are summed PACK_FIELDS to one integer, each
    in its own PACK_BITS-bit field, and unpacked with shifts and masks: a third of the sums over
    every touchpoint (the aggregate's cost grows with their number). Exact while every customer
    has fewer than 2**PACK_BITS touchpoints (a field never exceeds the customer's touchpoints);
    :func:`features` checks that and recomputes with `packed=False` otherwise."""
    t = d.interactions
    chans = channels(d) if chans is None else chans
    one = ibis.literal(1, "int64")
    zero = ibis.literal(0, "int64")

    def count(pred):  # sum(CASE ...): faster in DuckDB than COUNT(*) FILTER (WHERE ...) here
        return ibis.ifelse(pred, one, zero).sum()

    # The loops need each touchpoint's previous stage: a window sorted per customer by time. It
    # runs on the four columns it needs, not on every column the other features read (sorting
    # the wide rows was most of the query's time). Only the loop rows (stage below the previous
    # one) are then counted per customer, a few million rows instead of every touchpoint; they
    # join back per customer, and customers without one get 0.
    lp = _loops_kernel(d)  # the compiled one-pass kernel over the event store, when current
    if lp is None:
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
        purchases=count(is_purchase(d, t)),
        spend=_.amount.sum(where=_.amount > 0).fill_null(0).cast("float64"),  # every positive amount is a purchase
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
    if d.has("feedback"):
        fb = d.feedback
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


def _loops_kernel(d: Data):
    """(_lid, loops) of the customers with a loop, from the loops kernel (a memtable), or None."""
    import numpy as np

    from ..journey import kernels as K
    from ..journey.loops import loop_parts

    ev = K.events(d, "stage", "touchpoint")
    if ev is None:
        return None
    p = loop_parts(d, ev, K.mask_of(d, ev))
    who = np.flatnonzero(p["loops"] > 0)
    return K.memtable({"_lid": K.customer_ids(ev, who), "loops": p["loops"][who]})


@uses_data
def features(d: Data, filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """One row per customer with at least one touchpoint (after the filters):

    - recency_days: days from the customer's last touchpoint to the last touchpoint of the data;
    - tenure_days: days from the customer's first touchpoint to the last touchpoint of the data;
    - touchpoints: all their touchpoints (any direction);
    - purchases: their purchases (frequency; :func:`cx.expr.is_purchase`: an amount > 0, or a
      purchase touchpoint of the dataset); spend: sum of their positive amounts (monetary, refunds
      not subtracted);
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

    Nulls are kept here; :func:`cx.segments.cluster` imputes them (and reports how many)."""
    if not d.has("interactions"):
        raise CXError("Segments need an interactions table: import one on the Data page.")
    chans = channels(d)
    out = features_expr(d, chans=chans).to_polars()
    if out.height and out["touchpoints"].max() >= 1 << PACK_BITS:  # a packed field could overflow
        out = features_expr(d, chans=chans, packed=False).to_polars()
    return out



def is_channel(col: str) -> bool:
    return col.startswith(CHANNEL_PREFIX) or col.startswith(INBOUND_PREFIX)


def feature_columns(feats: pl.DataFrame) -> list[str]:
    """All feature columns of a features frame (everything but the id and non-numeric columns)."""
    return [c for c, t in feats.schema.items() if c != ID and t.is_numeric()]


def default_columns(feats: pl.DataFrame) -> list[str]:
    """The default clustering features present in `feats`: DEFAULT_CLUSTER and the channel mixes."""
    return [c for c in feature_columns(feats) if c in DEFAULT_CLUSTER or is_channel(c)]


def is_skewed(col: str) -> bool:
    """Whether the feature is a skewed count or amount (log1p before standardising: FEATURES)."""
    return FEATURES.get(col, ("", "", False))[2]


