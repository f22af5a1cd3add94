"""Journey flows: transitions between consecutive touchpoints, the transition graph (Graphviz DOT)
and the step Sankey.

Conventions (the journey order and the nodes: :mod:`cx.journey.nodes`):

- *Collapsing repeats* merges consecutive touchpoints with the same node into one. Transitions
  between collapsed touchpoints are exactly the consecutive pairs whose nodes differ, so no
  second pass is needed for them.
- A *back-edge* goes to an earlier stage (discover < consider < evaluate < purchase < use); a
  node without a stage ("(no stage)", "Other") has no rank and is never part of one. A *loop*
  is a back-edge in a customer's stage-collapsed journey, so loop counts in
  :func:`cx.journey.loop_metrics` add up to the back-edge counts of `transitions(level="stage")`.

Every metric is one Ibis expression (portable: window functions, joins, aggregates, cases)
returning a small polars frame; `transition_dot` is a pure function of such a frame.
"""
from __future__ import annotations

import ibis
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..expr import journey_window, stage_rank
from ..filters import Filters
from ..schema import STAGES, STAGE_RANK
from .nodes import NO_STAGE, check_level, node_stages, with_node

END = "(end)"

BACK_COLOUR = "#d62728"
SELF_COLOUR = "#ff7f0e"
EDGE_COLOUR = "#7f7f7f"

def _stage_of_nodes(edges, stages, level):
    """Add source_stage/target_stage and the two flags to an edge table (source, target, ...)."""
    if level == "stage":
        e = edges.mutate(source_stage=ibis.ifelse(edges.source == NO_STAGE, ibis.null("string"), edges.source),
                         target_stage=ibis.ifelse(edges.target == NO_STAGE, ibis.null("string"), edges.target))
        e = e.mutate(_rs=stage_rank(e.source_stage), _rt=stage_rank(e.target_stage))
    else:
        a = stages.select(_sn="node", source_stage="stage", _rs="rank")
        b = stages.select(_tn="node", target_stage="stage", _rt="rank")
        e = edges.left_join(a, edges.source == a._sn).drop("_sn")
        e = e.left_join(b, e.target == b._tn).drop("_tn")
    e = e.mutate(is_self_loop=e.source == e.target, is_back_edge=(e._rt < e._rs).fill_null(False))
    return e.drop("_rs", "_rt")


def _empty_transitions() -> pl.DataFrame:
    return pl.DataFrame(schema={"source": pl.Utf8, "target": pl.Utf8, "count": pl.Int64, "customers": pl.Int64,
                                "probability": pl.Float64, "source_stage": pl.Utf8, "target_stage": pl.Utf8,
                                "is_self_loop": pl.Boolean, "is_back_edge": pl.Boolean})


@uses_data
def transitions(d: Data, level: str = "stage", top: int | None = 12, collapse_repeats: bool = True,
                filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """Transitions between consecutive touchpoints of each customer, in (timestamp, _seq) order.

    One row per (source, target): `count` (transitions), `customers` (distinct customers who
    made it), `probability` (count / all transitions out of source), `source_stage`,
    `target_stage` (the nodes' stages: for touchpoints, each touchpoint's most frequent stage),
    `is_self_loop` (source == target: only when repeats are not collapsed) and `is_back_edge`
    (the target's stage comes before the source's). Level "stage" uses stages ("(no stage)" for
    none); "touchpoint" the `top` touchpoints by volume, the others as "Other". With
    `collapse_repeats`, consecutive identical nodes count as one touchpoint. Largest first.
    """
    check_level(level)
    out = _transitions_kernel(d, level, top, collapse_repeats)
    if out is None:
        out = transitions_expr(d, level, top, collapse_repeats).to_polars()
    return out if out.height else _empty_transitions()


def _transitions_kernel(d: Data, level: str, top: int | None, collapse: bool) -> pl.DataFrame | None:
    """:func:`transitions` from the compiled kernel (None: it cannot run here)."""
    import numpy as np

    from . import kernels as K

    ev = K.events(d, "stage", *(["touchpoint"] if level == "touchpoint" else []))
    if ev is None:
        return None
    mask = K.mask_of(d, ev)
    val, lut, names = K.node_codes(d, ev, mask, level, top)
    k = len(names)
    counts, customers, last = np.zeros(k * k, np.int64), np.zeros(k * k, np.int64), np.full(k * k, -1, np.int64)
    K.jit(K.transitions_counts)(ev.col("starts"), val, lut, mask, k, collapse, counts, customers, last)
    e = np.flatnonzero(counts)
    src, tgt = e // k, e % k
    total = np.bincount(src, weights=counts[e], minlength=k)
    stage, rank = K.node_stage_ranks(d, ev, mask, level, top, names)
    rs, rt = rank[src], rank[tgt]
    out = pl.DataFrame({
        "source": [names[i] for i in src], "target": [names[i] for i in tgt],
        "count": counts[e], "customers": customers[e], "probability": counts[e] / total[src],
        "source_stage": [stage[i] for i in src], "target_stage": [stage[i] for i in tgt],
        "is_self_loop": src == tgt, "is_back_edge": (rs >= 0) & (rt >= 0) & (rt < rs)},
        schema=_empty_transitions().schema)
    return out.sort(["count", "source", "target"], descending=[True, False, False])


@uses_data
def transitions_expr(d: Data, level: str = "stage", top: int | None = 12, collapse_repeats: bool = True,
                     filters: Filters | None = None, dataset: str | None = None):
    """The Ibis expression behind :func:`transitions` (for showing its SQL)."""
    check_level(level)
    t = d.interactions
    e = with_node(t, level, top)
    e = e.mutate(source=e.node.lag().over(journey_window()))
    keep = e.source.notnull()
    if collapse_repeats:
        keep = keep & (e.source != e.node)
    e = e.filter(keep)
    g = e.group_by(["source", "node"]).aggregate(count=_.count(), customers=_.customer_id.nunique())
    g = g.rename(target="node")
    g = g.mutate(probability=g["count"] / g["count"].sum().over(group_by="source"))
    g = _stage_of_nodes(g, node_stages(t, level, top), level)
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

@uses_data
def step_sankey(d: Data, steps: int = 5, level: str = "stage", collapse_repeats: bool = True,
                filters: Filters | None = None, dataset: str | None = None,
                top: int | None = 12) -> pl.DataFrame:
    """Step-indexed flows over each customer's first `steps` touchpoints (after collapsing
    repeats when asked), which unrolls loops: one row per (step, source, target) with the
    number of customers going from `source` at step i to `target` at step i+1 (i = 1 ..
    steps-1). A journey that stops before `steps` goes to "(end)"."""
    check_level(level)
    steps = int(steps)
    if steps < 2:
        raise ValueError("steps must be at least 2")
    fast = _sankey_kernel(d, steps, level, collapse_repeats, top)
    if fast is not None:
        return fast
    e = with_node(d.interactions, level, top)
    if collapse_repeats:
        e = e.mutate(_prev=e.node.lag().over(journey_window()))
        e = e.filter(e._prev.isnull() | (e._prev != e.node))
    w = journey_window()
    e = e.mutate(step=ibis.row_number().over(w) + 1, target=e.node.lead().over(w))
    e = e.filter(e.step < steps)
    e = e.mutate(source=e.node, target=e.target.fill_null(END))
    g = e.group_by(["step", "source", "target"]).aggregate(count=_.count())
    return g.order_by(["step", ibis.desc("count"), "source", "target"]).to_polars()


def _sankey_kernel(d: Data, steps: int, level: str, collapse: bool, top: int | None) -> pl.DataFrame | None:
    """:func:`step_sankey` from the compiled kernel (None: it cannot run here)."""
    import numpy as np

    from . import kernels as K

    ev = K.events(d, "stage" if level == "stage" else "touchpoint")
    if ev is None:
        return None
    mask = K.mask_of(d, ev)
    val, lut, names = K.node_codes(d, ev, mask, level, top)
    k = len(names)
    counts = np.zeros((steps - 1, k, k + 1), np.int64)
    K.jit(K.sankey_counts)(ev.col("starts"), val, lut, mask, k, collapse, steps, counts)
    i, a, b = np.nonzero(counts)
    labels = [*names, END]
    out = pl.DataFrame({"step": (i + 1).astype(np.int64), "source": [names[x] for x in a],
                        "target": [labels[x] for x in b], "count": counts[i, a, b]},
                       schema={"step": pl.Int64, "source": pl.Utf8, "target": pl.Utf8, "count": pl.Int64})
    return out.sort(["step", "count", "source", "target"], descending=[False, True, False, False])
