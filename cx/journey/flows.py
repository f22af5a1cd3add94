"""Journey flows: transitions, the transition graph, the step Sankey, loops, path variants,
channel switching, the journey map and the emotion curve (DESIGN.md §3 "Journey").

Conventions shared by every function here:

- A customer's journey is their touchpoints in (timestamp, _seq) order (_seq is file order, the
  tie-break for equal timestamps), after the global filters.
- A *node* is what a touchpoint is seen as at the chosen level: its stage ("(no stage)" when it
  has none) or its touchpoint name (the `top` touchpoints by volume, the rest as "Other").
- *Collapsing repeats* merges consecutive touchpoints with the same node into one. Transitions
  between collapsed touchpoints are exactly the consecutive pairs whose nodes differ, so no
  second pass is needed for them.
- A *back-edge* goes to an earlier stage (discover < consider < evaluate < purchase < use); a
  node without a stage ("(no stage)", "Other") has no rank and is never part of one. A *loop*
  is a back-edge in a customer's stage-collapsed journey, so loop counts in `loop_metrics` add up
  to the back-edge counts of `transitions(level="stage")`.
- A *purchase* is a touchpoint with amount > 0 (as in cx.profile).

Every metric is one Ibis expression (portable: window functions, joins, aggregates, cases)
returning a small polars frame; `transition_dot` is a pure function of such a frame.
"""
from __future__ import annotations

import ibis
import polars as pl
from ibis import _

from .. import filters as flt
from ..expr import journey_window, stage_rank
from ..schema import STAGES, STAGE_RANK
from ..store import CXError

NO_STAGE = "(no stage)"
OTHER = "Other"
END = "(end)"
ARROW = " → "
ELLIPSIS = "…"
DEFAULT_CHURN_DAYS = 90  # used when the data has no repeat purchases to learn the gap from
LEVELS = ("stage", "touchpoint")

BACK_COLOUR = "#d62728"
SELF_COLOUR = "#ff7f0e"
EDGE_COLOUR = "#7f7f7f"


# -- building blocks ---------------------------------------------------------------------------

def _top_touchpoints(t, top: int | None):
    """The `top` touchpoints by volume (ties by name): an Ibis column for `isin`."""
    g = t.group_by("touchpoint").aggregate(_n=_.count())
    return g.order_by([ibis.desc("_n"), "touchpoint"]).limit(int(top)).touchpoint


def _with_node(t, level: str, top: int | None):
    """t plus `node`: the stage ("(no stage)" if null) or the touchpoint (top N, rest "Other")."""
    if level == "stage":
        return t.mutate(node=t.stage.fill_null(NO_STAGE))
    if level == "touchpoint":
        if top is None:
            return t.mutate(node=t.touchpoint)
        return t.mutate(node=ibis.ifelse(t.touchpoint.isin(_top_touchpoints(t, top)), t.touchpoint, OTHER))
    raise ValueError(f"level is one of {', '.join(LEVELS)}")


def _node_stages(t, level: str, top: int | None):
    """node -> stage (and rank) table. Stage level: each stage is its own. Touchpoint level: the
    touchpoint's most frequent stage (ties by journey order); "Other" has none."""
    if level == "stage":
        return None
    s = t.filter(t.stage.notnull()).group_by(["touchpoint", "stage"]).aggregate(_n=_.count())
    s = s.mutate(_r=stage_rank(s.stage))
    s = s.mutate(_k=ibis.row_number().over(group_by="touchpoint", order_by=[ibis.desc("_n"), "_r"]))
    s = s.filter(s._k == 0).select(node="touchpoint", stage="stage", rank="_r")
    if top is not None:
        s = s.filter(s.node.isin(_top_touchpoints(t, top)))
    return s


def _stage_of_nodes(edges, node_stages, level):
    """Add source_stage/target_stage and the two flags to an edge table (source, target, ...)."""
    if level == "stage":
        e = edges.mutate(source_stage=ibis.ifelse(edges.source == NO_STAGE, ibis.null("string"), edges.source),
                         target_stage=ibis.ifelse(edges.target == NO_STAGE, ibis.null("string"), edges.target))
        e = e.mutate(_rs=stage_rank(e.source_stage), _rt=stage_rank(e.target_stage))
    else:
        a = node_stages.select(_sn="node", source_stage="stage", _rs="rank")
        b = node_stages.select(_tn="node", target_stage="stage", _rt="rank")
        e = edges.left_join(a, edges.source == a._sn).drop("_sn")
        e = e.left_join(b, e.target == b._tn).drop("_tn")
    e = e.mutate(is_self_loop=e.source == e.target, is_back_edge=(e._rt < e._rs).fill_null(False))
    return e.drop("_rs", "_rt")


def _check_level(level):
    if level not in LEVELS:
        raise ValueError(f"level is one of {', '.join(LEVELS)}")


def _empty_transitions() -> pl.DataFrame:
    return pl.DataFrame(schema={"source": pl.Utf8, "target": pl.Utf8, "count": pl.Int64, "customers": pl.Int64,
                                "probability": pl.Float64, "source_stage": pl.Utf8, "target_stage": pl.Utf8,
                                "is_self_loop": pl.Boolean, "is_back_edge": pl.Boolean})


# -- transitions -------------------------------------------------------------------------------

def transitions(store, level: str = "stage", top: int | None = 12, collapse_repeats: bool = True,
                filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Transitions between consecutive touchpoints of each customer, in (timestamp, _seq) order.

    One row per (source, target): `count` (transitions), `customers` (distinct customers who
    made it), `probability` (count / all transitions out of source), `source_stage`,
    `target_stage` (the nodes' stages: for touchpoints, each touchpoint's most frequent stage),
    `is_self_loop` (source == target: only when repeats are not collapsed) and `is_back_edge`
    (the target's stage comes before the source's). Level "stage" uses stages ("(no stage)" for
    none); "touchpoint" the `top` touchpoints by volume, the others as "Other". With
    `collapse_repeats`, consecutive identical nodes count as one touchpoint. Largest first.
    """
    out = transitions_expr(store, level, top, collapse_repeats, filters, dataset).to_polars()
    return out if out.height else _empty_transitions()


def transitions_expr(store, level: str = "stage", top: int | None = 12, collapse_repeats: bool = True,
                     filters: flt.Filters | None = None, dataset: str | None = None):
    """The Ibis expression behind :func:`transitions` (for showing its SQL)."""
    _check_level(level)
    t = flt.interactions(store, filters, dataset)
    e = _with_node(t, level, top)
    e = e.mutate(source=e.node.lag().over(journey_window()))
    keep = e.source.notnull()
    if collapse_repeats:
        keep = keep & (e.source != e.node)
    e = e.filter(keep)
    g = e.group_by(["source", "node"]).aggregate(count=_.count(), customers=_.customer_id.nunique())
    g = g.rename(target="node")
    g = g.mutate(probability=g["count"] / g["count"].sum().over(group_by="source"))
    g = _stage_of_nodes(g, _node_stages(t, level, top), level)
    return g.order_by([ibis.desc("count"), "source", "target"])


def _q(s) -> str:
    """A DOT double-quoted ID: backslashes and quotes escaped, line breaks as \\n."""
    s = "" if s is None else str(s)
    s = s.replace("\\", "\\\\").replace('"', '\\"').replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{s}"'


def _fmt(v: float, weight: str) -> str:
    if weight == "probability":
        return f"{100 * v:.0f}%" if v >= 0.01 or v == 0 else "<1%"
    return f"{int(v):,}"


def transition_dot(df: pl.DataFrame, weight: str = "count", title: str | None = None,
                   max_edges: int | None = None) -> str:
    """A Graphviz DOT digraph of a `transitions` frame (pure: no data access).

    Nodes run left to right in journey-stage order (touchpoints of one stage stacked in one
    column; nodes without a stage last). Edge width follows `weight` ("count" or "probability")
    and every edge is labelled with it. Back-edges (to an earlier stage) are drawn in red and
    labelled "↩", self-loops in orange and labelled "↻"; neither pulls the layout, and a legend
    under the title says so. `max_edges` keeps only the heaviest edges. Node names are quoted
    safely (quotes and backslashes escaped)."""
    if weight not in ("count", "probability"):
        raise ValueError("weight is 'count' or 'probability'")
    cols = set(df.columns)
    for c in ("source", "target", weight):
        if c not in cols:
            raise ValueError(f"the frame needs a '{c}' column (a cx.journey transitions frame)")
    if max_edges is not None:
        df = df.sort(weight, descending=True, maintain_order=True).head(int(max_edges))

    def stage_of(name, given):
        return given if given in STAGE_RANK else (name if name in STAGE_RANK else None)

    node_stage: dict[str, str | None] = {}
    rows = df.to_dicts()
    for r in rows:
        for side in ("source", "target"):
            n = r[side]
            st = stage_of(n, r.get(f"{side}_stage"))
            if n not in node_stage or node_stage[n] is None:
                node_stage[n] = st
    groups: dict[int, list[str]] = {}
    for n, st in node_stage.items():
        groups.setdefault(STAGE_RANK[st] if st is not None else len(STAGES), []).append(n)
    wmax = max((float(r[weight] or 0) for r in rows), default=0.0) or 1.0

    def kind(r) -> str:
        if (bool(r.get("is_self_loop")) if "is_self_loop" in cols else r["source"] == r["target"]):
            return "self"
        if "is_back_edge" in cols:
            return "back" if r.get("is_back_edge") else "forward"
        rs, rt = node_stage.get(r["source"]), node_stage.get(r["target"])
        return "back" if rs is not None and rt is not None and STAGE_RANK[rt] < STAGE_RANK[rs] else "forward"

    kinds = [kind(r) for r in rows]
    legend = "   ".join(x for x, k in (("↩ red: back to an earlier stage", "back"),
                                       ("↻ orange: the same step again", "self")) if k in kinds)
    graph_label = "\n".join(x for x in (title, legend) if x)

    lines = ["digraph journey {",
             '  graph [rankdir=LR, newrank=true, nodesep=0.3, ranksep=0.9, fontname="Helvetica", '
             'labelloc=t, fontsize=14' + (f", label={_q(graph_label)}" if graph_label else "") + "];",
             '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", color="#4c78a8", '
             'fontname="Helvetica", fontsize=12];',
             f'  edge [color="{EDGE_COLOUR}", fontname="Helvetica", fontsize=10, arrowsize=0.7];']
    heads = []
    for rank in sorted(groups):
        members = sorted(groups[rank])
        lines.append("  { rank=same; " + " ".join(f"{_q(n)};" for n in members) + " }")
        if rank < len(STAGES):
            heads.append(members[0])
    # invisible spine between stage columns keeps them in journey order whatever the edges say
    for a, b in zip(heads, heads[1:]):
        lines.append(f"  {_q(a)} -> {_q(b)} [style=invis, weight=50];")
    for r, k in zip(rows, kinds):
        w = float(r[weight] or 0)
        attrs = [f"penwidth={1 + 7 * w / wmax:.2f}"]
        label = _fmt(w, weight)
        if k == "self":
            attrs += [f'color="{SELF_COLOUR}"', f'fontcolor="{SELF_COLOUR}"', "constraint=false"]
            label = f"↻ {label}"
        elif k == "back":
            attrs += [f'color="{BACK_COLOUR}"', f'fontcolor="{BACK_COLOUR}"', "constraint=false", "style=bold"]
            label = f"↩ {label}"
        attrs.append(f"label={_q(label)}")
        lines.append(f"  {_q(r['source'])} -> {_q(r['target'])} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- step sankey ------------------------------------------------------------------------------

def step_sankey(store, steps: int = 5, level: str = "stage", collapse_repeats: bool = True,
                filters: flt.Filters | None = None, dataset: str | None = None,
                top: int | None = 12) -> pl.DataFrame:
    """Step-indexed flows over each customer's first `steps` touchpoints (after collapsing
    repeats when asked), which unrolls loops: one row per (step, source, target) with the
    number of customers going from `source` at step i to `target` at step i+1 (i = 1 ..
    steps-1). A journey that stops before `steps` goes to "(end)"."""
    _check_level(level)
    steps = int(steps)
    if steps < 2:
        raise ValueError("steps must be at least 2")
    t = flt.interactions(store, filters, dataset)
    e = _with_node(t, level, top)
    if collapse_repeats:
        e = e.mutate(_prev=e.node.lag().over(journey_window()))
        e = e.filter(e._prev.isnull() | (e._prev != e.node))
    w = journey_window()
    e = e.mutate(step=ibis.row_number().over(w) + 1, target=e.node.lead().over(w))
    e = e.filter(e.step < steps)
    e = e.mutate(source=e.node, target=e.target.fill_null(END))
    g = e.group_by(["step", "source", "target"]).aggregate(count=_.count())
    return g.order_by(["step", ibis.desc("count"), "source", "target"]).to_polars()


# -- loops --------------------------------------------------------------------------------------

def _group_values(store, t, by: str | None, dataset):
    """customer_id -> `grp` table for a breakdown, or None."""
    if by is None:
        return None
    if by == "channel":
        c = t.filter(t.channel.notnull()).group_by(["customer_id", "channel"]).aggregate(_n=_.count())
        c = c.mutate(_k=ibis.row_number().over(group_by="customer_id", order_by=[ibis.desc("_n"), "channel"]))
        return c.filter(c._k == 0).select("customer_id", grp="channel")
    if not store.has_table("customers", dataset):
        raise CXError(f"A breakdown by '{by}' needs a customers table: import one on the Data page.")
    c = store.table("customers", dataset)
    if by == "customer_id" or by not in c.columns:
        opts = ", ".join(["channel"] + [x for x in c.columns if x != "customer_id"])
        raise CXError(f"'{by}' is not a customer attribute (choose from: {opts}).")
    return c.select("customer_id", grp=c[by].cast("string"))


def _attach_group(per, groups):
    if groups is None:
        return per.mutate(grp=ibis.literal("all"))
    j = per.left_join(groups, per.customer_id == groups.customer_id)
    j = j.drop(*[c for c in j.columns if c.startswith("customer_id_")])
    return j.mutate(grp=j.grp.fill_null("(unknown)"))


def _purchase_gaps(t):
    """customer_id, gap: days between consecutive purchase days of each customer."""
    p = t.filter(t.amount > 0).mutate(_day=_.timestamp.date().epoch_days())
    p = p.group_by(["customer_id", "_day"]).aggregate()
    p = p.mutate(gap=p._day - p._day.lag().over(group_by="customer_id", order_by="_day"))
    return p.filter(p.gap.notnull()).select("customer_id", "gap")


def loop_metrics(store, by: str | None = None, churn_days: int | None = None,
                 filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
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
    return loop_metrics_expr(store, by, churn_days, filters, dataset).to_polars()


def loop_metrics_expr(store, by: str | None = None, churn_days: int | None = None,
                      filters: flt.Filters | None = None, dataset: str | None = None):
    """The Ibis expression behind :func:`loop_metrics` (for showing its SQL)."""
    t = flt.interactions(store, filters, dataset)
    r = t.mutate(_r=stage_rank(t.stage))
    r = r.mutate(_pr=r._r.lag().over(journey_window()))
    use, evaluate = STAGE_RANK["use"], STAGE_RANK["evaluate"]
    per = r.group_by("customer_id").aggregate(
        loops=(_._r < _._pr).cast("int64").sum().fill_null(0),
        reeval=((_._pr == use) & (_._r == evaluate)).any().fill_null(False),
        last_day=_.timestamp.max().date().epoch_days())
    groups = _group_values(store, t, by, dataset)
    per = _attach_group(per, groups)
    gaps = _purchase_gaps(t)
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

def paths(store, top: int = 10, level: str = "stage", max_len: int = 8,
          filters: flt.Filters | None = None, dataset: str | None = None,
          top_touchpoints: int | None = 12) -> pl.DataFrame:
    """The `top` most common journey variants: each customer's node sequence with repeats
    collapsed, joined by " → " (longer than `max_len` nodes: cut, ending " → …"). Columns: path,
    customers, share (of all customers), purchase_conversion (share of those customers with a
    purchase). At touchpoint level the nodes are the `top_touchpoints` touchpoints and "Other"."""
    _check_level(level)
    max_len = int(max_len)
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    t = flt.interactions(store, filters, dataset)
    e = _with_node(t, level, top_touchpoints)
    e = e.mutate(_new=(e.node != e.node.lag().over(journey_window())).fill_null(True))
    # the k-th node of the collapsed sequence, pivoted into columns _n1.._n{max_len} (portable:
    # no ordered aggregate or array lambda, which Spark or DuckDB 2 lack through Ibis)
    one, zero = ibis.literal(1, "int64"), ibis.literal(0, "int64")
    e = e.mutate(_k=ibis.ifelse(e._new, one, zero).sum().over(
        ibis.cumulative_window(group_by="customer_id", order_by=["timestamp", "_seq"])))
    per = e.group_by("customer_id").aggregate(
        _len=ibis.ifelse(_._new, one, zero).sum(),
        bought=(_.amount > 0).any().fill_null(False),
        **{f"_n{i}": _.node.max(where=_._new & (_._k == i)) for i in range(1, max_len + 1)})
    path = per._n1
    for i in range(2, max_len + 1):
        path = path + ibis.ifelse(per[f"_n{i}"].isnull(), "", ARROW + per[f"_n{i}"].fill_null(""))
    per = per.mutate(path=ibis.ifelse(per._len > max_len, path + ARROW + ELLIPSIS, path))
    g = per.group_by("path").aggregate(customers=_.count(), purchase_conversion=ibis.ifelse(_.bought, 1.0, 0.0).mean())
    g = g.mutate(share=g.customers / g.customers.sum().over())
    g = g.order_by([ibis.desc("customers"), "path"]).limit(int(top))
    return g.select("path", "customers", "share", "purchase_conversion").to_polars()


def channel_switching(store, filters: flt.Filters | None = None, dataset: str | None = None,
                      top: int = 10) -> dict[str, pl.DataFrame]:
    """Channel switching. Returns {"summary": one row, "handoffs": top hand-offs}.

    summary: customers, cross_channel_customers (journeys on 2+ channels), cross_channel_share,
    conversion_single (purchase conversion of customers on 0–1 channels), conversion_cross
    (of cross-channel customers). handoffs: from_channel, to_channel, count, customers: consecutive
    touchpoints (those with a channel, in time order) on different channels, the `top` largest."""
    t = flt.interactions(store, filters, dataset)
    c = t.filter(t.channel.notnull())
    c = c.mutate(from_channel=c.channel.lag().over(journey_window()))
    h = c.filter(c.from_channel.notnull() & (c.from_channel != c.channel))
    h = h.group_by(["from_channel", "channel"]).aggregate(count=_.count(), customers=_.customer_id.nunique())
    h = h.rename(to_channel="channel").order_by([ibis.desc("count"), "from_channel", "to_channel"]).limit(int(top))
    per = t.group_by("customer_id").aggregate(n_channels=_.channel.nunique(),
                                              bought=(_.amount > 0).any().fill_null(False))
    cross = per.n_channels >= 2
    b = ibis.ifelse(per.bought, 1.0, 0.0)
    s = per.aggregate(customers=per.count(), cross_channel_customers=cross.cast("int64").sum(),
                      conversion_single=b.mean(where=~cross), conversion_cross=b.mean(where=cross))
    s = s.mutate(cross_channel_share=s.cross_channel_customers / s.customers)
    s = s.select("customers", "cross_channel_customers", "cross_channel_share", "conversion_single",
                 "conversion_cross")
    return {"summary": s.to_polars(), "handoffs": h.to_polars()}


# -- journey map and emotion curve -----------------------------------------------------------------

def _stage_order(stage):
    return ibis.cases(*[(stage == s, i) for i, s in enumerate(STAGES)], else_=len(STAGES))


def journey_map(store, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Stage × touchpoint grid, in journey order (busiest touchpoint first within a stage):
    touchpoints (volume), customers, mean_sentiment (interactions' sentiment), and from the
    feedback table joined on touchpoint (when there is one): csat (top-2-box %, scores 4–5 of
    1–5, in percent), n_csat, ces (mean on 1–7), n_ces. Stage "(no stage)" last."""
    t = flt.interactions(store, filters, dataset)
    t = t.mutate(stage=t.stage.fill_null(NO_STAGE))
    g = t.group_by(["stage", "touchpoint"]).aggregate(
        touchpoints=_.count(), customers=_.customer_id.nunique(), mean_sentiment=_.sentiment.mean())
    if store.has_table("feedback", dataset):
        f = flt.feedback(store, filters, dataset)
        f = f.filter(f.touchpoint.notnull() & f.score.notnull() & f.metric.isin(["csat", "ces"]))
        is_csat, is_ces = f.metric == "csat", f.metric == "ces"
        fb = f.group_by(_fb_tp=f.touchpoint).aggregate(
            csat=(100.0 * ibis.ifelse(f.score >= 4, 1.0, 0.0)).mean(where=is_csat),
            n_csat=is_csat.cast("int64").sum(),
            ces=f.score.cast("float64").mean(where=is_ces),
            n_ces=is_ces.cast("int64").sum())
        g = g.left_join(fb, g.touchpoint == fb._fb_tp).drop("_fb_tp")
        g = g.mutate(n_csat=g.n_csat.fill_null(0), n_ces=g.n_ces.fill_null(0))
    else:
        g = g.mutate(csat=ibis.null("float64"), n_csat=ibis.literal(0, "int64"), ces=ibis.null("float64"),
                     n_ces=ibis.literal(0, "int64"))
    g = g.mutate(_o=_stage_order(g.stage)).order_by(["_o", ibis.desc("touchpoints"), "touchpoint"])
    return g.select("stage", "touchpoint", "touchpoints", "customers", "mean_sentiment", "csat", "ces",
                    "n_csat", "n_ces").to_polars()


def emotion_curve(store, filters: flt.Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Mean sentiment per stage in journey order (stages with at least one scored touchpoint):
    stage, mean_sentiment, n (touchpoints with a sentiment)."""
    t = flt.interactions(store, filters, dataset)
    t = t.filter(t.stage.notnull() & t.sentiment.notnull())
    g = t.group_by("stage").aggregate(mean_sentiment=_.sentiment.mean(), n=_.count())
    return g.mutate(_o=_stage_order(g.stage)).order_by("_o").select("stage", "mean_sentiment", "n").to_polars()
