"""The ordered funnel: counts per step, conversion, time between steps,
breakdowns, the trend by entry period, and the units that dropped off.

Definition. Steps are stages or touchpoints; a step may be an any-of group. Per unit (a customer,
or a session = (customer_id, session_id)), an entry is any occurrence of step 1; each next step is
its first occurrence strictly after the previous step's occurrence in the order (timestamp, _seq)
(same-timestamp events keep file order); every step must fall within the window measured from the
entry time (inclusive). A unit counts once, at the furthest step any of its entries reaches; among
entries reaching the same furthest step the earliest wins, and its times feed the time figures.

How it scales (no per-entry x per-event join): only the rows of the steps are kept, and ONE
window pass over each unit's rows in (timestamp, _seq) order gives every row, for each step k >= 2,
the _seq of the first step-k row strictly after it (FIRST_VALUE(... IGNORE NULLS) over the
following rows). The chain entry -> step 2 -> step 3 ... is then a few equality joins on _seq
(unique in a dataset), each entry meeting exactly one row per step, and the winning entry per unit
is the first row of a ROW_NUMBER over (level desc, time, _seq): the plan of the hand-written
baseline in bench/. (Ibis 12 drops IGNORE NULLS when it compiles this for DuckDB: cx._ibis_fixes
restores it; before, a running-count formulation cost 1.35x the baseline.) :func:`units` builds
that chain once; :func:`funnel`, :func:`funnel_trend` and :func:`dropoff_members` all read it.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Sequence

import ibis
import polars as pl
from ibis import _

from ..data import Data, uses_data
from ..expr import journey_window, period_start
from ..filters import Filters
from ..schema import STAGES
from ..store import CXError

FIELDS = ("stage", "touchpoint")
UNITS = ("customer", "session")
# breakdowns read from the winning entry's own row (the others come from the customers table)
ENTRY_DIMENSIONS = ("channel", "touchpoint", "stage", "direction", "department", "employee_id",
                    "value_given")
ENTRY_ONLY = ("direction", "department", "employee_id", "value_given", "segment")  # funnel-only breakdowns
COLUMNS = ("step", "name", "count", "conversion_from_previous", "conversion_from_first",
           "median_time_from_previous", "p90_time_from_previous")
UNKNOWN = "(unknown)"
OTHER = "Other"
TREND_PERIODS = ("week", "month")
_WINDOW_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days|w|wk|wks|week|weeks)\s*$",
                        re.IGNORECASE)
_WINDOW_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

Steps = Sequence["str | Sequence[str]"]


# -- parameters --------------------------------------------------------------------------
def parse_window(window) -> timedelta | None:
    """None (no limit), a timedelta, or a string such as "30d", "12h", "90m", "2w", "45s"."""
    if window is None:
        return None
    if isinstance(window, timedelta):
        w = window
    elif isinstance(window, str):
        if window.strip().lower() in ("", "none", "no limit"):
            return None
        m = _WINDOW_RE.match(window)
        if not m:
            raise CXError(f"'{window}' is not a conversion window: write a number and a unit, "
                          "for example 30d, 12h, 90m or 2w.")
        w = timedelta(**{_WINDOW_UNITS[m.group(2)[0].lower()]: float(m.group(1))})
    else:
        raise CXError(f"A conversion window is a duration such as '30d', not {window!r}.")
    if w < timedelta(0):
        raise CXError("A conversion window cannot be negative.")
    return w


def normalise_steps(steps: Steps, field: str = "touchpoint") -> list[tuple[str, ...]]:
    """Each step as a tuple of values (a plain string is a one-value group), checked."""
    if field not in FIELDS:
        raise CXError(f"A funnel step is a {' or a '.join(FIELDS)}, not '{field}'.")
    if isinstance(steps, str) or not steps:
        raise CXError("A funnel needs a list of steps, for example ['discover', 'purchase'].")
    out = []
    for i, s in enumerate(steps, 1):
        group = (s,) if isinstance(s, str) else tuple(sorted(s) if isinstance(s, (set, frozenset)) else s)
        group = tuple(dict.fromkeys(str(v) for v in group if v is not None and str(v) != ""))
        if not group:
            raise CXError(f"Step {i} of the funnel is empty: pick at least one {field}.")
        if field == "stage":
            bad = [v for v in group if v not in STAGES]
            if bad:
                raise CXError(f"'{bad[0]}' is not a stage (stages: {', '.join(STAGES)}).")
        out.append(group)
    return out


def step_names(steps: Steps, field: str = "touchpoint") -> list[str]:
    """The label of each step: its value, or "a | b" for an any-of group."""
    return [" | ".join(g) for g in normalise_steps(steps, field)]


def _unit_keys(unit: str) -> list[str]:
    if unit not in UNITS:
        raise CXError(f"A funnel counts per {' or per '.join(UNITS)}, not per '{unit}'.")
    return ["customer_id"] if unit == "customer" else ["customer_id", "session_id"]


# -- the one definition ------------------------------------------------------------------
@uses_data
def units(d: Data, steps: Steps, field: str = "touchpoint", window=None, unit: str = "customer",
          filters: Filters | None = None, dataset: str | None = None,
          carry: Sequence[str] = ()) -> ibis.Table:
    """One row per unit that has an entry (an Ibis expression, not executed): the unit's key
    columns, ``level`` (the furthest step reached, 1-based), ``t1`` .. ``tN`` (the time of each
    step of the winning entry, null beyond ``level``), and the ``carry`` columns of the winning
    entry's row (for example "channel")."""
    groups = normalise_steps(steps, field)
    win = parse_window(window)
    keys = _unit_keys(unit)
    n = len(groups)
    carry = [c for c in dict.fromkeys(carry) if c not in keys]
    for c in carry:
        if not d.has("interactions", c):
            raise CXError(f"The interactions have no column '{c}'.")
    fast = _units_kernel(d, groups, field, win, unit, carry)
    if fast is not None:
        return fast
    t = d.interactions
    col = t[field]
    values = sorted({v for g in groups for v in g})
    preds = [col.isin(values)] + [t[k].notnull() for k in keys[1:]]
    # only the rows of some step matter. ONE window pass over each unit's rows in (timestamp,
    # _seq) order gives every row, per step k >= 2, the _seq of the first step-k row strictly
    # after it (FIRST_VALUE ... IGNORE NULLS over the following rows; _seq is unique in a dataset)
    rows = t.filter(preds).select(*keys, "timestamp", "_seq", *[t[c].cast("string").name(c) for c in carry],
                                  **{f"_s{k}": col.isin(list(g)) for k, g in enumerate(groups, 1)})
    after = journey_window(keys, rows=(1, None))
    rows = rows.mutate(**{f"_n{k}": ibis.ifelse(rows[f"_s{k}"], rows._seq, ibis.null("int64"))
                          .first(include_null=False).over(after) for k in range(2, n + 1)})

    # every entry (a step-1 row) -> the next step 2 -> the next step 3 ...: equality joins on _seq
    chain = rows.filter(rows._s1).select(*keys, *carry, "_seq", t1="timestamp",
                                         **({"_w2": rows._n2} if n > 1 else {}))
    for k in range(2, n + 1):
        r = rows.select(**{f"_q{k}": "_seq", f"t{k}": "timestamp"},
                        **({f"_w{k + 1}": rows[f"_n{k + 1}"]} if k < n else {}))
        chain = chain.left_join(r, chain[f"_w{k}"] == r[f"_q{k}"])
    # the chain only moves forward, so times never decrease: a step is reached when it exists
    # and is within the window of the entry (then every earlier step is too)
    level = ibis.literal(1, "int64")
    for k in range(2, n + 1):
        tk = chain[f"t{k}"]
        ok = tk.notnull() if win is None else (tk <= chain.t1 + _interval(win))
        level = level + ok.fill_null(False).cast("int64")
    # the entry that gets furthest wins; among equals, the earliest (time, then file order)
    chain = chain.mutate(level=level)
    chain = chain.mutate(_rn=ibis.row_number().over(group_by=keys, order_by=[ibis.desc("level"), "t1", "_seq"]))
    won = chain.filter(chain._rn == 0)
    return won.select(*keys, "level", "t1",
                      *[ibis.cases((won.level >= k, won[f"t{k}"])).name(f"t{k}") for k in range(2, n + 1)],
                      *carry)


def _units_kernel(d: Data, groups, field: str, win: timedelta | None, unit: str, carry: list[str]):
    """:func:`units` from the compiled kernel over the event arrays (the same columns, as a
    memtable), or None when the kernel cannot run here (then the Ibis expression does)."""
    from . import kernels as K

    ev = K.events(d, field, *(["session_id"] if unit == "session" else []))
    if ev is None or len(groups) > 30:
        return None
    import numpy as np
    import pyarrow as pa

    names = STAGES if field == "stage" else ev.codes("touchpoint")
    index = {v: i for i, v in enumerate(names)}
    lut = np.zeros(len(names) + 1, np.int32)  # bits of the steps each code is in; the last: no value
    for k, g in enumerate(groups):
        for v in g:
            if v in index:
                lut[index[v]] |= 1 << k
    mask = K.mask_of(d, ev)
    sess = ev.col("session_id") if unit == "session" else np.empty(0, np.int64)
    starts, ts, val = ev.col("starts"), ev.col("timestamp"), ev.col(field)
    w = -1 if win is None else round(win.total_seconds() * 1_000_000)
    n = len(groups)
    f = K.jit(K.funnel_units)
    i64 = np.zeros(1, np.int64)
    cap = (f(starts, ts, val, lut, mask, sess, n, w, True, i64.astype(np.int32), i64, i64, np.zeros((1, n), np.int64), i64)
           if unit == "session" else len(starts) - 1)
    oc, osess, olevel, orow = np.empty(cap, np.int32), np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64)
    ot = np.empty((cap, n), np.int64)
    u = f(starts, ts, val, lut, mask, sess, n, w, False, oc, osess, olevel, ot, orow)
    cols = {"customer_id": K.customer_ids(ev, oc[:u])}
    looked = K.lookup(d, ev, orow[:u], [c for c in (["session_id"] if unit == "session" else []) + carry
                                         if c not in ("touchpoint", "channel", "stage")])
    if unit == "session":
        cols["session_id"] = looked["session_id"]
    cols["level"] = olevel[:u]
    for k in range(n):
        tk = ot[:u, k]
        cols[f"t{k + 1}"] = pa.array(tk, pa.int64(), mask=tk == K.NULL_TIME).cast(pa.timestamp("us"))
    for c in carry:
        cols[c] = K.decode(ev, c, orow[:u]) if c in ("touchpoint", "channel", "stage") else looked[c]
    return K.memtable(cols)


def _interval(w: timedelta):
    us = round(w.total_seconds() * 1_000_000)
    return ibis.interval(seconds=us // 1_000_000) if us % 1_000_000 == 0 else ibis.interval(microseconds=us)


# -- the figures -------------------------------------------------------------------------
def _seconds(a, b):
    return (a.epoch_seconds().cast("float64") - b.epoch_seconds().cast("float64"))


def entry_dimensions(d: Data) -> tuple[str, ...]:
    """The breakdowns read from the winning entry's own row: the contract's (channel, touchpoint ...)
    and every attribute the event log brought (platform, acquisition_channel ...)."""
    return (*ENTRY_DIMENSIONS, *d.attributes("interactions"))


def _breakdown(d: Data, u: ibis.Table, breakdown: str, top: int) -> ibis.Table:
    """Add column `breakdown` (text): the value of each unit, top values kept, others "Other",
    missing "(unknown)". "segment" = the saved segments (a customer in several counts in each)."""
    if breakdown in entry_dimensions(d):
        val = u[breakdown].cast("string")
    elif breakdown == "segment":  # saved segments: a customer in several counts in each
        m = d.membership()
        m = m.select(_c_id="customer_id", _b=m.segment.cast("string"))
        u = u.left_join(m, u.customer_id == m._c_id).drop("_c_id")
        val = u._b
    else:
        if breakdown not in d.customer_attributes():
            known = ", ".join(dict.fromkeys([*entry_dimensions(d), *d.customer_attributes()]))
            raise CXError(f"Cannot break the funnel down by '{breakdown}' (possible: {known}).")
        c = d.customer_attribute(breakdown)
        c = c.select(_c_id="customer_id", _b=c[breakdown])
        u = u.left_join(c, u.customer_id == c._c_id).drop("_c_id")
        val = u._b
    u = u.mutate(_b=val.fill_null(UNKNOWN))
    u = u.mutate(_b=ibis.cases((u._b.strip() == "", UNKNOWN), else_=u._b))
    g = u.filter(u._b != UNKNOWN).group_by("_b").aggregate(_n=_.count())
    g = g.mutate(_r=ibis.row_number().over(order_by=[ibis.desc("_n"), "_b"]))
    keep = g.filter(g._r < top).select(_kb="_b")
    u = u.left_join(keep, u._b == keep._kb)
    u = u.mutate(breakdown=ibis.cases((u._b == UNKNOWN, UNKNOWN), (u._kb.notnull(), u._b), else_=OTHER))
    return u.drop("_b", "_kb")


@uses_data
def funnel(d: Data, steps: Steps, field: str = "touchpoint", window=None, unit: str = "customer",
           breakdown: str | None = None, filters: Filters | None = None, dataset: str | None = None,
           top: int = 8) -> pl.DataFrame:
    """Per step: units reaching it, conversion from the previous step and from the first, and the
    median and p90 time from the previous step (seconds, over the winning entries). With a
    breakdown (the entry's channel, or a customers column), one block of steps per value: the
    `top` values by step-1 count, then "Other" and "(unknown)"."""
    _check_top(breakdown, top)
    carry = [breakdown] if breakdown in entry_dimensions(d) else []
    u = units(d, steps, field, window, unit, carry=carry)
    return _figures(d, u, step_names(steps, field), breakdown, top)


def _check_top(breakdown, top) -> None:
    if breakdown is not None and (not isinstance(top, int) or top < 1):
        raise CXError("A breakdown keeps at least its top 1 value.")


def _figures(d: Data, u: ibis.Table, names: list[str], breakdown: str | None, top: int) -> pl.DataFrame:
    n = len(names)
    by = []
    if breakdown is not None:
        u = _breakdown(d, u, breakdown, top)
        by = ["breakdown"]
    aggs = {"c1": _.count()}
    for k in range(2, n + 1):
        secs = _seconds(u[f"t{k}"], u[f"t{k - 1}"])
        aggs[f"c{k}"] = (u.level >= k).cast("int64").sum()
        aggs[f"m{k}"] = secs.median()
        aggs[f"p{k}"] = secs.quantile(0.9)
    wide = _polars(d, u.group_by(by).aggregate(**aggs) if by else u.aggregate(**aggs))
    return _long(wide, names, breakdown)


def _long(wide: pl.DataFrame, names: list[str], breakdown: str | None) -> pl.DataFrame:
    """One row per (breakdown value, step) from one row per breakdown value."""
    n = len(names)
    label = None if breakdown is None else (f"by_{breakdown}" if breakdown in COLUMNS else breakdown)
    if breakdown is not None and wide.height:
        rank = (pl.when(pl.col("breakdown") == UNKNOWN).then(2)
                .when(pl.col("breakdown") == OTHER).then(1).otherwise(0))
        wide = wide.sort([rank, pl.col("c1"), pl.col("breakdown")], descending=[False, True, False])
    frames = []
    for k in range(1, n + 1):
        f = wide.select(
            *([pl.col("breakdown").alias(label)] if label is not None else []),
            pl.lit(k, pl.Int64).alias("step"), pl.lit(names[k - 1]).alias("name"),
            pl.col(f"c{k}").cast(pl.Int64).fill_null(0).alias("count"),
            pl.col(f"c{max(k - 1, 1)}").cast(pl.Int64).fill_null(0).alias("_prev"),
            pl.col("c1").cast(pl.Int64).fill_null(0).alias("_first"),
            (pl.col(f"m{k}") if k > 1 else pl.lit(None)).cast(pl.Float64).alias("median_time_from_previous"),
            (pl.col(f"p{k}") if k > 1 else pl.lit(None)).cast(pl.Float64).alias("p90_time_from_previous"),
        ).with_row_index("_block")
        frames.append(f)
    out = pl.concat(frames).sort(["_block", "step"])

    def ratio(num, den):
        return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None)

    out = out.with_columns(conversion_from_previous=ratio("count", "_prev"),
                           conversion_from_first=ratio("count", "_first"))
    return out.select(*([label] if label is not None else []), *COLUMNS)


@uses_data
def funnel_trend(d: Data, steps: Steps, field: str = "touchpoint", window=None, unit: str = "customer",
                 period: str = "week", filters: Filters | None = None,
                 dataset: str | None = None) -> pl.DataFrame:
    """Per week (from Monday) or month of the winning entry: units entering, units completing the
    funnel (reaching the last step), and their ratio."""
    _check_period(period)
    n = len(normalise_steps(steps, field))
    return _trend(d, units(d, steps, field, window, unit), n, period)


def _check_period(period) -> None:
    if period not in TREND_PERIODS:
        raise CXError(f"A funnel trend is per {' or per '.join(TREND_PERIODS)}, not per '{period}'.")


def _trend(d: Data, u: ibis.Table, n: int, period: str) -> pl.DataFrame:
    u = u.mutate(period=period_start(u.t1, period))
    g = u.group_by("period").aggregate(entries=_.count(), completed=(_.level == n).cast("int64").sum())
    g = g.mutate(conversion=g.completed.cast("float64") / g.entries)
    return _polars(d, g.order_by("period"))


@uses_data
def funnel_report(d: Data, steps: Steps, field: str = "touchpoint", window=None, unit: str = "customer",
                  breakdown: str | None = None, period: str = "month", filters: Filters | None = None,
                  dataset: str | None = None, top: int = 8) -> dict[str, pl.DataFrame | None]:
    """What the Journey page's funnel tab shows, from ONE evaluation of :func:`units` (cached in
    the engine while the figures are read, then released): ``funnel`` (as :func:`funnel` without
    a breakdown), ``by`` (as :func:`funnel` with the breakdown, or None) and ``trend`` (as
    :func:`funnel_trend`). Same numbers as the three separate calls, a third of the work."""
    _check_top(breakdown, top)
    _check_period(period)
    names = step_names(steps, field)
    carry = [breakdown] if breakdown in entry_dimensions(d) else []
    u = units(d, steps, field, window, unit, carry=carry)
    if isinstance(u.op(), ibis.expr.operations.InMemoryTable):  # the kernel's units: computed already
        return _report(d, u, names, breakdown, top, period)
    with u.cache() as cached:
        return _report(d, cached, names, breakdown, top, period)


def _report(d: Data, u: ibis.Table, names: list[str], breakdown: str | None, top: int, period: str) -> dict:
    return {"funnel": _figures(d, u, names, None, top),
            "by": None if breakdown is None else _figures(d, u, names, breakdown, top),
            "trend": _trend(d, u, len(names), period)}


def _polars(d: Data, expr: ibis.Expr) -> pl.DataFrame:
    """Run a figure's expression on the handle's backend (where the kernel's memtables live)."""
    from . import kernels

    return kernels.run(d, expr)


@uses_data
def dropoff_members(d: Data, steps: Steps, at_step: int, field: str = "touchpoint", window=None,
                    unit: str = "customer", filters: Filters | None = None,
                    dataset: str | None = None) -> pl.DataFrame:
    """The units whose furthest step is exactly `at_step` (they never reached step at_step + 1
    within the window): customer_id (and session_id per session), the winning entry's time and the
    time of its last step reached. Export with :func:`cx.export.to_csv_bytes`."""
    n = len(normalise_steps(steps, field))
    if not isinstance(at_step, int) or not 1 <= at_step < n:
        raise CXError(f"Drop-offs are counted after step 1 to {n - 1} of this funnel, not after step {at_step}.")
    keys = _unit_keys(unit)
    u = units(d, steps, field, window, unit)
    u = u.filter(u.level == at_step)
    return _polars(d, u.select(*keys, entry_time="t1", last_step_time=f"t{at_step}").order_by([*keys, "entry_time"]))


@uses_data
def default_steps(d: Data, k: int = 3, filters: Filters | None = None, dataset: str | None = None) -> list[str]:
    """Touchpoint steps a funnel should start with on this data, in the order customers usually meet
    them (by the mean rank of each touchpoint's first occurrence in a customer's journey), so the
    default reads like a journey, not like a list by volume. When the data has purchase
    touchpoints, the funnel ends at the one most customers reach, after the `k` − 1 touchpoints
    most customers meet before it (page_view → product_view → purchase); otherwise the `k`
    touchpoints the most customers reach."""
    t = d.interactions
    first = t.group_by(["customer_id", "touchpoint"]).aggregate(_t=_.timestamp.min(), _q=_._seq.min())
    first = first.mutate(_r=ibis.row_number().over(group_by="customer_id", order_by=["_t", "_q"]))
    g = first.group_by("touchpoint").aggregate(customers=_.count(), rank=_._r.mean()).to_polars()
    g = g.sort(["customers", "touchpoint"], descending=[True, False])
    buy = g.filter(pl.col("touchpoint").is_in(list(d.purchase_touchpoints)))
    if buy.height:
        goal = buy.row(0, named=True)
        pre = g.filter(~pl.col("touchpoint").is_in(list(d.purchase_touchpoints)) & (pl.col("rank") < goal["rank"]))
        pre = pre.head(int(k) - 1).sort(["rank", "touchpoint"])["touchpoint"].to_list()
        if pre:
            return [*pre, goal["touchpoint"]]
    return g.head(int(k)).sort(["rank", "touchpoint"])["touchpoint"].to_list()


@uses_data
def breakdown_options(d: Data, filters: Filters | None = None, dataset: str | None = None) -> list[str]:
    """The breakdowns this dataset can give a funnel: the entry touchpoint's columns that hold
    values (channel, direction, department ... and the event log's attributes), the customer
    attributes (Data.customer_attributes), and "segment" when it has saved segments. Never one the
    data lacks."""
    t = d.table("interactions")
    dims = [c for c in entry_dimensions(d) if c in t.columns and c not in ("touchpoint", "stage")]
    filled = t.aggregate(**{c: t[c].count() for c in dims}).to_polars().row(0, named=True) if dims else {}
    out = [c for c in dims if filled.get(c)]
    out += [c for c in d.customer_attributes() if c not in out]
    if d.membership().count().to_pyarrow().as_py():
        out.append("segment")
    return out
