"""What changed: every channel's and persona's active customers and revenue, tested, with the
false-discovery rate controlled across the scan."""
from __future__ import annotations

from datetime import date

import ibis
import polars as pl
from ibis import _

from .. import stats
from ..data import Data, uses_data
from ..expr import initiated, period_start
from ..filters import Filters
from .cards import _check, _full_periods, fmt


DIMENSIONS = ("channel", "persona")
MOVER_COLUMNS = {"metric": pl.Utf8, "dimension": pl.Utf8, "group": pl.Utf8, "previous": pl.Float64,
                 "value": pl.Float64, "change": pl.Float64, "margin": pl.Float64, "p_value": pl.Float64,
                 "p_adjusted": pl.Float64, "significant": pl.Boolean, "sentence": pl.Utf8}


def _no_movers() -> pl.DataFrame:
    return pl.DataFrame(schema=MOVER_COLUMNS)


@uses_data
def movers(d: Data, period: str = "month", filters: Filters | None = None, dataset: str | None = None,
           top: int = 5, level: float = stats.LEVEL) -> pl.DataFrame:
    """What changed between the last two full periods: active customers and revenue per channel
    and per persona (customers table). Every group is tested (exact Poisson test for active
    customers, compound-Poisson z-test for revenue: cx.stats) and, because many groups are
    scanned, the false-discovery rate is controlled across them (Benjamini–Hochberg at 1 − level).
    One row per group and metric: metric, dimension, group, previous, value, change, margin (of the
    change), p_value, p_adjusted, significant, sentence. The significant ones come first, largest
    change relative to the total first (at most `top` of them); then the others, which could be
    chance. Active customers as in profile.activity (not outbound)."""
    _check(period)
    full = _full_periods(d, period)
    if full.height < 2:
        return _no_movers()
    prev, cur = full["period"][-2], full["period"][-1]
    t = d.interactions
    t = t.mutate(period=period_start(t.timestamp, period), _own=initiated(t))
    t = t.filter(t.period.isin([prev, cur]))
    parts = []
    for dim in DIMENSIONS:
        if dim == "persona":
            if not d.has("customers", "persona"):
                continue
            c = d.table("customers").select(_cid="customer_id", _g="persona")
            tt = t.left_join(c, t.customer_id == c._cid)
        else:
            tt = t.mutate(_g=t[dim])
        tt = tt.mutate(_g=tt._g.cast("string").fill_null("(unknown)"))
        per = tt.group_by(["_g", "period", "customer_id"]).aggregate(_own=_._own.any(),
                                                                     _rev=_.amount.sum().fill_null(0))
        g = per.group_by(["_g", "period"]).aggregate(active_customers=_._own.cast("int64").sum(),
                                                     revenue=_._rev.sum(), revenue_sq=(_._rev * _._rev).sum())
        parts.append(g.mutate(dimension=ibis.literal(dim)))
    if not parts:
        return _no_movers()
    df = ibis.union(*parts).to_polars()
    p, c = str(prev), str(cur)
    rows = []
    for (dim, grp), g in df.group_by(["dimension", "_g"], maintain_order=True):
        by = {str(r["period"]): r for r in g.iter_rows(named=True)}
        a, b = by.get(p, {}), by.get(c, {})
        ac = stats.count_change(int(a.get("active_customers") or 0), int(b.get("active_customers") or 0), level)
        rv = stats.total_change(a.get("revenue") or 0.0, a.get("revenue_sq") or 0.0, int(a.get("active_customers") or 0),
                                b.get("revenue") or 0.0, b.get("revenue_sq") or 0.0,
                                int(b.get("active_customers") or 0), level)
        for metric, ch in (("active_customers", ac), ("revenue", rv)):
            rows.append({"metric": metric, "dimension": dim, "group": grp, "previous": ch.a or 0.0,
                         "value": ch.b or 0.0, "change": ch.diff or 0.0, "margin": ch.margin, "p_value": ch.p_value})
    out = pl.DataFrame(rows, schema={k: MOVER_COLUMNS[k] for k in ("metric", "dimension", "group", "previous",
                                                                    "value", "change", "margin", "p_value")})
    money_moved = out.filter((pl.col("metric") == "revenue") & ((pl.col("previous") != 0) | (pl.col("value") != 0)))
    if not money_moved.height:
        out = out.filter(pl.col("metric") != "revenue")  # no money in the data: nothing to say about it
    out = out.filter((pl.col("previous") != 0) | (pl.col("value") != 0))  # nothing to nothing is no change
    if not out.height:
        return _no_movers()
    reject, adjusted = stats.fdr(out["p_value"].to_list(), 1 - level)
    out = out.with_columns(pl.Series("p_adjusted", adjusted), pl.Series("significant", reject))
    total = {m: out.filter((pl.col("metric") == m) & (pl.col("dimension") == out["dimension"][0]))
             .select(pl.col("previous").sum()).item() or 1.0 for m in out["metric"].unique().to_list()}
    out = out.with_columns(_rel=pl.col("change").abs() / pl.col("metric").replace_strict(total, return_dtype=pl.Float64))
    out = out.sort(["significant", "_rel", "metric", "dimension", "group"], descending=[True, True, False, False, False])
    sig = out.filter(pl.col("significant")).head(top)
    out = pl.concat([sig, out.filter(~pl.col("significant"))])
    label = {"active_customers": "Active customers", "revenue": "Revenue"}
    when = f"in {cur:%B %Y}" if period == "month" else f"in the week of {cur:%d %b %Y}"
    unit = {"active_customers": "int", "revenue": "money"}

    def sentence(r):
        up = "rose" if r["change"] > 0 else "fell"
        u = unit[r["metric"]]
        pm = f" ± {fmt(u, r['margin'])}" if r["margin"] is not None else ""
        tail = "." if r["significant"] else ": could be chance."
        return (f"{label[r['metric']]} with {r['dimension']} {r['group']} {up} by {fmt(u, abs(r['change']))}{pm} "
                f"({fmt(u, r['previous'])} → {fmt(u, r['value'])}) {when}{tail}")

    return out.drop("_rel").with_columns(pl.Series("sentence", [sentence(r) for r in out.iter_rows(named=True)],
                                                   dtype=pl.Utf8)).select(list(MOVER_COLUMNS))


def nothing_changed(period: str, when: date | None) -> str:
    """The sentence for a scan in which no group passed the test."""
    shown = "" if when is None else (f" in {when:%B %Y}" if period == "month" else f" in the week of {when:%d %b %Y}")
    return (f"Nothing changed beyond normal variation{shown}: no channel or persona moved more than chance "
            f"would explain.")
