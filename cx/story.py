"""The guided journey story for workshops: seven steps over a dataset, each a real chart from the
app's own metric functions and a sentence written from its numbers (nothing hard-coded).

    steps = story.titles()                  # the outline
    s = story.step(store, 3, dataset="demo") # Step(title, sentence, figure | dot, page)

Each step calls the metric functions with one data handle (:mod:`cx.data`) and draws with the
area's chart module (:mod:`cx.charts`).
"""
from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import polars as pl

from . import clv, journey, loyalty, stats, voc
from .charts import journey as jc
from .charts import loyalty as loyalty_charts
from .charts import voc as voc_charts
from .data import Data, uses_data
from .filters import Filters
from .store import CXError

TITLES = ("The loop", "Where customers drop", "Who loops", "How they feel", "What they say",
          "What drives loyalty", "What they are worth")


@dataclass
class Step:
    number: int
    title: str
    sentence: str
    figure: go.Figure | None = None
    dot: str | None = None
    page: str = ""  # where to explore it further (url path)


def titles() -> tuple[str, ...]:
    return TITLES


def _pct(x) -> str:
    return "–" if x is None else f"{x:.0%}"


def _loop(d: Data) -> Step:
    tr = journey.transitions(d, level="stage", collapse_repeats=True)
    lm = journey.loop_metrics(d).row(0, named=True)
    back = tr.filter(pl.col("is_back_edge")).sort("count", descending=True)
    top = back.row(0, named=True) if back.height else None
    s = (f"Customers do not walk a straight line: {_pct(lm['loop_rate'])} of them went back to an earlier stage at "
         f"least once ({lm['loops_per_customer']:.1f} returns per customer on average).")
    if top:
        s += (f" The most travelled way back is {top['source']} → {top['target']} "
              f"({_pct(top['probability'])} of the moves out of {top['source']}).")
    return Step(1, TITLES[0], s, dot=journey.transition_dot(tr, weight="probability"), page="journey")


def _drop(d: Data) -> Step:
    steps = ["discover", "consider", "evaluate", "purchase"]
    df = journey.funnel(d, steps, field="stage", window="30d")
    c = df["count"].to_list()
    conv = df["conversion_from_previous"].to_list()
    worst = min(range(1, len(c)), key=lambda i: conv[i] if conv[i] is not None else 1.0)
    if not c or not c[0]:
        raise CXError("This step needs touchpoints in the discover stage (a stage column, or touchpoint names the "
                      "stage rules place there).")
    # reaching the purchase *stage* (a cart, a checkout step) is not buying: the words say what was reached
    s = (f"Of {c[0]:,} customers who discovered us, {c[-1]:,} ({_pct(c[-1] / c[0])}) reached the purchase stage "
         f"(a cart, a checkout step or an order) within 30 days of that first visit, in order. The biggest loss is "
         f"between {steps[worst - 1]} and {steps[worst]}: only {_pct(conv[worst])} go on.")
    return Step(2, TITLES[1], s, figure=jc.funnel_chart(df, title="Discover to purchase within 30 days"),
                page="journey")


def _who(d: Data) -> Step:
    by = "persona" if d.has("customers", "persona") else "channel"
    lm = journey.loop_metrics(d, by=by)
    lm = lm.filter(pl.col(by) != "(unknown)") if by in lm.columns else lm
    lm = lm.filter(pl.col("loop_rate").is_not_null()).sort("loop_rate", descending=True)
    if lm.height < 2:
        raise CXError(f"This step compares loops between groups: it needs at least two {by} values with journeys "
                      "that have stages.")
    hi, lo = lm.row(0, named=True), lm.row(lm.height - 1, named=True)
    ch = stats.rate_change(round(lo["loop_rate"] * lo["customers"]), lo["customers"],
                           round(hi["loop_rate"] * hi["customers"]), hi["customers"])
    if ch.significant:
        s = (f"Loops differ by {by}: {hi[by]} customers loop most ({_pct(hi['loop_rate'])} return to an earlier "
             f"stage), {lo[by]} least ({_pct(lo['loop_rate'])}), a difference beyond chance. Design the way back "
             f"for the first, the way in for the second.")
    else:
        s = (f"Loops are alike across {by}: from {_pct(lo['loop_rate'])} ({lo[by]}) to {_pct(hi['loop_rate'])} "
             f"({hi[by]}) of customers return to an earlier stage, a spread that could be chance.")
    fig = jc.hbars(lm.sort("loop_rate", descending=True), by, "loop_rate", f"Loop rate by {by}", fmt="%")
    return Step(3, TITLES[2], s, figure=fig, page="segments")


def _feel(d: Data) -> Step:
    curve = journey.emotion_curve(d)
    jm = journey.journey_map(d)
    cells = jm.filter(pl.col("mean_sentiment").is_not_null() & (pl.col("touchpoints") >= 30)) \
        if "touchpoints" in jm.columns else jm.filter(pl.col("mean_sentiment").is_not_null())
    if not curve.height or not cells.height:
        raise CXError("This step needs a sentiment column in the interactions.")
    low = curve.sort("mean_sentiment").row(0, named=True)
    worst = cells.sort("mean_sentiment").row(0, named=True)
    s = (f"Feelings dip at {low['stage']} (mean sentiment {low['mean_sentiment']:+.2f}); the worst moment of "
         f"the whole journey is {worst['touchpoint']} ({worst['mean_sentiment']:+.2f}).")
    return Step(4, TITLES[3], s, figure=jc.emotion_curve(curve), page="journey")


def _say(d: Data) -> Step:
    th = voc.theme_summary(d).filter(pl.col("theme") >= 0)
    if not th.height:
        raise CXError("This step needs comments in the feedback table.")
    neg = th.sort("mean_sentiment").row(0, named=True)
    big = th.sort("comments", descending=True).row(0, named=True)
    s = (f"Across {int(th['comments'].sum()):,} comments, the most talked-about theme is “{big['label']}” "
         f"({_pct(big['share'])} of comments); the most negative is “{neg['label']}” (mean sentiment "
         f"{neg['mean_sentiment']:+.2f}).")
    top = th.sort("comments", descending=True).head(10)  # a room reads ten bars, not twenty-four
    return Step(5, TITLES[4], s, figure=voc_charts.theme_bars(top, title="The ten most talked-about themes"),
                page="voc")


def _drivers(d: Data) -> Step:
    kd = loyalty.key_drivers(d, outcome="nps")
    dr = kd["drivers"]
    if not dr.height:
        raise CXError("This step needs CSAT answers per touchpoint and NPS answers from the same customers.")
    verdict = kd["summary"]["verdict"][0]  # says "fix first" only when the data is clear (cx.loyalty.key_drivers)
    s = (f"Which touchpoint experiences move recommendation, of {kd['summary']['customers'][0]:,} customers "
         f"(R² = {kd['summary']['r2'][0]:.2f}): {verdict}")
    return Step(6, TITLES[5], s, figure=loyalty_charts.driver_quadrant(dr), page="loyalty")


def _worth(d: Data) -> Step:
    conc = clv.concentration(d)
    by = "persona" if d.has("customers") else "purchase_channel"
    vb = clv.value_by(d, by)
    top10 = conc.filter(pl.col("customers_share") >= 0.1).row(0, named=True)["value_share"]
    best = vb.row(0, named=True)
    s = (f"The top 10% of customers hold {_pct(top10)} of the value expected over the next 12 months. "
         f"{best['group']} customers are worth the most in total ({_pct(best['share_of_clv'])} of predicted "
         f"value).")
    fig = jc.hbars(vb.sort("predicted_clv", descending=True), "group", "predicted_clv",
                   f"Predicted 12-month value by {by}", fmt="money")
    return Step(7, TITLES[6], s, figure=fig, page="value")


_STEPS = (_loop, _drop, _who, _feel, _say, _drivers, _worth)


@uses_data
def step(d: Data, number: int, filters: Filters | None = None, dataset: str | None = None) -> Step:
    """Step `number` (1..7) of the story. A step whose data is missing says what it needs."""
    if not 1 <= number <= len(_STEPS):
        raise CXError(f"The story has steps 1 to {len(_STEPS)}.")
    try:
        return _STEPS[number - 1](d)
    except CXError as e:
        return Step(number, TITLES[number - 1], f"(Not available for this dataset: {e})")
