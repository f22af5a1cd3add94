"""Life cycle: retention cohorts and lifecycle states (new, returning, resurrecting, dormant).

Definitions (one each; the page, the CLI and the tests call these functions):

- **Active** in a period: at least one touchpoint the customer initiated (:func:`cx.expr.initiated`:
  a row whose direction is not ``outbound``, null or inbound), as in :func:`cx.profile.activity`: a
  newsletter received is not activity. With ``active_by="purchase"``, active means at least one
  purchase (:func:`cx.expr.is_purchase`: amount > 0).
- **Period**: calendar month, or ISO week (Monday to Sunday), of the touchpoint's UTC timestamp.
- **Cohort**: the period of the customer's first activity (``cohort_by="activity"``) or of the
  first purchase, amount > 0 (``cohort_by="purchase"``). Customers who never did it have no cohort.
- **Period k** of a cohort: the k-th period after the cohort's own (k = 0 is the cohort period).
  share = customers of the cohort active in period k / cohort size.
- **Complete** cell: the data (after the filters) reaches the last day of that calendar period. The
  last period of the data is usually partial; its cells are marked ``complete = False`` and left
  out of the retention curves so that they do not dip falsely. (A partial *first* period only makes
  its cohort smaller, it does not bias the shares.)
- **Lifecycle state** of a customer in a period: *new* (first active period), *returning* (active
  in this and the previous period), *resurrecting* (active now, not in the previous period, but
  active before), *dormant* (active in the previous period, not in this one; counted once, in the
  period right after the last active one, and only up to the last period of the data).

All of them are computed on the filtered interactions: with a date filter, "first activity" is the
first activity inside the chosen dates.
"""
from __future__ import annotations

from datetime import date

import ibis
import polars as pl
from ibis import _

from .data import Data, uses_data
from .expr import initiated, is_purchase, journey_window, period_start
from .filters import Filters
from .store import CXError
from .terms import Term

PERIODS = ("month", "week")
BASES = ("activity", "purchase")
STATES = ("new", "returning", "resurrecting", "dormant")
ENTRY_BREAKDOWNS = ("first_channel",)  # computed from the interactions; the rest from customers
SEGMENT = "segment"  # the saved segments (offered when the dataset has some)
UNKNOWN = "(unknown)"
NO_SEGMENT = "(no segment)"
OTHER = "Other"
_EPOCH_MONDAY = date(1970, 1, 5)


def _check(period: str, *bases: str) -> None:
    if period not in PERIODS:
        raise CXError(f"A life-cycle period is a {' or a '.join(PERIODS)}, not '{period}'.")
    for b in bases:
        if b not in BASES:
            raise CXError(f"Cohorts and activity are based on {' or '.join(BASES)}, not '{b}'.")


def _period_cols(ts, period: str):
    """(period start date, integer period index) of a timestamp column."""
    start = period_start(ts, period)
    if period == "month":
        return start, (ts.year() * 12 + ts.month() - 1).cast("int64")
    return start, (start.delta(ibis.date(_EPOCH_MONDAY), unit="day") // 7).cast("int64")


def _step(period: str):
    return ibis.interval(months=1) if period == "month" else ibis.interval(days=7)


def _event(d: Data, t, basis: str):
    return is_purchase(d, t) if basis == "purchase" else initiated(t)


def _base(d: Data, basis: str):
    t = d.interactions
    if basis == "purchase":
        n = t.aggregate(n=is_purchase(d, t).sum()).to_polars()["n"][0]
        if not n:
            raise CXError("Purchase cohorts need purchases: an amount column with positive values "
                          "(none in the data, after the filters).")
    return t


def _active_periods(d: Data, t, period: str, basis: str):
    """Distinct (customer_id, period, idx) where the customer did `basis`."""
    start, idx = _period_cols(t.timestamp, period)
    return (t.filter(_event(d, t, basis)).mutate(period=start, idx=idx)
            .select("customer_id", "period", "idx").distinct())


def _span(t, period: str):
    """One row: lo, hi (timestamps of the filtered data) and last_idx, the index of its last period."""
    s = t.aggregate(lo=t.timestamp.min(), hi=t.timestamp.max())
    _, idx = _period_cols(s.hi, period)
    return s.mutate(last_idx=idx)


def _complete(period_col, span, period: str):
    """True when the data covers the whole calendar period starting at `period_col`."""
    return ((span.lo.cast("date") <= period_col)
            & ((span.hi.cast("date") + ibis.interval(days=1)) >= period_col + _step(period)))


def _first_channel(d: Data, t, basis: str):
    """customer_id, group: the channel of the customer's first touchpoint of the basis event."""
    e = t.filter(_event(d, t, basis))
    e = e.mutate(_rn=ibis.row_number().over(journey_window()))
    return e.filter(e._rn == 0).select("customer_id", group=e.channel.cast("string").fill_null(UNKNOWN))


def _has_segments(d: Data) -> bool:
    return bool(d.membership().count().to_pyarrow().as_py())


@uses_data
def breakdown_options(d: Data, dataset: str | None = None) -> tuple[str, ...]:
    """The breakdowns cohorts accept: the first touch's channel, the customer attributes (the
    customers table's columns and the event log's one-value-per-customer attributes), and
    "segment" when the dataset has saved segments."""
    cols = [c for c in d.customer_attributes() if c not in ("first_seen", "extras", SEGMENT)]
    seg = (SEGMENT,) if _has_segments(d) else ()
    return (*ENTRY_BREAKDOWNS, *cols, *seg)


def _groups(d: Data, t, breakdown: str, basis: str, top: int):
    """customer_id, group (text) for a breakdown; the `top` largest values kept, others 'Other'."""
    if breakdown == "first_channel":
        g = _first_channel(d, t, basis)
    elif breakdown == SEGMENT:
        if not _has_segments(d):
            raise CXError("A breakdown by segment needs a saved segment: save one on the Segments page.")
        m = d.membership()
        return m.select("customer_id", group=m.segment.cast("string"))  # one row per customer and segment
    else:
        opts = breakdown_options(d)
        if breakdown not in opts:
            raise CXError(f"Cannot break cohorts down by '{breakdown}' (possible: {', '.join(opts)}).")
        c = d.customer_attribute(breakdown).semi_join(t, "customer_id")  # the customers the filters keep
        g = c.select("customer_id", group=c[breakdown].fill_null(UNKNOWN))
    sizes = g.group_by("group").aggregate(n=_.count()).order_by([ibis.desc("n"), "group"]).limit(top).to_polars()
    keep = [v for v in sizes["group"].to_list() if v != UNKNOWN]
    return g.mutate(group=ibis.cases((g.group == UNKNOWN, UNKNOWN), (g.group.isin(keep), g.group), else_=OTHER))


def _cohort_table(d: Data, period, cohort_by, active_by, breakdown, top):
    """(the interactions, per-customer cohort table, active periods, span): the building blocks of
    the cohort views."""
    t = _base(d, "purchase" if "purchase" in (cohort_by, active_by) else "activity")
    first = (_active_periods(d, t, period, cohort_by).group_by("customer_id")
             .aggregate(cohort_idx=_.idx.min(), cohort=_.period.min()))
    if breakdown:
        first = first.left_join(_groups(d, t, breakdown, cohort_by, top), "customer_id").drop("customer_id_right")
        first = first.mutate(group=first.group.fill_null(NO_SEGMENT if breakdown == SEGMENT else UNKNOWN))
    return t, first, _active_periods(d, t, period, active_by), _span(t, period)


@uses_data
def retention_expr(d: Data, period: str = "month", cohort_by: str = "activity", active_by: str = "activity",
                   breakdown: str | None = None, filters: Filters | None = None,
                   dataset: str | None = None, top: int = 8):
    """The retention matrix as an Ibis expression (see :func:`retention`)."""
    _check(period, cohort_by, active_by)
    t, first, act, span = _cohort_table(d, period, cohort_by, active_by, breakdown, top)
    keys = ["group", "cohort", "cohort_idx"] if breakdown else ["cohort", "cohort_idx"]
    sizes = first.group_by(keys).aggregate(cohort_size=_.count())
    j = act.join(first, "customer_id")
    j = j.filter(j.idx >= j.cohort_idx)
    counts = (j.mutate(period_index=j.idx - j.cohort_idx)  # act is distinct per customer and period
              .group_by([*keys, "period_index"]).aggregate(active=_.count()))
    # the dense grid: every cohort x every period in which anybody was active, from the cohort's own
    # period to the last (read from the distinct active periods already computed: no extra scan)
    periods = _active_periods(d, t, period, "activity").select("period", "idx").distinct()
    grid = sizes.cross_join(periods)
    grid = grid.filter(grid.idx >= grid.cohort_idx).cross_join(span)
    grid = grid.mutate(period_index=grid.idx - grid.cohort_idx,
                       complete=(grid.hi.cast("date") + ibis.interval(days=1)) >= grid.period + _step(period))
    m = grid.left_join(counts, [*keys, "period_index"])
    m = m.select(*keys, "period_index", "period", "cohort_size", active=m.active.fill_null(0),
                 complete=m.complete)
    m = m.mutate(share=m.active.cast("float64") / m.cohort_size)
    cols = [*(["group"] if breakdown else []), "cohort", "period_index", "period", "cohort_size", "active",
            "share", "complete"]
    return m.select(cols).order_by([*(["group"] if breakdown else []), "cohort", "period_index"])


@uses_data
def retention(d: Data, period: str = "month", cohort_by: str = "activity", active_by: str = "activity",
              breakdown: str | None = None, filters: Filters | None = None, dataset: str | None = None,
              top: int = 8) -> pl.DataFrame:
    """Retention matrix: one row per cohort x period index k (0, 1, ... up to the data's last period;
    zero cells included, for every period in which at least one customer was active).

    Columns: [group,] cohort (first day of the cohort period), period_index (k), period (first day
    of period cohort + k), cohort_size (customers whose first `cohort_by` event fell in the cohort
    period), active (of them, customers with an `active_by` event in period k), share = active /
    cohort_size, complete (the data reaches the last day of period k; False for a partial last
    period).

    breakdown: "first_channel" (channel of the customer's first `cohort_by` touchpoint) or a
    customers-table column (persona, region, tier, acquisition_channel ...); the `top` largest
    values are kept, the rest grouped as "Other"; customers without a value are "(unknown)".
    "segment": the saved segments (cx.data.Data.membership): a customer in several saved segments
    counts in each of them, one in none is "(no segment)"; every segment is kept (no top N).
    """
    return retention_expr(d, period, cohort_by, active_by, breakdown, top=top).to_polars()


@uses_data
def retention_curve(d: Data, period: str = "month", cohort_by: str = "activity", active_by: str = "activity",
                    breakdown: str | None = None, filters: Filters | None = None,
                    dataset: str | None = None, top: int = 8) -> pl.DataFrame:
    """Average retention curve: per period index k [and group], pooled over the cohorts whose
    period k is complete: share = sum(active) / sum(cohort_size) (a customer-weighted average).

    Columns: [group,] period_index, cohorts (number of cohorts pooled), customers (sum of their
    sizes), active, share.
    """
    m = retention_expr(d, period, cohort_by, active_by, breakdown, top=top)
    keys = ["group", "period_index"] if breakdown else ["period_index"]
    m = m.filter(m.complete)
    g = m.group_by(keys).aggregate(cohorts=_.count(), customers=_.cohort_size.sum(), active=_.active.sum())
    g = g.mutate(share=g.active.cast("float64") / g.customers)
    return g.order_by(keys).to_polars()


@uses_data
def cohort_members(d: Data, cohort: date, period_index: int, active: bool = True, period: str = "month",
                   cohort_by: str = "activity", active_by: str = "activity", breakdown: str | None = None,
                   group: str | None = None, filters: Filters | None = None, dataset: str | None = None,
                   top: int = 8) -> pl.DataFrame:
    """The customers behind one cell of the retention matrix: the members of `cohort` [and `group`]
    who were active (active=True) or not active (active=False) in period `period_index`.

    Columns: customer_id, cohort, first_event (timestamp of the first `cohort_by` event),
    last_active (their last `active_by` event in the data), active_periods (number of periods with
    an `active_by` event); ordered by customer_id."""
    _check(period, cohort_by, active_by)
    t, first, act, _span_ = _cohort_table(d, period, cohort_by, active_by, breakdown, top)
    members = first.filter(first.cohort == cohort)
    if breakdown and group is not None:
        members = members.filter(members.group == group)
    in_k = act.join(members.select("customer_id", "cohort_idx"), "customer_id")
    in_k = in_k.filter(in_k.idx == in_k.cohort_idx + period_index).select("customer_id")
    members = members.semi_join(in_k, "customer_id") if active else members.anti_join(in_k, "customer_id")
    ev_first = t.filter(_event(d, t, cohort_by)).group_by("customer_id").aggregate(first_event=_.timestamp.min())
    ev_act = (t.filter(_event(d, t, active_by)).mutate(_p=_period_cols(t.timestamp, period)[1])
              .group_by("customer_id").aggregate(last_active=_.timestamp.max(), active_periods=_._p.nunique()))
    out = (members.select("customer_id", "cohort").join(ev_first, "customer_id")
           .left_join(ev_act, "customer_id"))
    return (out.select("customer_id", "cohort", "first_event", "last_active",
                       active_periods=out.active_periods.fill_null(0))
            .order_by("customer_id").to_polars())


# ----------------------------------------------------------------------------- lifecycle states
@uses_data
def states_expr(d: Data, period: str = "month", filters: Filters | None = None, dataset: str | None = None):
    """One row per customer and period where the customer has a lifecycle state:
    customer_id, period, idx, state (see the module docstring)."""
    _check(period)
    t = d.interactions
    a = _active_periods(d, t, period, "activity")
    w = ibis.window(group_by=a.customer_id, order_by=a.idx)
    a = a.mutate(prev=a.idx.lag().over(w), nxt=a.idx.lead().over(w))
    active = a.select("customer_id", "period", "idx",
                      state=ibis.cases((a.prev.isnull(), "new"), (a.prev == a.idx - 1, "returning"),
                                       else_="resurrecting"))
    span = _span(t, period)
    g = a.cross_join(span)
    g = g.filter((g.nxt.isnull() | (g.nxt > g.idx + 1)) & (g.idx + 1 <= g.last_idx))
    dormant = g.select("customer_id", period=(g.period + _step(period)).cast("date"), idx=g.idx + 1,
                       state=ibis.literal("dormant"))
    return active.union(dormant)


@uses_data
def lifecycle(d: Data, period: str = "month", filters: Filters | None = None,
              dataset: str | None = None) -> pl.DataFrame:
    """Lifecycle counts per period (month or week): period, new, returning, resurrecting, dormant
    (customers, all >= 0: charts draw dormant below zero), active (= new + returning +
    resurrecting), net (= new + resurrecting - dormant: the change in active customers from the
    previous period), partial (the data covers only part of the period)."""
    s = states_expr(d, period)
    g = s.group_by("period").aggregate(**{st: (_.state == st).sum() for st in STATES})
    g = g.mutate(active=g.new + g.returning + g.resurrecting, net=g.new + g.resurrecting - g.dormant)
    span = _span(d.interactions, period)
    g = g.cross_join(span)
    g = g.mutate(partial=~_complete(g.period, span, period))
    return g.select("period", *STATES, "active", "net", "partial").order_by("period").to_polars()


@uses_data
def lifecycle_members(d: Data, period: date, state: str, period_unit: str = "month",
                      filters: Filters | None = None, dataset: str | None = None) -> pl.DataFrame:
    """The customers in one lifecycle bar: those whose state in `period` (the first day of a month
    or a Monday) is `state`. Columns: customer_id, period, state, first_active, last_active
    (their first and last activity in the data), active_periods; ordered by customer_id."""
    if state not in STATES:
        raise CXError(f"A lifecycle state is one of {', '.join(STATES)}, not '{state}'.")
    s = states_expr(d, period_unit)
    s = s.filter((s.period == period) & (s.state == state)).select("customer_id", "period", "state")
    t = d.interactions
    a = t.filter(_event(d, t, "activity")).mutate(_p=_period_cols(t.timestamp, period_unit)[1])
    a = a.group_by("customer_id").aggregate(first_active=_.timestamp.min(), last_active=_.timestamp.max(),
                                            active_periods=_._p.nunique())
    return s.join(a, "customer_id").order_by("customer_id").to_polars()


# ----------------------------------------------------------------------------- glossary
_T = Term
GLOSSARY: tuple[Term, ...] = (
    _T("lc_active", "Active (life cycle)", "Life cycle",
       "In a calendar month or ISO week (Monday to Sunday, UTC): at least one touchpoint the customer "
       "initiated (direction not outbound: a newsletter received is not activity), or with "
       "'active means purchase' at least one purchase (amount > 0).",
       "cx.lifecycle.retention", "lifecycle"),
    _T("retention_cohorts", "Retention cohorts", "Life cycle",
       "Customers grouped by the period of their first activity (or first purchase). Cell (cohort, k) "
       "= customers of the cohort active k periods later ÷ cohort size; cells of a period the data "
       "covers only partly are marked incomplete. Breakdown: first channel, a customers column or a "
       "saved segment (top 8 groups, the rest Other).",
       "cx.lifecycle.retention", "lifecycle"),
    _T("retention_curve", "Retention curve", "Life cycle",
       "Per period index k: sum of active ÷ sum of cohort sizes over the cohorts whose period k is "
       "complete (a customer-weighted average of the cohort rows; k = 0 is 100%).",
       "cx.lifecycle.retention_curve", "lifecycle"),
    _T("cohort_customers", "Customers of a cohort cell", "Life cycle",
       "The members of one cohort [and group] who were (or were not) active in period k, with their "
       "first event, last activity and number of active periods.",
       "cx.lifecycle.cohort_members", "lifecycle"),
    _T("lifecycle_states", "Lifecycle states", "Life cycle",
       "Per period, active customers split into new (first active period), returning (active in the "
       "previous period too) and resurrecting (inactive in the previous period, active before); "
       "dormant = active in the previous period, not in this one. Net change = new + resurrecting − "
       "dormant.",
       "cx.lifecycle.lifecycle", "lifecycle"),
    _T("lifecycle_customers", "Customers of a lifecycle bar", "Life cycle",
       "The customers whose lifecycle state in one period is the chosen one, with their first and last "
       "activity and number of active periods.",
       "cx.lifecycle.lifecycle_members", "lifecycle"),
)
