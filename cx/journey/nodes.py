"""What a touchpoint is seen as on a journey chart: its *node*, at stage or touchpoint level.

- A customer's journey is their touchpoints in (timestamp, _seq) order (:func:`cx.expr.journey_window`;
  _seq is file order, the tie-break for equal timestamps), after the global filters.
- A *node* is a touchpoint's stage ("(no stage)" when it has none) or its touchpoint name (the
  `top` touchpoints by volume, the rest as "Other").
- A node's stage: at stage level, the stage itself; at touchpoint level, the touchpoint's most
  frequent stage (ties by journey order); "Other" and "(no stage)" have none, so no rank.

The flows (:mod:`.flows`) and the paths (:mod:`.loops`) build on these.
"""
from __future__ import annotations

import ibis
from ibis import _

from ..expr import stage_rank

NO_STAGE = "(no stage)"
OTHER = "Other"
LEVELS = ("stage", "touchpoint")


def check_level(level) -> None:
    if level not in LEVELS:
        raise ValueError(f"level is one of {', '.join(LEVELS)}")


def top_touchpoints(t, top: int | None):
    """The `top` touchpoints by volume (ties by name): an Ibis column for `isin`."""
    g = t.group_by("touchpoint").aggregate(_n=_.count())
    return g.order_by([ibis.desc("_n"), "touchpoint"]).limit(int(top)).touchpoint


def with_node(t, level: str, top: int | None):
    """t plus `node`: the stage ("(no stage)" if null) or the touchpoint (top N, rest "Other")."""
    if level == "stage":
        return t.mutate(node=t.stage.fill_null(NO_STAGE))
    if level == "touchpoint":
        if top is None:
            return t.mutate(node=t.touchpoint)
        return t.mutate(node=ibis.ifelse(t.touchpoint.isin(top_touchpoints(t, top)), t.touchpoint, OTHER))
    raise ValueError(f"level is one of {', '.join(LEVELS)}")


def node_stages(t, level: str, top: int | None):
    """node -> stage (and rank) table. Stage level: None (each stage is its own). Touchpoint level:
    the touchpoint's most frequent stage (ties by journey order); "Other" has none."""
    if level == "stage":
        return None
    s = t.filter(t.stage.notnull()).group_by(["touchpoint", "stage"]).aggregate(_n=_.count())
    s = s.mutate(_r=stage_rank(s.stage))
    s = s.mutate(_k=ibis.row_number().over(group_by="touchpoint", order_by=[ibis.desc("_n"), "_r"]))
    s = s.filter(s._k == 0).select(node="touchpoint", stage="stage", rank="_r")
    if top is not None:
        s = s.filter(s.node.isin(top_touchpoints(t, top)))
    return s
