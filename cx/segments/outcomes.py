"""A group's outcomes: the other areas' metrics (the stage funnel, NPS, CLV) for a group of
customers, each computed by its own module. cx.journey, cx.loyalty and cx.clv never import
cx.segments: the dependency goes one way.
"""
from __future__ import annotations

import polars as pl

from .. import clv, journey, loyalty, stats
from ..data import Data, uses_data
from ..filters import Filters
from ..schema import STAGES
from ..store import CXError
from .behaviour import ID


@uses_data
def outcomes(d: Data, customers: tuple[str, ...], filters: Filters | None = None,
             dataset: str | None = None) -> dict:
    """The selected customers' stage funnel (cx.journey.funnel over the five stages, no window),
    NPS (cx.loyalty.score_summary, with its interval) and CLV (cx.clv.customer_value; the mean
    predicted CLV with a bootstrap interval over the group's buyers), each computed by its own
    module with the global filters narrowed to these customers. A figure the data cannot give
    (no feedback, no purchases ...) is None, with a note saying why."""
    out: dict = {"notes": []}
    group = d.with_filters(d.filters.with_(customers=tuple(customers)))
    out["funnel"] = journey.funnel(group, [(s,) for s in STAGES], field="stage")
    out["nps"] = None
    try:
        out["nps"] = loyalty.score_summary(group, "nps")
    except CXError as e:
        out["notes"].append(f"NPS: {e}")
    out["clv"] = None
    try:
        # models fitted on everyone (the global filters), then the group's customers read out
        vm = clv.customer_value(d)
        vm.require_money("CLV")
        c = vm.customers.filter(pl.col(ID).is_in(list(customers)))
        ci = stats.bootstrap_mean(c["predicted_clv"].to_list())
        out["clv"] = c.select(
            buyers=pl.len(), historical_value=pl.col("historical_value").sum(),
            mean_historical_value=pl.col("historical_value").mean(),
            predicted_clv=pl.col("predicted_clv").sum(), mean_predicted_clv=pl.col("predicted_clv").mean(),
            mean_p_alive=pl.col("p_alive").mean()).with_columns(
            mean_predicted_clv_low=pl.lit(ci.low, pl.Float64), mean_predicted_clv_high=pl.lit(ci.high, pl.Float64))
    except CXError as e:
        out["notes"].append(f"CLV: {e}")
    return out
