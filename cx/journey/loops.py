"""Loops, paths and channel switching: how customers go round the loop rather than through a line.

- A *loop* is a return to an earlier stage on a customer's stage-collapsed journey (a back-edge
  of :func:`cx.journey.transitions` at stage level: their counts add up).
- A *path* is a customer's sequence of nodes (:mod:`cx.journey.nodes`) with repeats collapsed.
- A *purchase* is :func:`cx.expr.is_purchase` (a touchpoint with amount > 0, as in cx.profile).

Every metric is one Ibis expression over the filtered interactions returning a small polars frame.
"""
from __future__ import annotations

import ibis
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..expr import is_purchase, journey_window, stage_rank
from ..filters import Filters
from ..schema import STAGE_RANK
from ..store import CXError
from .nodes import check_level, with_node

ARROW = " → "
ELLIPSIS = "…"
DEFAULT_CHURN_DAYS = 90  # used when the data has no repeat purchases to learn the gap from


# -- loops --------------------------------------------------------------------------------------

def _group_values(d: Data, t, by: str | None):
    """customer_id -> `grp` table for a breakdown, or None."""
    if by is None:
        return None
    if by in d.customer_attributes() and by != "channel":
        return d.customer_attribute(by).select("customer_id", grp=by)
    if by == "channel" or by in d.attributes("interactions"):  # the customer's most used value
        c = t.filter(t[by].notnull()).group_by(["customer_id", by]).aggregate(_n=_.count())
        c = c.mutate(_k=ibis.row_number().over(group_by="customer_id", order_by=[ibis.desc("_n"), by]))
        return c.filter(c._k == 0).select("customer_id", grp=c[by].cast("string"))
    opts = ", ".join(dict.fromkeys(["channel", *d.attributes("interactions"), *d.customer_attributes()]))
    more = "" if d.has("customers") else "; persona and the other customer columns need a customers table"
    raise CXError(f"'{by}' is not a customer attribute (choose from: {opts}{more}).")


def _attach_group(per, groups):
    if groups is None:
        return per.mutate(grp=ibis.literal("all"))
    j = per.left_join(groups, per.customer_id == groups.customer_id)
    j = j.drop(*[c for c in j.columns if c.startswith("customer_id_")])
    return j.mutate(grp=j.grp.fill_null("(unknown)"))


def _purchase_gaps(d: Data, t):
    """customer_id, gap: days between consecutive purchase days of each customer."""
    p = t.filter(is_purchase(d, t)).mutate(_day=_.timestamp.date().epoch_days())
    p = p.group_by(["customer_id", "_day"]).aggregate()
    p = p.mutate(gap=p._day - p._day.lag().over(group_by="customer_id", order_by="_day"))
    return p.filter(p.gap.notnull()).select("customer_id", "gap")


@uses_data
def loop_metrics(d: Data, by: str | None = None, churn_days: int | None = None,
                 filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Loops: returns to an earlier stage on each customer's stage-collapsed journey.

    One row (or one per value of `by`: "channel" = the customer's most used channel, or a
    customers-table column such as "persona"; customers without one are "(unknown)"):
    customers; loop_rate (share with at least one loop); loops_per_customer (mean loops);
    reevaluation_rate (share with a use → evaluate transition); repeat_purchase_cycle_days
    (median days between consecutive purchase days of a customer, over the group's gaps);
    loop_exit_rate (share whose last touchpoint is more than `churn_days` days before the data's
    last day); churn_days (the given value, or by default the 90th percentile of the
    inter-purchase gaps, rounded; 90 when there are no repeat purchases). Highest loop rate first.
    A touchpoint without a stage is a node of its own (as in `transitions`): it has no rank, so
    the step into it and out of it is never a return.
    """
    return loop_metrics_expr(d, by, churn_days).to_polars()


@uses_data
def loop_metrics_expr(d: Data, by: str | None = None, churn_days: int | None = None,
                      filters: Filters | None = None, dataset: str | None = None):
    """The Ibis expression behind :func:`loop_metrics` (for showing its SQL)."""
    t = d.interactions
    r = t.mutate(_r=stage_rank(t.stage))
    r = r.mutate(_pr=r._r.lag().over(journey_window()))
    use, evaluate = STAGE_RANK["use"], STAGE_RANK["evaluate"]
    per = r.group_by("customer_id").aggregate(
        loops=(_._r < _._pr).cast("int64").sum().fill_null(0),
        reeval=((_._pr == use) & (_._r == evaluate)).any().fill_null(False),
        last_day=_.timestamp.max().date().epoch_days())
    groups = _group_values(d, t, by)
    per = _attach_group(per, groups)
    gaps = _purchase_gaps(d, t)
    if churn_days is None:
        n_days = ibis.coalesce(gaps.gap.quantile(0.9).as_scalar().round(0).cast("int64"),
                               ibis.literal(DEFAULT_CHURN_DAYS, "int64"))
    else:
        n_days = ibis.literal(int(churn_days), "int64")
    data_last = per.last_day.max().as_scalar()
    per = per.mutate(_exit=(data_last - per.last_day) > n_days)

    def share(b):
        return ibis.ifelse(b, 1.0, 0.0).mean()

    res = per.group_by("grp").aggregate(
        customers=_.count(), loop_rate=share(_.loops > 0), loops_per_customer=_.loops.cast("float64").mean(),
        reevaluation_rate=share(_.reeval), loop_exit_rate=share(_._exit))
    g = gaps if groups is None else gaps.join(per.select("customer_id", "grp"), "customer_id")
    if groups is None:
        g = g.mutate(grp=ibis.literal("all"))
    cyc = g.group_by("grp").aggregate(repeat_purchase_cycle_days=_.gap.cast("float64").median())
    res = res.left_join(cyc, res.grp == cyc.grp).drop("grp_right")
    res = res.mutate(churn_days=n_days)
    cols = ["customers", "loop_rate", "loops_per_customer", "reevaluation_rate", "repeat_purchase_cycle_days",
            "loop_exit_rate", "churn_days"]
    res = res.order_by([ibis.desc("loop_rate"), "grp"])
    if by is None:
        return res.select(*cols)
    return res.select(res.grp.name(by), *cols)


# -- paths and channels ----------------------------------------------------------------------------

@uses_data
def paths(d: Data, top: int = 10, level: str = "stage", max_len: int = 8,
          filters: Filters | None = None, dataset: str | None = None,
          top_touchpoints: int | None = 12) -> pl.DataFrame:
    """The `top` most common journey variants: each customer's node sequence with repeats
    collapsed, joined by " → " (longer than `max_len` nodes: cut, ending " → …"). Columns: path,
    customers, share (of all customers), purchase_conversion (share of those customers with a
    purchase). At touchpoint level the nodes are the `top_touchpoints` touchpoints and "Other"."""
    check_level(level)
    max_len = int(max_len)
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    t = d.interactions
    e = with_node(t.mutate(_buy=is_purchase(d, t)), level, top_touchpoints)
    e = e.mutate(_new=(e.node != e.node.lag().over(journey_window())).fill_null(True))
    # the k-th node of the collapsed sequence, pivoted into columns _n1.._n{max_len} (portable:
    # no ordered aggregate or array lambda, which Spark or DuckDB 2 lack through Ibis)
    one, zero = ibis.literal(1, "int64"), ibis.literal(0, "int64")
    e = e.mutate(_k=ibis.ifelse(e._new, one, zero).sum().over(
        journey_window(rows=(None, 0))))
    per = e.group_by("customer_id").aggregate(
        _len=ibis.ifelse(_._new, one, zero).sum(),
        bought=_._buy.any(),
        **{f"_n{i}": _.node.max(where=_._new & (_._k == i)) for i in range(1, max_len + 1)})
    path = per._n1
    for i in range(2, max_len + 1):
        path = path + ibis.ifelse(per[f"_n{i}"].isnull(), "", ARROW + per[f"_n{i}"].fill_null(""))
    per = per.mutate(path=ibis.ifelse(per._len > max_len, path + ARROW + ELLIPSIS, path))
    g = per.group_by("path").aggregate(customers=_.count(), purchase_conversion=ibis.ifelse(_.bought, 1.0, 0.0).mean())
    g = g.mutate(share=g.customers / g.customers.sum().over())
    g = g.order_by([ibis.desc("customers"), "path"]).limit(int(top))
    return g.select("path", "customers", "share", "purchase_conversion").to_polars()


@uses_data
def channel_switching(d: Data, filters: Filters | None = None, dataset: str | None = None,
                      top: int = 10) -> dict[str, pl.DataFrame]:
    """Channel switching. Returns {"summary": one row, "handoffs": top hand-offs}.

    summary: customers, cross_channel_customers (journeys on 2+ channels), cross_channel_share,
    conversion_single (purchase conversion of customers on 0–1 channels), conversion_cross
    (of cross-channel customers). handoffs: from_channel, to_channel, count, customers: consecutive
    touchpoints (those with a channel, in time order) on different channels, the `top` largest."""
    t = d.interactions
    c = t.filter(t.channel.notnull())
    c = c.mutate(from_channel=c.channel.lag().over(journey_window()))
    h = c.filter(c.from_channel.notnull() & (c.from_channel != c.channel))
    h = h.group_by(["from_channel", "channel"]).aggregate(count=_.count(), customers=_.customer_id.nunique())
    h = h.rename(to_channel="channel").order_by([ibis.desc("count"), "from_channel", "to_channel"]).limit(int(top))
    per = t.mutate(_buy=is_purchase(d, t)).group_by("customer_id").aggregate(n_channels=_.channel.nunique(),
                                                                              bought=_._buy.any())
    cross = per.n_channels >= 2
    b = ibis.ifelse(per.bought, 1.0, 0.0)
    s = per.aggregate(customers=per.count(), cross_channel_customers=cross.cast("int64").sum(),
                      conversion_single=b.mean(where=~cross), conversion_cross=b.mean(where=cross))
    s = s.mutate(cross_channel_share=s.cross_channel_customers / s.customers)
    s = s.select("customers", "cross_channel_customers", "cross_channel_share", "conversion_single",
                 "conversion_cross")
    return {"summary": s.to_polars(), "handoffs": h.to_polars()}
