"""The funnel with its uncertainty: each step's conversion with a Wilson interval, breakdown groups
tested against the rest (false-discovery rate controlled), and two periods compared step by step
(cx.stats). The counts come from :func:`cx.journey.funnel`, the one definition."""
from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from .. import stats
from ..data import Data, uses_data
from ..filters import Filters
from .funnel import COLUMNS, Steps, funnel


def with_intervals(df: pl.DataFrame, level: float = stats.LEVEL) -> pl.DataFrame:
    """A funnel frame (with or without a breakdown column) plus, per step: entered (the units at step
    1 of its group), conversion_low / conversion_high (Wilson interval of conversion_from_first),
    previous_low / previous_high (of conversion_from_previous); and, with a breakdown, per group:
    vs_rest (its conversion to the last step minus the other groups'), p_value, differs ("above" /
    "below" beyond chance after Benjamini–Hochberg across the groups; "" otherwise, and always ""
    for groups with fewer than cx.stats.MIN_N entries)."""
    by = [c for c in df.columns if c not in COLUMNS]
    keys = by[:1]
    d = df.sort([*keys, "step"]) if keys else df.sort("step")
    first = pl.col("count").first().over(keys) if keys else pl.col("count").first()
    prev = pl.col("count").shift(1).over(keys) if keys else pl.col("count").shift(1)
    d = d.with_columns(entered=first, _prev=prev.fill_null(pl.col("count")))
    lo1, hi1, lo2, hi2 = [], [], [], []
    for k, n, p in d.select("count", "entered", "_prev").iter_rows():
        a, b = stats.rate(k, n, level), stats.rate(k, p, level)
        lo1.append(a.low), hi1.append(a.high), lo2.append(b.low), hi2.append(b.high)
    d = d.with_columns(pl.Series("conversion_low", lo1, pl.Float64), pl.Series("conversion_high", hi1, pl.Float64),
                       pl.Series("previous_low", lo2, pl.Float64), pl.Series("previous_high", hi2, pl.Float64))
    d = d.drop("_prev")
    if not keys:
        return d
    last = d.filter(pl.col("step") == pl.col("step").max().over(keys))
    done, entered = last["count"].to_list(), last["entered"].to_list()
    K, N = sum(done), sum(entered)
    tests = []
    for k, n in zip(done, entered):
        ch = stats.rate_change(K - k, N - n, k, n, level)
        tests.append(ch if len(done) > 1 and ch.enough else None)
    reject, _ = stats.fdr([t.p_value if t else None for t in tests], 1 - level)
    verdict = pl.DataFrame({keys[0]: last[keys[0]],
                            "vs_rest": [t.diff if t else None for t in tests],
                            "p_value": [t.p_value if t else None for t in tests],
                            "differs": ["" if t is None or not ok else ("above" if t.diff > 0 else "below")
                                        for t, ok in zip(tests, reject)]},
                           schema_overrides={"vs_rest": pl.Float64, "p_value": pl.Float64, "differs": pl.Utf8})
    return d.join(verdict, on=keys[0], how="left", maintain_order="left")


@uses_data
def compare_periods(d: Data, steps: Steps, a: tuple[date, date], b: tuple[date, date], field: str = "touchpoint",
                    window=None, unit: str = "customer", filters: Filters | None = None,
                    dataset: str | None = None, level: float = stats.LEVEL) -> pl.DataFrame:
    """The same funnel in two date ranges (a, b: inclusive first and last days; the touchpoints of
    each range, under the other filters): per step, count_a, count_b, conversion_a, conversion_b
    (from step 1), diff (b − a, shares), low / high (Newcombe's interval of the difference), p_value
    and significant (at `level`; never with fewer than cx.stats.MIN_N entries on either side)."""
    out = []
    runs = []
    for lo, hi in (a, b):
        dd = d.with_filters(d.filters.with_(start=max(lo, d.filters.start or lo), end=min(hi, d.filters.end or hi)))
        runs.append(funnel(dd, steps, field=field, window=window, unit=unit).sort("step"))
    fa, fb = runs
    na, nb = int(fa["count"][0]), int(fb["count"][0])
    for ra, rb in zip(fa.iter_rows(named=True), fb.iter_rows(named=True)):
        ch = stats.rate_change(int(ra["count"]), na, int(rb["count"]), nb, level)
        out.append({"step": ra["step"], "name": ra["name"], "count_a": ra["count"], "count_b": rb["count"],
                    "conversion_a": ch.a, "conversion_b": ch.b, "diff": ch.diff, "low": ch.low, "high": ch.high,
                    "p_value": ch.p_value, "significant": ch.significant and ra["step"] > 1})
    return pl.DataFrame(out, schema={"step": pl.Int64, "name": pl.Utf8, "count_a": pl.Int64, "count_b": pl.Int64,
                                     "conversion_a": pl.Float64, "conversion_b": pl.Float64, "diff": pl.Float64,
                                     "low": pl.Float64, "high": pl.Float64, "p_value": pl.Float64,
                                     "significant": pl.Boolean})


def last_two_months(last_day: date) -> tuple[tuple[date, date], tuple[date, date]]:
    """The last two full months of data ending on `last_day`: (the one before, the last one). The
    month of `last_day` counts when `last_day` is its last day."""
    whole = (last_day + timedelta(days=1)).day == 1
    end_b = last_day if whole else last_day.replace(day=1) - timedelta(days=1)
    start_b = end_b.replace(day=1)
    end_a = start_b - timedelta(days=1)
    return (end_a.replace(day=1), end_a), (start_b, end_b)
