"""Building blocks written once, used by every metric: what a purchase is, what a touchpoint the
customer initiated is, a customer's journey order, a stage's rank, the start of a period.

Each is a small Ibis expression (portable to every Ibis backend), so a definition changes in one
place: the metrics, the overview, the CLI and the tests all build on these.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from .schema import STAGES
from .store import CXError

if TYPE_CHECKING:  # pragma: no cover
    from .data import Data

# period name -> the unit Ibis truncates timestamps to (weeks start on Monday)
PERIOD_UNITS = {"day": "D", "week": "W", "month": "M", "quarter": "Q"}
JOURNEY_ORDER = ("timestamp", "_seq")  # file order (_seq) breaks ties between equal timestamps


def is_purchase(d: "Data", t: ibis.Table) -> ibis.BooleanValue:
    """A purchase (a transaction): a row with an amount > 0, or a row of one of the dataset's
    purchase touchpoints whatever its amount (a $0 order is an order; d.purchase_touchpoints, from
    the purchase rules: cx.schema.purchase_touchpoints). Reaching the purchase *stage* (carts,
    checkout steps) is not buying."""
    paid = (t.amount > 0).fill_null(False)
    if not d.purchase_touchpoints:
        return paid
    return paid | t.touchpoint.isin(list(d.purchase_touchpoints)).fill_null(False)


def initiated(t: ibis.Table) -> ibis.BooleanValue:
    """A touchpoint the customer initiated: not marked outbound (null or inbound). Receiving a
    newsletter is not activity; this is what "active" counts."""
    return t.direction.isnull() | (t.direction != "outbound")


def journey_window(keys=("customer_id",), **frame):
    """The window over one customer's (or unit's) touchpoints in journey order: (timestamp, file
    order). `frame` as ibis.window's (rows=(1, None), preceding=..., ...)."""
    return ibis.window(group_by=list(keys), order_by=list(JOURNEY_ORDER), **frame)


def stage_rank(stage: ibis.StringValue) -> ibis.IntegerValue:
    """Journey rank of a stage column: 0 = discover ... 4 = use; null for no or an unknown stage."""
    return ibis.cases(*[(stage == s, i) for i, s in enumerate(STAGES)], else_=ibis.null("int64"))


def check_period(period: str, allowed=tuple(PERIOD_UNITS)) -> str:
    """`period` when it is one of `allowed`, else a CXError saying which are."""
    if period not in allowed:
        raise CXError(f"The period is one of {', '.join(allowed)}, not '{period}'.")
    return period


def period_start(ts: ibis.TimestampValue, period: str) -> ibis.DateValue:
    """The first day of the day / week (Monday) / month / quarter that `ts` falls in."""
    return ts.truncate(PERIOD_UNITS[check_period(period)]).cast("date")
