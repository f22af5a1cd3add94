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
    from . import kernels

    return kernels.run(d, loop_metrics_expr(d, by, churn_days))


@uses_data
def loop_metrics_expr(d: Data, by: str | None = None, churn_days: int | None = None,
                      filters: Filters | None = None, dataset: str | None = None):
    """The Ibis expression behind :func:`loop_metrics` (for showing its SQL)."""
    t = d.interactions
    fast = _loop_parts_kernel(d, by)
    if fast is not None:  # per customer, the groups and the gaps from the kernel (memtables)
        per, groups, gaps = fast
    else:
        r = t.mutate(_r=stage_rank(t.stage))
        r = r.mutate(_pr=r._r.lag().over(journey_window()))
        use, evaluate = STAGE_RANK["use"], STAGE_RANK["evaluate"]
        per = r.group_by("customer_id").aggregate(
            loops=(_._r < _._pr).cast("int64").sum().fill_null(0),
            reeval=((_._pr == use) & (_._r == evaluate)).any().fill_null(False),
            last_day=_.timestamp.max().date().epoch_days())
        groups = _group_values(d, t, by)
        gaps = _purchase_gaps(d, t)
    per = _attach_group(per, groups)
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


def loop_parts(d: Data, ev, mask, channel: bool = False) -> dict:
    """The loops kernel's per-customer arrays over the event store (see kernels.loops_per_customer):
    has, loops, reeval, last (µs), chan (most used channel code, when `channel`), gap_c, gap."""
    import numpy as np

    from . import kernels as K

    starts, ts, amount, tp = ev.col("starts"), ev.col("timestamp"), ev.col("amount"), ev.col("touchpoint")
    buy = K.purchase_lut(d, ev)
    nc = len(starts) - 1
    chan = ev.col("channel") if channel else np.empty(0, np.int32)
    n_chan = len(ev.codes("channel")) if channel else 0
    keep = slice(None) if not len(mask) else mask.view(bool)
    n_buy = int(np.count_nonzero(((amount > 0) | buy[tp].view(bool))[keep]))
    out = {"has": np.empty(nc, np.bool_), "loops": np.empty(nc, np.int64), "reeval": np.empty(nc, np.bool_),
           "last": np.empty(nc, np.int64), "chan": np.full(nc, -1, np.int32),
           "gap_c": np.empty(n_buy, np.int64), "gap": np.empty(n_buy, np.int64)}
    g = K.jit(K.loops_per_customer)(starts, ev.col("stage"), mask, ts, amount, tp, buy, chan, n_chan, out["has"],
                                    out["loops"], out["reeval"], out["last"], out["chan"], out["gap_c"], out["gap"])
    out["gap_c"], out["gap"] = out["gap_c"][:g], out["gap"][:g]
    return out


def _loop_parts_kernel(d: Data, by: str | None):
    """(per, groups, gaps) of :func:`loop_metrics_expr` from the kernel, as memtables keyed by the
    customer (its code, or its id when a customers column groups), or None."""
    import numpy as np

    from . import kernels as K

    ev = K.events(d, "stage", "touchpoint", *(["channel"] if by == "channel" else []))
    if ev is None:
        return None
    mask = K.mask_of(d, ev)
    p = loop_parts(d, ev, mask, channel=by == "channel")
    who = np.flatnonzero(p["has"])
    ids = (lambda c: K.customer_ids(ev, c)) if by not in (None, "channel") else (lambda c: c.astype(np.int64))
    per = K.memtable({"customer_id": ids(who), "loops": p["loops"][who], "reeval": p["reeval"][who],
                      "last_day": p["last"][who] // 86_400_000_000})
    gaps = K.memtable({"customer_id": ids(p["gap_c"]), "gap": p["gap"]})
    if by == "channel":
        has = who[p["chan"][who] >= 0]
        names = np.array(ev.codes("channel"), dtype=object)
        groups = K.memtable({"customer_id": ids(has), "grp": names[p["chan"][has]].astype(str)})
    else:
        groups = _group_values(d, d.interactions, by)
    return per, groups, gaps


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
    fast = _paths_kernel(d, top, level, max_len, top_touchpoints)
    if fast is not None:
        return fast
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
    fast = _switching_kernel(d, top)
    if fast is not None:
        return fast
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


def _paths_kernel(d: Data, top: int, level: str, max_len: int, top_tps: int | None) -> pl.DataFrame | None:
    """:func:`paths` from the compiled kernel (None: it cannot run here). Each customer's first
    max_len collapsed nodes (and whether the path goes on) become one integer key when they fit
    in 63 bits (else one row of a matrix); keys are counted, and the top ones spelled out."""
    import numpy as np

    from . import kernels as K

    ev = K.events(d, "touchpoint", *(["stage"] if level == "stage" else []))
    if ev is None:
        return None
    mask = K.mask_of(d, ev)
    val, lut, names = K.node_codes(d, ev, mask, level, top_tps)
    nc = len(ev.col("starts")) - 1
    nodes = np.full((nc, max_len), -1, np.int32)
    length, bought, has = np.empty(nc, np.int64), np.empty(nc, np.bool_), np.empty(nc, np.bool_)
    K.jit(K.paths_per_customer)(ev.col("starts"), val, lut, mask, ev.col("amount"), ev.col("touchpoint"),
                                K.purchase_lut(d, ev), max_len, nodes, length, bought, has)
    nodes, length, bought = nodes[has], length[has], bought[has]
    rows = np.column_stack([nodes + 1, (length > max_len).astype(np.int32)])  # 0: no node
    base = len(names) + 1
    if max_len * np.log2(base) + 1 < 62:
        key = np.zeros(len(rows), np.int64)
        for j in range(max_len):
            key = key * base + rows[:, j]
        key = key * 2 + rows[:, max_len]
        _, first, inv, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    else:
        _, first, inv, counts = np.unique(rows, axis=0, return_index=True, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    buys = np.bincount(inv, weights=bought, minlength=len(counts))
    top = int(top)
    cut = np.sort(counts)[::-1][min(top, len(counts)) - 1] if len(counts) and top > 0 else np.inf
    cand = np.flatnonzero(counts >= cut)

    def spell(i):
        r = rows[first[i]]
        seq = [names[x - 1] for x in r[:max_len] if x > 0]
        return ARROW.join(seq) + (ARROW + ELLIPSIS if r[max_len] else "")

    out = sorted(((spell(i), int(counts[i]), buys[i] / counts[i]) for i in cand), key=lambda x: (-x[1], x[0]))[:top]
    total = int(counts.sum())
    return pl.DataFrame({"path": [p for p, _, _ in out], "customers": [c for _, c, _ in out],
                         "share": [c / total for _, c, _ in out], "purchase_conversion": [b for _, _, b in out]},
                        schema={"path": pl.Utf8, "customers": pl.Int64, "share": pl.Float64,
                                "purchase_conversion": pl.Float64})


def _switching_kernel(d: Data, top: int) -> dict | None:
    """:func:`channel_switching` from the compiled kernel (None: it cannot run here)."""
    import numpy as np

    from . import kernels as K

    ev = K.events(d, "channel", "touchpoint")
    if ev is None:
        return None
    mask = K.mask_of(d, ev)
    names = ev.codes("channel")
    k = max(len(names), 1)
    nc = len(ev.col("starts")) - 1
    counts, customers, last = np.zeros(k * k, np.int64), np.zeros(k * k, np.int64), np.full(k * k, -1, np.int64)
    has, n, bought = np.empty(nc, np.bool_), np.empty(nc, np.int64), np.empty(nc, np.bool_)
    K.jit(K.switching_counts)(ev.col("starts"), ev.col("channel"), mask, ev.col("amount"), ev.col("touchpoint"),
                              K.purchase_lut(d, ev), k, counts, customers, last, np.full(k, -1, np.int64),
                              has, n, bought)
    e = np.flatnonzero(counts)
    rows = sorted(((names[i // k], names[i % k], int(counts[i]), int(customers[i])) for i in e),
                  key=lambda r: (-r[2], r[0], r[1]))[:int(top)]
    handoffs = pl.DataFrame(rows, schema={"from_channel": pl.Utf8, "to_channel": pl.Utf8, "count": pl.Int64,
                                          "customers": pl.Int64}, orient="row")
    n, bought = n[has], bought[has]
    cross = n >= 2
    single = int((~cross).sum())
    summary = pl.DataFrame({
        "customers": [len(n)], "cross_channel_customers": [int(cross.sum()) if len(n) else None],
        "cross_channel_share": [int(cross.sum()) / len(n) if len(n) else None],
        "conversion_single": [int(bought[~cross].sum()) / single if single else None],
        "conversion_cross": [int(bought[cross].sum()) / int(cross.sum()) if cross.any() else None]},
        schema={"customers": pl.Int64, "cross_channel_customers": pl.Int64, "cross_channel_share": pl.Float64,
                "conversion_single": pl.Float64, "conversion_cross": pl.Float64})
    return {"summary": summary, "handoffs": handoffs}
